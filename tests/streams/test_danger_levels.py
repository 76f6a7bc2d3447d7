"""Issue 12: the day's fire-danger level reaches a running worker's vote within seconds, through
the operator masks' mechanism (Redis hash + revision), and layers compose with the frame mode.

Real pieces: the alerting Service (API, vote publisher) on SQLite, a private redis-server, a
stream worker with the colour model on an HTTP camera serving red frames (smoke at every frame).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

import httpx
import pytest
import redis

from alerting.service import Service
from alerting.store.tokens import ensure_token
from detector.pipeline import FrameJudge
from detector.temporal import TemporalParams
from detector.types import Detection
from pinewatch.core.config import Settings
from pinewatch.core.live import VOTE_KEY, VOTE_REVISION_KEY, CameraVote
from streams.levels import VoteWatcher
from streams.stats import WorkerStats
from streams.worker import run
from tests.streams.test_operator_masks import wait_for

BASE = TemporalParams(window=4, min_hits=2, overlap_iou=0.05, release_misses=3, alert_score=0.25, min_mean_score=0.0)
BOX = (0.4, 0.4, 0.5, 0.5)


@pytest.fixture
def clean_votes(redis_config):
    client = redis.Redis.from_url(redis_config.url)
    client.delete(VOTE_KEY, VOTE_REVISION_KEY)  # global keys: leave none to other tests
    yield client
    client.delete(VOTE_KEY, VOTE_REVISION_KEY)
    client.close()


def publish(client, *votes: CameraVote | tuple[str, str]) -> None:
    mapping = {v[0]: v[1] for v in votes if isinstance(v, tuple)}
    mapping.update({v.camera_id: v.model_dump_json() for v in votes if isinstance(v, CameraVote)})
    with client.pipeline(transaction=True) as pipe:
        pipe.delete(VOTE_KEY)
        pipe.hset(VOTE_KEY, mapping=mapping)
        pipe.incr(VOTE_REVISION_KEY)
        pipe.execute()


def vote(camera_id: str, level: int, window: int, min_hits: int, alert_score: float = 0.25) -> CameraVote:
    return CameraVote(camera_id=camera_id, level=level, day="2026-12-07", window=window, min_hits=min_hits,
                      alert_score=alert_score, min_mean_score=0.0)  # fmt: skip


def test_watcher_retunes_the_vote_and_layers_compose(redis_config, clean_votes):
    judge, other = FrameJudge([], 0.5, BASE), FrameJudge([], 0.5, BASE)
    watcher = VoteWatcher(redis_config, {"a": judge, "b": other})
    try:
        assert watcher.refresh() is False  # nothing published yet: the temporal section's vote
        assert judge.judge([Detection("smoke", 0.9, BOX)]).new_alert is False  # 1 of 2 hits

        publish(clean_votes, vote("a", 5, window=1, min_hits=1), ("b", b"{not json"))
        assert watcher.refresh() is True
        assert judge.vote.params == BASE  # applied by the camera's own next frame, not from this thread
        assert judge.judge([Detection("smoke", 0.3, (0.1, 0.1, 0.2, 0.2))]).new_alert is True  # level V: one frame alerts
        assert judge.vote.params.window == 1 and other.vote._next is None  # a malformed entry changes nothing
        fresh = judge

        # The frame mode's layer wins where it sets a value; min_hits never exceeds the window.
        night = fresh.set_vote_layer("frame_mode", {"min_hits": 2, "alert_score": 0.3})
        assert (night.window, night.min_hits, night.alert_score) == (1, 1, 0.3)
        publish(clean_votes, vote("a", 1, window=4, min_hits=3, alert_score=0.4))
        watcher.refresh()
        fresh.judge([])
        assert (fresh.vote.params.window, fresh.vote.params.min_hits, fresh.vote.params.alert_score) == (4, 2, 0.3)
        fresh.set_vote_layer("frame_mode", {})
        fresh.judge([])
        assert (fresh.vote.params.min_hits, fresh.vote.params.alert_score) == (3, 0.4)

        publish(clean_votes, vote("b", 3, window=4, min_hits=2))  # camera a no longer published: back to the base
        watcher.refresh()
        fresh.judge([])
        assert fresh.vote.params == BASE
    finally:
        watcher.close()


@pytest.mark.slow
def test_admin_level_change_reaches_a_running_worker(tmp_path, http_cameras, colour_model, redis_config, clean_votes, caplog):
    caplog.set_level(logging.INFO, logger="streams.levels")
    settings = Settings(
        redis=redis_config,
        detector={"model_path": colour_model, "imgsz": 64, "threads": 1, "batch_size": 2, "batch_wait_ms": 10},
        temporal={"window": 2, "min_hits": 2},
        # Level I asks a score the red frames never reach; level V alerts on one frame.
        fire_danger={"levels": {1: {"alert_score": 0.99, "window": 2, "min_hits": 2}}, "publish_poll_s": 0.2},
        streams={"evidence_dir": tmp_path / "evidence", "offline_after_s": 5, "open_timeout_s": 1, "read_timeout_s": 1},
        alerting={"database_url": f"sqlite:///{tmp_path / 'pw.db'}", "read_block_ms": 100},
        cameras=[{"id": "red", "source": http_cameras.url("red-levels"), "interval_s": 0.3, "district": "Lạc Dương"}],
    )
    service = Service(settings, dispatch=False)
    token = "pw_" + secrets.token_urlsafe(24)
    ensure_token(service.engine, "ada", "admin", token)
    port = service.start_in_background(port=0)
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert api.put("/api/fire-danger", json={"district": "Lạc Dương", "level": 5}).status_code == 200
    wait_for(lambda: b'"level":5' in (clean_votes.hget(VOTE_KEY, "red") or b""), 5, "level V published")
    stop, stats = threading.Event(), WorkerStats()
    worker = threading.Thread(target=run, args=(settings, stop), kwargs={"stats": stats}, daemon=True)
    worker.start()

    def detections() -> int:
        return clean_votes.xlen(redis_config.detections_stream)

    try:
        alert = wait_for(lambda: api.get("/api/alerts").json()["items"], 30, "an alert on a level V day")[0]
        assert alert["danger_level"] == 5
        assert api.put("/api/fire-danger", json={"camera_id": "red", "level": 1}).status_code == 200
        wait_for(lambda: "camera red: fire-danger level I" in caplog.text, 10, "the worker applying level I")
        time.sleep(1.0)  # frames already in the detector
        quiet_at, frames_at = detections(), stats.cameras["red"].frames
        time.sleep(2.5)
        assert detections() == quiet_at, "level I's score floor did not apply"
        assert stats.cameras["red"].frames >= frames_at + 4  # the camera kept running

        entry = next(e for e in api.get("/api/fire-danger").json()["entries"] if e["target"] == "red")
        assert api.delete(f"/api/fire-danger/{entry['id']}").status_code == 204  # back to the district's V
        wait_for(lambda: detections() > quiet_at, 10, "detections again at level V")
    finally:
        stop.set()
        worker.join(15)
        api.close()
        service.stop()
    assert not worker.is_alive()
