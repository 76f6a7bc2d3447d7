"""Point 3 of issue 14, second half: between two samples a camera thread holds no decoded
frame (100 cameras held 333 MB of old pictures while they waited for their next slot)."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest
import redis

from pinewatch.core.config import Settings
from pinewatch.core.messages import decode
from streams.sources.base import Frame
from streams.worker import run
from tests.streams.conftest import colour_model, http_cameras, redis_config, redis_server  # noqa: F401

pytestmark = pytest.mark.slow


def _images_held(thread: threading.Thread) -> list:
    """Frames or images referenced by the locals of the thread's stack, innermost first."""
    frame = sys._current_frames().get(thread.ident)
    held = []
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, Frame) or (isinstance(value, np.ndarray) and value.size > 1000):
                held.append((frame.f_code.co_name, type(value).__name__))
        frame = frame.f_back
    return held


def _waiting_for_slot(thread: threading.Thread) -> bool:
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code.co_name == "wait_for_slot":
            return True
        frame = frame.f_back
    return False


def test_camera_thread_drops_its_frame_between_samples(http_cameras, colour_model, redis_config, tmp_path):
    settings = Settings(
        redis=redis_config,
        detector={"model_path": colour_model, "imgsz": 64, "threads": 1, "batch_size": 1, "batch_wait_ms": 0},
        streams={"evidence_dir": tmp_path / "evidence", "offline_after_s": 600, "http_retries": 0},
        cameras=[{"id": "slow1", "source": http_cameras.url("changing-release"), "interval_s": 3600}],
    )
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(settings,), kwargs={"stop": stop}, daemon=True)
    worker.start()
    client = redis.Redis.from_url(redis_config.url)
    try:
        deadline = time.monotonic() + 60
        camera = None
        while time.monotonic() < deadline:
            online = any(decode(f).status == "online" for _, f in client.xrange(redis_config.health_stream))
            camera = next((t for t in threading.enumerate() if t.name == "camera slow1"), None)
            if online and camera is not None and _waiting_for_slot(camera):
                break
            time.sleep(0.1)
        assert camera is not None and _waiting_for_slot(camera), "the camera never took its first sample"
        assert http_cameras.count("changing-release") == 1
        assert _images_held(camera) == []
    finally:
        stop.set()
        worker.join(15)
