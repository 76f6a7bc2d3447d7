"""Video files as cameras: paced in real time (the demo) or as fast as possible (replays).

Real time: read() returns the frame showing at this moment of playback, as a live camera
would; frames between samples are decoded (P-frames need them) but never converted.
As fast as possible: read() returns the frame `interval_s` of video time after the last one.
With `loop` the clip starts again at its end; without it the source ends (SourceEnded).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path

from detector import media
from streams.sources.base import BadData, Frame, Source, SourceEnded, SourceUnavailable, utc_now

log = logging.getLogger(__name__)


class VideoFileSource(Source):
    def __init__(
        self,
        camera_id: str,
        path: Path,
        interval_s: float,
        realtime: bool,
        loop: bool,
        open_timeout_s: float,
        read_timeout_s: float,
    ) -> None:
        self.camera_id = camera_id
        self.path = Path(path)
        self.interval_s = interval_s
        self.realtime = realtime
        self.paced = realtime
        self.loop = loop
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.corrupt_packets = 0
        self._reader: media.VideoReader | None = None  # open between the first read and close()
        self._frames = None
        self._corrupt_before = 0  # corrupt packets counted in earlier passes of the clip
        self._current = None  # (time_s, av.VideoFrame) of the frame on show
        self._ahead = None  # the first frame after the one on show
        self._taken = False  # replay mode: the frame on show was returned already
        self._clip_offset_s = 0.0  # playback time at which this pass of the clip began
        self._play_started: float | None = None  # monotonic time of playback position 0
        self._next_time_s = 0.0  # as-fast-as-possible mode: the next sample's playback time
        self._base_time = utc_now()

    @property
    def max_read_s(self) -> float:
        return self.open_timeout_s + self.read_timeout_s

    def _open(self) -> None:
        if not self.path.is_file():
            raise SourceUnavailable(f"video file not found: {self.path}")
        try:
            self._reader = media.VideoReader(self.path, self.open_timeout_s, self.read_timeout_s)
        except media.MediaError as exc:
            raise BadData(str(exc)) from exc
        self._frames = iter(self._reader)

    def _next_decoded(self):
        """(time_s, frame) of the next frame in the file, or None at its end; corrupt packets are skipped."""
        try:
            decoded = next(self._frames)
        except StopIteration:
            return None
        except media.MediaError as exc:
            raise BadData(str(exc)) from exc
        finally:
            self.corrupt_packets = self._corrupt_before + self._reader.corrupt_packets
        return self._clip_offset_s + decoded.time_s, decoded.frame

    def _restart(self) -> None:
        """Begin the next pass of the clip, right after the last frame of this one."""
        last_time = self._current[0] if self._current else self._clip_offset_s
        frame_s = self._reader.frame_interval_s
        self._corrupt_before = self.corrupt_packets
        self.close()
        self._open()
        self._clip_offset_s = last_time + frame_s

    def _frame_at(self, target_s: float):
        """The frame on show at playback time target_s (decoding forward only)."""
        while True:
            if self._ahead is None:
                self._ahead = self._next_decoded()
                if self._ahead is None:
                    if not self.loop:
                        raise SourceEnded(f"{self.path} ended")
                    self._restart()
                    continue
            if self._current is not None and self._ahead[0] > target_s:
                if self.realtime or not self._taken:
                    return self._current
                # replay: the frame on show was returned already, so the next one is (media.sample's rule)
                self._current, self._ahead = self._ahead, None
                return self._current
            self._current, self._ahead = self._ahead, None
            self._taken = False

    def read(self) -> Frame:
        if self._reader is None:
            self._open()
            if self._play_started is None:
                self._play_started = time.monotonic()
        target_s = time.monotonic() - self._play_started if self.realtime else self._next_time_s
        shown_s, frame = self._frame_at(target_s)
        image = frame.to_ndarray(format="bgr24")
        if self.realtime:
            captured_at = utc_now()
        else:
            self._taken = True
            self._next_time_s = shown_s + self.interval_s
            captured_at = self._base_time + timedelta(seconds=shown_s)
        return Frame(self.camera_id, captured_at, image)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader = None
        self._frames = None
        self._ahead = None
