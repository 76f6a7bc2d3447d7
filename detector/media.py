"""The one way pinewatch reads frames from files: video clips, image folders, single images.

Used by the live file sources (streams/sources/), `pinewatch scan`, evaluation and the bench,
so that every one of them sees the same frames in the same order.

API:
- IMAGE_SUFFIXES, VIDEO_SUFFIXES: the one set of each (lower case, with the dot).
- is_image(path), is_video(path): by suffix.
- timestamp_from_name(name): the UTC capture time a frame's file name carries, or None.
- list_images(folder): the folder's images in the one order: capture time from the name first
  (oldest first), then the images whose names carry no time, by name. Hidden files are skipped.
- read_image(path): BGR uint8 image, or None when the file is unreadable or not an image.
- VideoReader(path, ...): iterates a clip's frames as DecodedFrame(index, time_s, frame) via PyAV;
  every coded frame is returned (the container's edit list is ignored, so the count equals
  `ffprobe -count_packets`), corrupt packets are skipped and counted, never fatal.
- sample(frames, interval_s): the replay sampling rule (the frame on show every interval_s of video time).
- video_frames(path, interval_s=None): a clip's DecodedFrames, all or sampled.

Errors: MediaError (cannot open, no video stream, unreadable mid-file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

import av
import cv2
import numpy as np

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".avi", ".mov", ".m4v", ".webm", ".ts", ".mpg", ".mpeg", ".h264", ".h265"})

# `1532815026_-00600.jpg` (Unix seconds, then anything) as FIgLib/HPWREN name their frames.
_EPOCH_PREFIX = re.compile(r"^(\d{9,11})(?:[_.-]|$)")
# `2019_09_25T12_34_56` anywhere in the name, taken as UTC.
_CALENDAR = re.compile(r"(\d{4})_(\d{2})_(\d{2})T(\d{2})_(\d{2})_(\d{2})")


class MediaError(RuntimeError):
    """A media file that cannot be opened or read (says which file and why)."""


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def timestamp_from_name(name: str | Path) -> datetime | None:
    """The UTC capture time a file name carries, or None when it carries none."""
    stem = Path(name).stem
    calendar = _CALENDAR.search(stem)
    if calendar:
        try:
            return datetime(*map(int, calendar.groups()), tzinfo=timezone.utc)
        except ValueError:
            return None
    epoch = _EPOCH_PREFIX.match(stem)
    if epoch:
        return datetime.fromtimestamp(int(epoch.group(1)), tz=timezone.utc)
    return None


def order_key(path: Path) -> tuple:
    """The one ordering rule: named capture time first (oldest first), else by name."""
    stamp = timestamp_from_name(path.name)
    return (0, stamp, path.name) if stamp is not None else (1, path.name)


def list_images(folder: str | Path) -> list[Path]:
    """The folder's images (not hidden ones), in the one order (see order_key)."""
    folder = Path(folder)
    # by name only, no stat(): a file on a dead network mount must hang its reader, not the listing
    images = [p for p in folder.iterdir() if is_image(p) and not p.name.startswith(".")]
    return sorted(images, key=order_key)


def read_image(path: str | Path) -> np.ndarray | None:
    """BGR uint8 image, or None when the file is unreadable or not a decodable image."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return image if image is not None and image.size else None


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    index: int  # 0-based position among the clip's frames
    time_s: float  # video time from the first frame
    frame: av.VideoFrame  # converted only when asked (image()), so skipped frames cost no conversion

    def image(self) -> np.ndarray:
        return self.frame.to_ndarray(format="bgr24")


class VideoReader:
    """One pass over a clip's frames, in decode order (= presentation order for these clips)."""

    def __init__(self, path: str | Path, open_timeout_s: float | None = None, read_timeout_s: float | None = None):
        self.path = Path(path)
        self.corrupt_packets = 0
        if not self.path.is_file():
            raise MediaError(f"video file not found: {self.path}")
        timeout = (open_timeout_s, read_timeout_s) if open_timeout_s is not None else None
        try:
            # ignore_editlist: an edit list would hide leading frames (17 of 37 in one sample clip).
            self._container = av.open(str(self.path), timeout=timeout, options={"ignore_editlist": "1"})
        except av.error.FFmpegError as exc:
            raise MediaError(f"cannot open {self.path}: {exc}") from exc
        if not self._container.streams.video:
            self.close()
            raise MediaError(f"{self.path} has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.codec_context.thread_count = 1
        self._start_pts = None

    @property
    def frame_interval_s(self) -> float:
        """Nominal time between frames (1/25 s when the file does not say)."""
        return 1 / float(self._stream.average_rate or 25)

    @property
    def created_at(self) -> datetime | None:
        """The container's creation_time (UTC), when it carries one."""
        text = self._container.metadata.get("creation_time")
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

    def __iter__(self) -> Iterator[DecodedFrame]:
        index = 0
        try:
            for packet in self._container.demux(self._stream):
                try:
                    frames = packet.decode()  # the final empty packet flushes the decoder
                except av.error.InvalidDataError:
                    self.corrupt_packets += 1
                    continue
                for frame in frames:
                    yield DecodedFrame(index, self._time_s(frame, index), frame)
                    index += 1
        except av.error.FFmpegError as exc:
            raise MediaError(f"{self.path}: {exc}") from exc

    def _time_s(self, frame: av.VideoFrame, index: int) -> float:
        if frame.pts is None:
            return index * self.frame_interval_s
        if self._start_pts is None:
            self._start_pts = frame.pts
        return float((frame.pts - self._start_pts) * self._stream.time_base)

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = None

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def sample(frames: Iterable[DecodedFrame], interval_s: float | None) -> Iterator[DecodedFrame]:
    """Every frame (interval_s None), else the live video source's replay rule, so that a scan and
    a replayed camera take the same frames: first the frame on show at 0, then the frame on show
    `interval_s` of video time after the last one taken, or the next frame when that one was
    taken already. The clip's last frame is on show only until the clip ends, so it is not taken."""
    if interval_s is None:
        yield from frames
        return
    target_s, current, taken = 0.0, None, False
    for decoded in frames:
        if current is not None and decoded.time_s > target_s:
            if not taken:  # current is on show at target_s
                yield current
                target_s = current.time_s + interval_s
            if decoded.time_s > target_s:  # the frame on show was taken already: take the next
                yield decoded
                target_s = decoded.time_s + interval_s
                current, taken = decoded, True
                continue
        current, taken = decoded, False


def video_frames(path: str | Path, interval_s: float | None = None) -> Iterator[DecodedFrame]:
    """A clip's frames: every one, or sampled by `sample`'s rule."""
    with VideoReader(path) as reader:
        yield from sample(reader, interval_s)
