"""RTSP cameras through PyAV (FFmpeg): TCP transport, open and read timeouts, keyframes only.

Two ways to take one frame every `interval_s` (costs measured in benchmarks/STREAMS.md):
- on demand (slow sampling): connect, decode the first keyframe, disconnect. Nothing runs
  between samples.
- keep-alive (fast sampling): a reader thread pulls packets all the time without decoding
  them ("grab-skipping") and decodes only the first keyframe after each request.
Either way only keyframes are decoded (skip_frame NONKEY): an I-frame costs a few ms, while
decoding every frame of a 25 fps stream costs ~15% of a core per camera.
Reconnect backoff lives in the sampler; this module only connects, reads and reports.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import av
import numpy as np

from streams.sources.base import BadData, Frame, Source, SourceError, SourceUnavailable, redact_url, utc_now

log = logging.getLogger(__name__)


def ffmpeg_options(read_timeout_s: float) -> dict[str, str]:
    return {
        "rtsp_transport": "tcp",  # UDP loses packets on radio links and gives grey smeared frames
        "timeout": str(int(read_timeout_s * 1_000_000)),  # socket I/O timeout, microseconds
        # No probing: the decoder learns the size from the first keyframe. Probing costs
        # ~3 s per connection at FFmpeg's defaults, which dominates on-demand sampling.
        "analyzeduration": "0",
        "probesize": "32",
    }


def _as_source_error(exc: Exception, url: str) -> SourceError:
    if isinstance(exc, SourceError):
        return exc
    # PyAV's error text repeats the URL it was given, password and all: redact the whole text.
    if isinstance(exc, av.error.InvalidDataError):
        return BadData(redact_url(f"invalid stream from {url}: {exc}"))
    return SourceUnavailable(redact_url(f"{url}: {type(exc).__name__}: {exc}"))


def _open(url: str, open_timeout_s: float, read_timeout_s: float):
    """Container and its video stream, set to decode keyframes only on one thread."""
    started = time.monotonic()
    try:
        # PyAV's timeout interrupts blocking FFmpeg calls (open, then each read) from inside.
        container = av.open(url, options=ffmpeg_options(read_timeout_s), timeout=(open_timeout_s, read_timeout_s))
    except Exception as exc:
        if time.monotonic() - started >= open_timeout_s:  # an interrupted open reads as "invalid data"
            raise SourceUnavailable(f"{redact_url(url)}: no answer within {open_timeout_s:g}s") from exc
        raise _as_source_error(exc, url) from exc
    if not container.streams.video:
        container.close()
        raise BadData(f"{redact_url(url)} has no video stream")
    stream = container.streams.video[0]
    stream.codec_context.skip_frame = "NONKEY"
    stream.codec_context.thread_count = 1  # frame threads would hold back the one frame we want
    return container, stream


def _to_bgr(frames: list) -> np.ndarray | None:
    return frames[0].to_ndarray(format="bgr24") if frames else None


def grab_keyframe(url: str, open_timeout_s: float, read_timeout_s: float) -> np.ndarray:
    """Connect, decode the first keyframe, disconnect (on-demand sampling)."""
    try:
        container, stream = _open(url, open_timeout_s, read_timeout_s)
    except Exception as exc:
        raise _as_source_error(exc, url) from exc
    try:
        deadline = time.monotonic() + read_timeout_s
        for packet in container.demux(stream):
            if packet.is_keyframe and packet.size:
                image = _to_bgr(packet.decode())
                if image is None:  # a decoder with reorder delay holds the frame back: flush it
                    image = _to_bgr(stream.codec_context.decode(None))
                if image is not None:
                    return image
            if time.monotonic() > deadline:
                raise SourceUnavailable(f"no keyframe from {redact_url(url)} within {read_timeout_s:g}s")
        raise SourceUnavailable(f"{redact_url(url)} ended the stream before a keyframe")
    except Exception as exc:
        raise _as_source_error(exc, url) from exc
    finally:
        container.close()


class _KeepAliveReader(threading.Thread):
    """Pulls packets without decoding; decodes the first keyframe after each request.

    Only this thread touches its container (FFmpeg contexts are not thread-safe); it stops at
    the next packet or, when the camera went quiet, at PyAV's read timeout.
    """

    def __init__(self, url: str, open_timeout_s: float, read_timeout_s: float) -> None:
        super().__init__(name=f"rtsp-keepalive {redact_url(url)}", daemon=True)
        self.url = url
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.wanted = threading.Event()
        self.results: queue.Queue = queue.Queue(maxsize=1)  # np.ndarray or SourceError
        self.stopping = threading.Event()

    def run(self) -> None:
        container = None
        try:
            container, stream = _open(self.url, self.open_timeout_s, self.read_timeout_s)
            for packet in container.demux(stream):
                if self.stopping.is_set():
                    return
                if packet.is_keyframe and packet.size and self.wanted.is_set():
                    image = _to_bgr(packet.decode())
                    if image is not None:
                        self.wanted.clear()
                        self._offer(image)
            self._offer(SourceUnavailable(f"{redact_url(self.url)} ended the stream"))
        except Exception as exc:  # every failure reaches the waiting read() as a SourceError
            self._offer(_as_source_error(exc, self.url))
        finally:
            if container is not None:
                container.close()

    def _offer(self, item) -> None:
        try:
            self.results.put_nowait(item)
        except queue.Full:
            pass  # nobody asked for it yet; the older item is still fresh enough to report


class RtspSource(Source):
    def __init__(
        self, camera_id: str, url: str, open_timeout_s: float, read_timeout_s: float, keep_alive: bool
    ) -> None:
        self.camera_id = camera_id
        self.url = url
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.keep_alive = keep_alive
        self._reader: _KeepAliveReader | None = None

    @property
    def max_read_s(self) -> float:
        return self.open_timeout_s + self.read_timeout_s

    def read(self) -> Frame:
        if self.keep_alive:
            image = self._read_kept_alive()
        else:
            image = grab_keyframe(self.url, self.open_timeout_s, self.read_timeout_s)
        return Frame(self.camera_id, utc_now(), image)

    def _read_kept_alive(self) -> np.ndarray:
        wait_s = self.read_timeout_s
        if self._reader is None or not self._reader.is_alive():
            self.close()
            self._reader = _KeepAliveReader(self.url, self.open_timeout_s, self.read_timeout_s)
            self._reader.start()
            wait_s += self.open_timeout_s
        reader = self._reader
        while not reader.results.empty():  # whatever is there predates this request
            item = reader.results.get_nowait()
            if isinstance(item, SourceError):
                self.close()
                raise item
        reader.wanted.set()
        try:
            item = reader.results.get(timeout=wait_s)
        except queue.Empty:
            self.close()
            raise SourceUnavailable(f"no keyframe from {redact_url(self.url)} within {wait_s:g}s") from None
        if isinstance(item, SourceError):
            self.close()
            raise item
        return item

    def close(self) -> None:
        if self._reader is not None:
            self._reader.stopping.set()
            self._reader = None  # it closes its own container; never join a possibly hung thread
