"""Video files and image folders as cameras: pacing, sampling, looping, bad files."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from pinewatch.core.config import CameraConfig, StreamsConfig
from streams.sources import open_source, source_kind
from streams.sources.base import BadData, SourceEnded, SourceUnavailable
from streams.sources.image_folder import ImageFolderSource
from streams.sources.video_file import VideoFileSource

from .conftest import SAMPLE_VIDEOS, jpeg, scene

SMOKE_CLIP = SAMPLE_VIDEOS / "smoke_hpwren_mixed.mp4"  # 44 frames at 1 fps, 640x480


def video(path: Path, interval_s: float, realtime: bool, loop: bool) -> VideoFileSource:
    return VideoFileSource("cam", path, interval_s=interval_s, realtime=realtime, loop=loop, open_timeout_s=2, read_timeout_s=2)


def test_as_fast_as_possible_samples_every_interval_of_video_time_and_ends():
    camera = video(SMOKE_CLIP, interval_s=10, realtime=False, loop=False)
    assert not camera.paced
    frames = []
    with pytest.raises(SourceEnded):
        while True:
            frames.append(camera.read())
    # 44 s of video sampled every 10 s of video time: t = 0, 10, 20, 30, 40
    offsets = [(f.captured_at - frames[0].captured_at).total_seconds() for f in frames]
    assert offsets == pytest.approx([0, 10, 20, 30, 40])
    assert all(f.image.shape == (480, 640, 3) for f in frames)


def test_looping_continues_with_growing_capture_times():
    camera = video(SMOKE_CLIP, interval_s=20, realtime=False, loop=True)
    frames = [camera.read() for _ in range(5)]  # 0, 20, 40, then 44 + 16, 44 + 36
    offsets = [(f.captured_at - frames[0].captured_at).total_seconds() for f in frames]
    assert offsets == pytest.approx([0, 20, 40, 60, 80])
    assert np.array_equal(frames[0].image, video(SMOKE_CLIP, 1, False, False).read().image)


def test_real_time_shows_the_frame_of_the_moment():
    camera = video(SMOKE_CLIP, interval_s=1, realtime=True, loop=False)
    assert camera.paced
    first = camera.read()
    time.sleep(2.2)
    later = camera.read()
    reference = video(SMOKE_CLIP, interval_s=1, realtime=False, loop=False)
    expected = [reference.read().image for _ in range(3)][2]  # the frame at t = 2 s
    assert np.array_equal(later.image, expected)
    assert not np.array_equal(first.image, later.image)
    assert first.captured_at.tzinfo == timezone.utc


def test_a_corrupt_or_missing_video_is_reported(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x01not a video" * 100)
    with pytest.raises(BadData):
        video(broken, 1, realtime=False, loop=False).read()
    with pytest.raises(SourceUnavailable, match="not found"):
        video(tmp_path / "gone.mp4", 1, realtime=False, loop=False).read()


def write_images(folder: Path, epochs: list[int]) -> None:
    rng = np.random.default_rng(3)
    for epoch in epochs:
        (folder / f"{epoch}_-00600.jpg").write_bytes(jpeg(scene(rng)))


def test_image_folder_plays_in_time_order_skips_bad_files_and_loops(tmp_path):
    write_images(tmp_path, [1532815086, 1532815026, 1532815146])
    (tmp_path / "1532815100_-00600.jpg").write_bytes(b"garbage")
    (tmp_path / "notes.txt").write_text("ignored")
    camera = ImageFolderSource("cam", tmp_path, realtime=False, loop=True, open_timeout_s=1, read_timeout_s=1)
    times = [camera.read().captured_at, camera.read().captured_at]
    with pytest.raises(BadData):
        camera.read()
    times += [camera.read().captured_at, camera.read().captured_at]  # last image, then the first again
    epochs = [int(t.timestamp()) for t in times]
    # one pass spans 120 s with 40 s steps: the second pass starts 160 s after the first
    assert epochs == [1532815026, 1532815086, 1532815146, 1532815026 + 160]


def test_image_folder_without_loop_ends(tmp_path):
    write_images(tmp_path, [1532815026])
    camera = ImageFolderSource("cam", tmp_path, realtime=False, loop=False, open_timeout_s=1, read_timeout_s=1)
    assert camera.read().captured_at == datetime.fromtimestamp(1532815026, tz=timezone.utc)
    with pytest.raises(SourceEnded):
        camera.read()


def test_empty_folder_is_unavailable(tmp_path):
    camera = ImageFolderSource("cam", tmp_path, realtime=True, loop=False, open_timeout_s=1, read_timeout_s=1)
    with pytest.raises(SourceUnavailable, match="no images"):
        camera.read()


def test_open_source_picks_the_kind_from_the_source(tmp_path):
    assert source_kind("rtsp://user:pw@10.0.0.5:554/stream1") == "rtsp"
    assert source_kind("https://tower.example/snap.jpg") == "http"
    assert source_kind(str(SMOKE_CLIP)) == "video"
    assert source_kind(str(tmp_path)) == "folder"
    streams = StreamsConfig()
    camera = CameraConfig(id="c1", source=str(SMOKE_CLIP), interval_s=2)
    assert isinstance(open_source(camera, streams), VideoFileSource)
    fast = CameraConfig(id="c2", source="rtsp://x/y", interval_s=1)
    slow = CameraConfig(id="c3", source="rtsp://x/y", interval_s=10)
    assert open_source(fast, streams).keep_alive and not open_source(slow, streams).keep_alive
