"""detector.media is the one frame reader: every consumer sees ffprobe's frame count, one suffix set, one order."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector import evaluate, media
from pinewatch.core.config import CameraConfig, StreamsConfig
from pinewatch.scan import ScanFrame, iter_frames
from streams.sources import open_source
from streams.sources.base import SourceEnded
from streams.sources.image_folder import list_images as folder_images

ROOT = Path(__file__).resolve().parents[2]
CLIPS = sorted((ROOT / "sample_videos").glob("*.mp4")) + sorted(Path("/work/shared/clips").glob("*.mp4"))


def ffprobe_packets(path: Path) -> int:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
         "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout
    return int(out.strip().strip(","))


def source_images(path: Path, interval_s: float) -> list[np.ndarray]:
    camera = CameraConfig(id="cam", source=str(path), interval_s=interval_s)
    source = open_source(camera, StreamsConfig(realtime=False, loop=False))
    images = []
    try:
        while True:
            images.append(source.read().image)
    except SourceEnded:
        return images
    finally:
        source.close()


@pytest.mark.parametrize("clip", CLIPS, ids=[c.name for c in CLIPS])
def test_every_reader_sees_ffprobes_frame_count(clip):
    expected = ffprobe_packets(clip)
    assert sum(1 for _ in media.video_frames(clip)) == expected
    assert sum(1 for _ in evaluate.video_frames(clip)) == expected
    assert sum(1 for f in iter_frames(clip, None) if isinstance(f, ScanFrame)) == expected


@pytest.mark.parametrize("clip", CLIPS[:3], ids=[c.name for c in CLIPS[:3]])
def test_scan_and_the_live_source_sample_the_same_frames(clip):
    interval = 0.5
    scanned = [f.image for f in iter_frames(clip, interval) if isinstance(f, ScanFrame)]
    live = source_images(clip, interval)
    assert len(scanned) == len(live) > 1
    assert all(np.array_equal(a, b) for a, b in zip(scanned, live))


def test_clips_were_found():
    assert len(CLIPS) >= 6


def test_one_order_for_scan_eval_and_the_folder_source(tmp_path):
    image = np.zeros((8, 8, 3), np.uint8)
    # capture times in the names disagree with name order; one name carries no time
    names = ["1532815200_b.jpg", "1532815026_z.jpg", "x_2018_07_28T21_59_00.png", "a_notime.jpg", "B.JPEG"]
    for name in names:
        cv2.imwrite(str(tmp_path / name), image)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.jpg").write_bytes(b"")
    # 1532815026 = 21:57:06 UTC, 1532815200 = 22:00:00 UTC
    expected = ["1532815026_z.jpg", "x_2018_07_28T21_59_00.png", "1532815200_b.jpg", "B.JPEG", "a_notime.jpg"]
    assert [p.name for p in media.list_images(tmp_path)] == expected
    assert [p.name for p in evaluate.list_images(tmp_path)] == expected
    assert [f.file for f in iter_frames(tmp_path, 1.0)] == expected
    assert [i.path.name for i in folder_images(tmp_path)] == expected
    assert folder_images(tmp_path)[0].taken_at == datetime.fromtimestamp(1532815026, tz=timezone.utc)


def test_one_set_of_suffixes():
    assert media.is_image("a.WEBP") and media.is_image("b.bmp") and not media.is_image("c.mp4")
    assert media.is_video("c.MKV") and not media.is_video("a.jpg")


def test_a_file_that_is_not_a_video_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(media.MediaError, match="broken.mp4"):
        media.VideoReader(bad)
    with pytest.raises(media.MediaError, match="not found"):
        media.VideoReader(tmp_path / "missing.mp4")
