"""Evidence as captured (no boxes burned in) and the camera's last frame before the smoke.

The worker runs for real (colour model, image-folder camera, real Redis): grey frames are
clean, red frames are "smoke" to the colour model.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest
import redis

from pinewatch.core.messages import DetectionEvent
from streams.evidence import write_evidence
from tests.streams.conftest import SAMPLE_VIDEOS
from tests.streams.test_worker import RunningWorker, read_stream, settings_for, wait_for

SMOKE_CLIP = SAMPLE_VIDEOS / "smoke_hpwren_mixed.mp4"


def clip_frame(index: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(SMOKE_CLIP))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = capture.read()
    capture.release()
    assert ok
    return image


def grey(image: np.ndarray) -> np.ndarray:
    """R = G = B: the colour model scores it 0 (clean)."""
    return np.repeat(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[..., None], 3, axis=2)


def reddened(image: np.ndarray) -> np.ndarray:
    """Strongly red whatever the picture: the colour model scores it as smoke."""
    red = image.copy()
    red[..., 2] = 155 + red[..., 2] // 2.55
    red[..., :2] //= 8
    return red


def assert_same_pixels(stored: Path, captured: np.ndarray) -> None:
    """Equal up to JPEG at quality 90: a burned-in box (2+ px lines of saturated colour) would fail."""
    image = cv2.imread(str(stored))
    assert image is not None and image.shape == captured.shape
    diff = np.abs(image.astype(int) - captured.astype(int))
    assert diff.mean() < 3.0, diff.mean()
    assert np.percentile(diff, 99.9) < 40, np.percentile(diff, 99.9)


def test_evidence_is_the_frame_as_captured(tmp_path):
    frame = clip_frame(22)
    at = datetime(2026, 7, 1, 6, 0, tzinfo=timezone.utc)
    relative = write_evidence(tmp_path, "tower-1", at, frame)
    assert relative == "tower-1/2026-07-01/tower-1_20260701T060000_000000Z.jpg"
    assert_same_pixels(tmp_path / relative, frame)
    assert not list(tmp_path.rglob("*.part"))

    # The check above does see a burned-in box.
    boxed = frame.copy()
    cv2.rectangle(boxed, (500, 160), (630, 260), (0, 0, 255), 2)
    cv2.imwrite(str(tmp_path / "boxed.jpg"), boxed)
    with pytest.raises(AssertionError):
        assert_same_pixels(tmp_path / "boxed.jpg", frame)


@pytest.mark.slow
def test_first_detection_carries_the_last_clean_frame(colour_model, redis_config, tmp_path):
    folder = tmp_path / "camera"
    folder.mkdir()
    start = int((datetime.now(timezone.utc) - timedelta(minutes=10)).timestamp())
    clean = [grey(clip_frame(i)) for i in (0, 5, 10)]
    smoke = [reddened(clip_frame(i)) for i in (22, 27, 33, 38)]
    frames = clean + smoke
    seconds = [0, 60, 90, 120, 180, 240, 300]  # the third clean frame comes 30 s after the second
    for offset, image in zip(seconds, frames):
        assert cv2.imwrite(str(folder / f"{start + offset}.png"), image)  # lossless: the test compares pixels
    settings = settings_for(
        [{"id": "tower-1", "source": str(folder), "interval_s": 0.1}], colour_model, redis_config, tmp_path,
        realtime=False, loop=False,
    )
    client = redis.Redis.from_url(redis_config.url)
    worker = RunningWorker(settings)
    try:
        assert wait_for(lambda: worker.stats.cameras.get("tower-1") and worker.stats.cameras["tower-1"].frames >= len(frames), 20)
        assert wait_for(lambda: len(read_stream(client, redis_config.detections_stream)) >= 3, 10)
    finally:
        worker.finish()
    events = [e for e in read_stream(client, redis_config.detections_stream) if isinstance(e, DetectionEvent)]
    # 2 of 4 votes: the second red frame is the first published one, then every red frame.
    assert [e.captured_at for e in events] == [datetime.fromtimestamp(start + s, timezone.utc) for s in seconds[4:]]
    first, *later = events
    evidence_dir = Path(settings.streams.evidence_dir)
    # The newest clean frame, but one encode a minute at most: the frame 30 s later is not re-encoded.
    assert first.before_at == datetime.fromtimestamp(start + 60, timezone.utc)
    assert first.before_path == first.evidence_path.replace(".jpg", "_before.jpg")
    assert_same_pixels(evidence_dir / first.before_path, clean[1])
    assert all(e.before_path is None and e.before_at is None for e in later), "sent once, with the first detection"
    for event, captured in zip(events, smoke[1:]):
        assert_same_pixels(evidence_dir / event.evidence_path, captured)
