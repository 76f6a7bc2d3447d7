"""Frozen-picture detection on real frames, and the health state machine."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from streams.health import HealthTracker, fingerprint, same_picture

from .conftest import stamp_clock

SEQUENCES = Path(__file__).resolve().parents[3] / "shared" / "sequences"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def jpeg_roundtrip(image: np.ndarray, quality: int = 85) -> np.ndarray:
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)


@pytest.fixture(scope="module")
def timelapse() -> list[np.ndarray]:
    """Consecutive real frames of one camera, a minute apart, of a nearly still landscape."""
    paths = sorted(next(SEQUENCES.iterdir()).glob("*.jpg"))[:6] if SEQUENCES.is_dir() else []
    if len(paths) < 6:
        pytest.skip("no timelapse frames under ../shared/sequences")
    return [cv2.imread(str(p)) for p in paths]


def test_a_stuck_picture_with_a_running_clock_is_the_same_picture(timelapse):
    frame = timelapse[0]
    a, b = jpeg_roundtrip(stamp_clock(frame, 7)), jpeg_roundtrip(stamp_clock(frame, 8))
    assert not np.array_equal(a, b)
    assert same_picture(fingerprint(a), fingerprint(b))
    assert same_picture(fingerprint(frame), fingerprint(frame.copy()))


def test_real_consecutive_frames_of_a_still_view_differ(timelapse):
    prints = [fingerprint(frame) for frame in timelapse]
    assert not any(same_picture(a, b) for a, b in zip(prints, prints[1:]))


def tracker(clock: Clock, frozen_after: int = 3) -> HealthTracker:
    return HealthTracker("cam", offline_after_s=60, frozen_after=frozen_after, clock=clock)


def picture(value: int) -> np.ndarray:
    return np.full((32, 32), float(value), dtype=np.float32)


def test_online_then_frozen_then_online_again():
    health = tracker(Clock())
    assert health.frame(picture(1), NOW, NOW).status == "online"
    assert health.frame(picture(2), NOW, NOW) is None  # still online: no event
    assert health.frame(picture(2), NOW, NOW) is None
    frozen = health.frame(picture(2), NOW, NOW)
    assert frozen.status == "frozen" and "3 samples" in frozen.detail
    assert health.frame(picture(2), NOW, NOW) is None
    assert health.frame(picture(3), NOW, NOW).status == "online"


def test_silence_means_offline_or_error_depending_on_what_failed():
    clock = Clock()
    health = tracker(clock)
    health.frame(picture(1), NOW, NOW)
    assert health.failure("unavailable", "connection refused", NOW) is None  # one failure changes nothing
    clock.now += 59
    assert health.tick(NOW) is None
    clock.now += 2
    offline = health.tick(NOW)
    assert offline.status == "offline" and "connection refused" in offline.detail
    assert health.tick(NOW) is None  # one event per change
    health.failure("bad_data", "undecodable image", NOW)
    assert health.tick(NOW).status == "error"
    assert health.frame(picture(9), NOW, NOW).status == "online"


def test_a_camera_that_never_answered_goes_offline():
    clock = Clock()
    health = tracker(clock)
    clock.now += 61
    assert health.tick(NOW).status == "offline"


def test_a_hung_read_is_an_error_at_once():
    health = tracker(Clock())
    health.frame(picture(1), NOW, NOW)
    event = health.failure("hung", "read hung for 30s", NOW)
    assert event.status == "error" and event.camera_id == "cam" and event.at == NOW
