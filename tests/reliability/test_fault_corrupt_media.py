"""Fault injection: corrupt JPEGs, a truncated video and an evidence directory that cannot be
written, all in one worker beside a clean camera.

Every bad file is counted as bad data and skipped, the truncated clip plays up to the cut and
ends, and neither disturbs the clean camera: it publishes exactly the events it would alone.
When evidence cannot be written, the alerts still go out (the picture is counted as missing)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import redis

from pinewatch.core.config import Settings, TemporalConfig
from pinewatch.core.messages import decode
from streams.evidence import event_id
from streams.worker import run
from tests.streams.conftest import colour_model, jpeg, redis_config, redis_server, scene  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

START = int(time.time()) - 7200


def _red_frames(folder: Path, count: int) -> list[datetime]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(5)
    for i in range(count):
        (folder / f"{START + i}_+00000.jpg").write_bytes(jpeg(scene(rng, red=True)))
    return [datetime.fromtimestamp(START + i, tz=timezone.utc) for i in range(count)]


def _corrupt_frames(folder: Path) -> int:
    """Five good frames between five broken files; returns how many are broken."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(6)
    good = jpeg(scene(rng, red=True))
    broken = [
        good[: len(good) // 2],  # cut off mid-file (an interrupted upload)
        b"",  # empty
        rng.bytes(4000),  # noise with a .jpg name
        good[:300] + bytes(b ^ 0xFF for b in good[300:400]) + good[400:],  # flipped bytes in the header
        b"\x89PNG\r\n\x1a\n" + b"x" * 100,  # a PNG signature and nothing valid after it
    ]
    for i in range(10):
        data = jpeg(scene(rng, red=True)) if i % 2 == 0 else broken[i // 2]
        (folder / f"{START + i}_+00000.jpg").write_bytes(data)
    return len(broken)


def _truncated_clip(path: Path) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is missing (make system-deps)")
    whole = path.with_name("whole.mp4")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10", "-t", "4",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "5", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(whole)],
        check=True, timeout=60,
    )
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # index at the front, half of the frames missing
    return path


def _serve(settings: Settings, timeout_s: float = 60):
    stop = threading.Event()
    result: list = []
    thread = threading.Thread(target=lambda: result.append(run(settings, stop)), daemon=True)
    thread.start()
    thread.join(timeout_s)  # every source ends by itself (no looping)
    stop.set()
    thread.join(10)
    assert result, "the worker did not finish: a camera hung or crashed"
    return result[0]


def _published(client: redis.Redis, stream: str) -> list[dict]:
    return [json.loads(fields[b"payload"]) for _, fields in client.xrange(stream)]


def test_corrupt_jpegs_and_a_truncated_video_beside_a_clean_camera(tmp_path, redis_config, colour_model):
    times = _red_frames(tmp_path / "clean", 10)
    broken = _corrupt_frames(tmp_path / "corrupt")
    clip = _truncated_clip(tmp_path / "truncated.mp4")
    settings = Settings(
        redis=redis_config,
        detector={"model_path": str(colour_model), "imgsz": 64, "threads": 1, "batch_wait_ms": 0},
        streams={"evidence_dir": str(tmp_path / "evidence"), "realtime": False, "loop": False},
        cameras=[
            {"id": "clean", "source": str(tmp_path / "clean"), "interval_s": 0.05},
            {"id": "corrupt", "source": str(tmp_path / "corrupt"), "interval_s": 0.05},
            {"id": "truncated", "source": str(clip), "interval_s": 0.5},
        ],
    )
    stats = _serve(settings)
    client = redis.Redis.from_url(redis_config.url)
    corrupt, truncated = stats.cameras["corrupt"], stats.cameras["truncated"]
    assert (corrupt.frames, corrupt.bad_data, corrupt.failures) == (10 - broken, broken, broken)
    assert 1 <= truncated.frames < 8  # played up to the cut (4 s at one frame per 0.5 s would be 8)
    assert stats.cameras["clean"].frames == 10 and stats.cameras["clean"].bad_data == 0
    min_hits = TemporalConfig().min_hits
    clean_events = [p["event_id"] for p in _published(client, redis_config.detections_stream) if p["camera_id"] == "clean"]
    assert clean_events == [event_id("clean", t) for t in times[min_hits - 1:]]  # as if alone, each once
    health = [decode(fields) for _, fields in client.xrange(redis_config.health_stream)]
    corrupt_statuses = {h.status for h in health if h.camera_id == "corrupt"}
    assert "online" in corrupt_statuses and corrupt_statuses <= {"online", "bad_data", "offline", "frozen"}
    assert {h.camera_id for h in health} == {"clean", "corrupt", "truncated"}
    client.close()


def test_alerts_go_out_when_evidence_cannot_be_written(tmp_path, redis_config, colour_model):
    times = _red_frames(tmp_path / "clean", 6)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the evidence directory should be")  # as good as a full or read-only disk
    settings = Settings(
        redis=redis_config,
        detector={"model_path": str(colour_model), "imgsz": 64, "threads": 1, "batch_wait_ms": 0},
        streams={"evidence_dir": str(blocker / "evidence"), "realtime": False, "loop": False},
        cameras=[{"id": "clean", "source": str(tmp_path / "clean"), "interval_s": 0.05}],
    )
    stats = _serve(settings)
    client = redis.Redis.from_url(redis_config.url)
    published = _published(client, redis_config.detections_stream)
    expected = times[TemporalConfig().min_hits - 1:]
    assert [p["event_id"] for p in published] == [event_id("clean", t) for t in expected]
    assert stats.cameras["clean"].evidence_failed == len(expected)
    assert all(p["evidence_path"].startswith("clean/") for p in published)  # valid, and no file behind it
    client.close()
