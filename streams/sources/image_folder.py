"""A folder of timestamped images played as a camera, one image per sample.

Images are listed and ordered by detector.media (capture time in the name, `1532815026_-00600.jpg`
or `..._2019_09_25T12_34_56...`, else by name); the named time, else the modification time,
becomes the frame's `captured_at`, shifted by one clip length on each loop so times only grow.
An unreadable or undecodable image is reported (BadData) and skipped: the next read moves on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from detector import media
from streams.sources.base import Frame, Source, SourceEnded, SourceUnavailable, decode_image


@dataclass(frozen=True, slots=True)
class TimedImage:
    path: Path
    taken_at: datetime


def list_images(folder: Path) -> list[TimedImage]:
    """The folder's images in media.list_images' order, each with its capture time."""
    images = []
    for path in media.list_images(folder):
        taken_at = media.timestamp_from_name(path.name)
        if taken_at is None:
            taken_at = datetime.fromtimestamp(path.lstat().st_mtime, tz=timezone.utc)
        images.append(TimedImage(path, taken_at))
    return images


def loop_length(images: list[TimedImage]) -> timedelta:
    """Time span of one pass plus one typical step, so the next pass starts after this one."""
    if len(images) < 2:
        return timedelta(seconds=1)
    span = images[-1].taken_at - images[0].taken_at
    return span + span / (len(images) - 1)


class ImageFolderSource(Source):
    def __init__(
        self, camera_id: str, folder: Path, realtime: bool, loop: bool, open_timeout_s: float, read_timeout_s: float
    ) -> None:
        self.camera_id = camera_id
        self.folder = Path(folder)
        self.paced = realtime
        self.loop = loop
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self._images: list[TimedImage] | None = None
        self._index = 0
        self._shift = timedelta(0)  # added to capture times: one loop length per finished pass

    @property
    def max_read_s(self) -> float:
        return self.open_timeout_s + self.read_timeout_s

    def _scan(self) -> list[TimedImage]:
        try:
            images = list_images(self.folder)
        except OSError as exc:
            raise SourceUnavailable(f"cannot list {self.folder}: {exc}") from exc
        if not images:
            raise SourceUnavailable(f"no images in {self.folder}")
        return images

    def read(self) -> Frame:
        if self._images is None:
            self._images = self._scan()
        if self._index >= len(self._images):
            if not self.loop:
                raise SourceEnded(f"{self.folder}: all {len(self._images)} images played")
            self._shift += loop_length(self._images)
            self._images = self._scan()  # an uploader may have added images meanwhile
            self._index = 0
        item = self._images[self._index]
        self._index += 1  # past this image even if it is bad: never stuck on one file
        try:
            data = item.path.read_bytes()
        except OSError as exc:
            raise SourceUnavailable(f"cannot read {item.path}: {exc}") from exc
        return Frame(self.camera_id, item.taken_at + self._shift, decode_image(data))

    def close(self) -> None:
        """Nothing stays open between reads; playback position is kept."""
