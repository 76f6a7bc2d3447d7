"""The worker end to end: real HTTP cameras, a real RTSP server, a real Redis, a real ONNX model.

The colour model scores "smoke" by how red a frame is, so what each HTTP path serves decides
what the worker must publish.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import cv2
import pytest
import redis

from pinewatch.core.config import Settings
from pinewatch.core.messages import DetectionEvent, HealthEvent, decode
from streams.stats import WorkerStats
from streams.worker import run

pytestmark = pytest.mark.slow


def settings_for(cameras: list[dict], model: Path, redis_config, tmp_path: Path, **streams) -> Settings:
    return Settings(
        redis=redis_config,
        detector={"model_path": model, "imgsz": 64, "threads": 1, "batch_size": 4, "batch_wait_ms": 20},
        streams={
            "evidence_dir": tmp_path / "evidence", "open_timeout_s": 0.5, "read_timeout_s": 0.5,
            "reconnect_min_s": 0.1, "reconnect_max_s": 0.5, "offline_after_s": 2.0, "frozen_after": 3,
            "http_retries": 0, "detect_timeout_s": 5.0, **streams,
        },
        cameras=cameras,
    )


class RunningWorker:
    def __init__(self, settings: Settings) -> None:
        self.stop = threading.Event()
        self.stats = WorkerStats()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(settings,), daemon=True)
        self.thread.start()

    def _run(self, settings: Settings) -> None:
        try:
            run(settings, self.stop, stats=self.stats)
        except BaseException as exc:  # surfaced by the test
            self.error = exc

    def finish(self, within_s: float = 10.0) -> float:
        started = time.monotonic()
        self.stop.set()
        self.thread.join(within_s)
        assert not self.thread.is_alive(), "the worker did not stop"
        assert self.error is None, self.error
        return time.monotonic() - started


def read_stream(client: redis.Redis, stream: str) -> list:
    return [decode(fields) for _, fields in client.xrange(stream)]


def statuses(events: list[HealthEvent]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for event in events:
        seen.setdefault(event.camera_id, []).append(event.status)
    return seen


def wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def release_fifo(fifo: Path) -> None:
    """Give the hung readers an end of file, so their threads finish."""
    for _ in range(20):
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            return  # no reader left


def test_one_worker_many_cameras(http_cameras, colour_model, redis_config, tmp_path, closed_port):
    hung_folder = tmp_path / "nfs"
    hung_folder.mkdir()
    fifo = hung_folder / "1700000000.jpg"
    os.mkfifo(fifo)  # reading it blocks forever, like a file on a dead network mount
    centre_mask = [[0.3, 0.3], [0.7, 0.3], [0.7, 0.7], [0.3, 0.7]]
    cameras = [
        {"id": "red", "source": http_cameras.url("red-w1"), "interval_s": 0.3},
        {"id": "masked", "source": http_cameras.url("red-w2"), "interval_s": 0.3, "masks": [centre_mask]},
        {"id": "grey", "source": http_cameras.url("changing-w"), "interval_s": 0.3},
        {"id": "frozen", "source": http_cameras.url("frozen-w"), "interval_s": 0.3},
        {"id": "garbage", "source": http_cameras.url("garbage-w"), "interval_s": 0.3},
        {"id": "dead", "source": f"http://127.0.0.1:{closed_port}/snap.jpg", "interval_s": 0.3},
        {"id": "hung", "source": str(hung_folder), "interval_s": 0.3},
        {"id": "off", "source": http_cameras.url("red-w3"), "enabled": False},
    ]
    settings = settings_for(cameras, colour_model, redis_config, tmp_path)
    client = redis.Redis.from_url(redis_config.url)
    expected = {
        "red": "online", "masked": "online", "grey": "online", "frozen": "frozen",
        "garbage": "error", "dead": "offline", "hung": "error",
    }

    def latest() -> dict[str, str]:
        return {camera: seen[-1] for camera, seen in statuses(read_stream(client, redis_config.health_stream)).items()}

    worker = RunningWorker(settings)
    try:
        settled = wait_for(lambda: latest() == expected, 20)
        health = read_stream(client, redis_config.health_stream)
        assert settled, statuses(health)
        time.sleep(2)  # the hung camera keeps hanging: its stuck threads stay capped
        stuck_threads = sum(t.name == "camera hung" for t in threading.enumerate())
        detections = read_stream(client, redis_config.detections_stream)
        heartbeat_keys = {k.decode() for k in client.keys(f"{redis_config.heartbeat_prefix}*")}
    finally:
        stop_s = worker.finish()
        release_fifo(fifo)
    assert stop_s < 8  # a read in progress gets SHUTDOWN_GRACE_S (5 s); `pinewatch demo` waits 15 s

    seen = statuses(health)
    assert seen["frozen"] == ["online", "frozen"] and seen["red"] == ["online"]
    assert stuck_threads <= 3
    details = {event.camera_id: event.detail for event in health}
    assert "hung" in details["hung"] and "undecodable" in details["garbage"] and "refused" in details["dead"].lower()

    # Only the red, unmasked camera alerts: confirmed after min_hits (2) frames, then every confirmed frame.
    assert detections and all(isinstance(d, DetectionEvent) for d in detections)
    assert {d.camera_id for d in detections} == {"red"}
    first = detections[0]
    assert [b.label for b in first.detections] == ["smoke"]
    assert first.detections[0].box == pytest.approx([0.375, 1 / 3, 0.625, 2 / 3])
    assert (first.frame_width, first.frame_height) == (320, 240) and first.model == "colour"
    assert len({d.event_id for d in detections}) == len(detections)
    evidence = cv2.imread(str(settings.streams.evidence_dir / first.evidence_path))
    assert evidence is not None and evidence.shape == (240, 320, 3)
    assert first.evidence_path.startswith("red/")

    # Heartbeats for cameras that gave frames, none for those that never did.
    live = {k.rsplit(":", 1)[1] for k in heartbeat_keys}
    assert {"red", "masked", "grey", "frozen"} <= live and not live & {"dead", "garbage", "hung", "off"}

    counters = worker.stats.cameras
    assert "off" not in counters
    assert counters["red"].frames >= 3 and counters["red"].detections_published >= len(detections)  # more may follow the read
    assert counters["garbage"].bad_data >= 2 and counters["garbage"].frames == 0
    assert counters["hung"].hung >= 1
    assert counters["frozen"].frozen_frames >= 1
    assert worker.stats.frame_latency.percentile(95) < 2.0


def test_an_rtsp_camera_through_the_worker(rtsp_server, colour_model, redis_config, tmp_path):
    settings = settings_for(
        [{"id": "tower", "source": rtsp_server.url, "interval_s": 0.5}], colour_model, redis_config, tmp_path,
        open_timeout_s=2.0, read_timeout_s=2.0,
    )
    client = redis.Redis.from_url(redis_config.url)
    worker = RunningWorker(settings)
    try:
        assert wait_for(lambda: worker.stats.cameras.get("tower") and worker.stats.cameras["tower"].frames >= 3, 15)
        assert [e.status for e in read_stream(client, redis_config.health_stream)] == ["online"]
        rtsp_server.stop()  # the tower loses power
        assert wait_for(lambda: [e.status for e in read_stream(client, redis_config.health_stream)] == ["online", "offline"], 10)
        rtsp_server.start()
        assert wait_for(lambda: [e.status for e in read_stream(client, redis_config.health_stream)][-1] == "online", 10)
    finally:
        worker.finish()


def test_frames_the_detector_cannot_take_are_dropped_and_counted(http_cameras, redis_config, tmp_path):
    dev_model = Path(__file__).resolve().parents[2] / "models" / "pinewatch-smoke.onnx"
    if not dev_model.is_file():
        pytest.skip("development model missing")
    cameras = [{"id": f"c{i}", "source": http_cameras.url(f"changing-d{i}"), "interval_s": 0.05} for i in range(6)]
    settings = settings_for(cameras, dev_model, redis_config, tmp_path, max_pending_frames=2)
    settings.detector.imgsz = 640
    settings.detector.batch_size = 1
    worker = RunningWorker(settings)
    try:
        assert wait_for(lambda: worker.stats.totals().dropped >= 5, 15)
    finally:
        worker.finish()
    total = worker.stats.totals()
    assert total.frames > total.dropped > 0
    assert worker.stats.detector_pending_max <= 2  # bounded, whatever the load
