"""The one interface every camera source implements, and the errors it may raise.

A source hands out fresh frames, one per `read()`. Errors say what kind of trouble it was,
because health reporting treats them differently: an unreachable camera is `offline`, a
camera that answers with something unusable is in `error`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from pinewatch.core.redact import redact


@dataclass(frozen=True, slots=True)
class Frame:
    camera_id: str
    captured_at: datetime  # timezone-aware UTC
    image: np.ndarray  # BGR uint8, H x W x 3


class SourceError(RuntimeError):
    """A read that gave no frame."""


class SourceUnavailable(SourceError):
    """Cannot reach the camera, or it stopped sending (refused, timed out, dropped)."""


class BadData(SourceError):
    """The camera answered, but with something that is not a usable image (garbage, HTTP 404)."""


class SourceEnded(SourceError):
    """A file or folder with nothing more to give (and not looping)."""


class Source(ABC):
    """One camera. Not thread-safe: one sampler thread calls `read` and `close`."""

    camera_id: str
    # True: read() returns what the camera shows now, so the sampler waits between samples.
    # False: read() returns the next sample of a recording, as fast as the caller asks.
    paced: bool = True

    @abstractmethod
    def read(self) -> Frame:
        """One fresh frame; connects first if needed. Raises a SourceError subclass."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and files; safe to call twice. The next read() reconnects."""

    @property
    @abstractmethod
    def max_read_s(self) -> float:
        """The longest one read() may take with all its own timeouts; longer means it hung."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def decode_image(data: bytes) -> np.ndarray:
    """JPEG/PNG bytes -> BGR image, or BadData saying why not."""
    import cv2  # imported here so that the interface module stays light

    if not data:
        raise BadData("empty image")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise BadData(f"undecodable image ({len(data)} bytes, starts {data[:8]!r})")
    return image


# The one redaction helper lives in the core (alerting uses it too); this name stays for callers.
redact_url = redact
