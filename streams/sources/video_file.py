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

import av

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
        self._container = None
        self._packets = None
        self._decoded: list = []  # frames decoded from the last packet, not yet looked at
        self._current = None  # (time_s, av.VideoFrame) of the frame on show
        self._ahead = None  # the first frame after the one on show
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
            self._container = av.open(str(self.path), timeout=(self.open_timeout_s, self.read_timeout_s))
        except av.error.FFmpegError as exc:
            raise BadData(f"cannot open {self.path}: {exc}") from exc
        if not self._container.streams.video:
            self.close()
            raise BadData(f"{self.path} has no video stream")
        stream = self._container.streams.video[0]
        stream.codec_context.thread_count = 1
        self._stream = stream
        self._start_pts = stream.start_time or 0
        self._packets = self._container.demux(stream)
        self._decoded = []

    def _next_decoded(self):
        """(time_s, frame) of the next frame in the file, or None at its end; corrupt packets are skipped."""
        while not self._decoded:
            try:
                packet = next(self._packets)
            except StopIteration:
                return None
            except av.error.FFmpegError as exc:
                raise BadData(f"{self.path}: {exc}") from exc
            try:
                self._decoded = list(packet.decode())
            except av.error.InvalidDataError:
                self.corrupt_packets += 1
        frame = self._decoded.pop(0)
        pts = frame.pts if frame.pts is not None else self._start_pts
        return self._clip_offset_s + float((pts - self._start_pts) * self._stream.time_base), frame

    def _restart(self) -> None:
        """Begin the next pass of the clip, right after the last frame of this one."""
        last_time = self._current[0] if self._current else self._clip_offset_s
        frame_s = 1 / float(self._stream.average_rate or 25)
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
                return self._current
            self._current, self._ahead = self._ahead, None

    def read(self) -> Frame:
        if self._container is None:
            self._open()
            if self._play_started is None:
                self._play_started = time.monotonic()
        target_s = time.monotonic() - self._play_started if self.realtime else self._next_time_s
        shown_s, frame = self._frame_at(target_s)
        image = frame.to_ndarray(format="bgr24")
        if self.realtime:
            captured_at = utc_now()
        else:
            self._next_time_s = shown_s + self.interval_s
            captured_at = self._base_time + timedelta(seconds=shown_s)
        return Frame(self.camera_id, captured_at, image)

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = None
        self._packets = None
        self._decoded = []
        self._ahead = None
