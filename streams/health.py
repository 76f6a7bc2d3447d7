"""Camera health: online, offline, frozen or error, decided from what the camera gives us.

- online: the last sample was a good frame that differs from the ones before.
- frozen: `frozen_after` good samples in a row showing the same picture (see `same_picture`).
- offline: no good frame for `offline_after_s` and the camera cannot be reached.
- error: no good frame for `offline_after_s` and the camera answers with garbage or HTTP
  errors; or, at once, a read that hung (caught by the watchdog); or, while it lasts, a fault
  found by looking at several cameras together (a PTZ stuck on one view: streams/patrol.py).
The camera's frame mode (day, night_ir, low_light: streams/frame_mode.py) rides along: a change
of mode yields a HealthEvent too, with the status unchanged.
Silence is judged by the worker's supervisor (`tick`), not by the camera's own thread, so a
camera whose thread is stuck still turns offline. Every change of status yields one HealthEvent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import cv2
import numpy as np

from pinewatch.core.messages import FrameMode, HealthEvent

Status = Literal["online", "offline", "frozen", "error"]
FailureKind = Literal["unavailable", "bad_data", "hung"]

# A 32x32 grey thumbnail is the picture's fingerprint. Two samples show the same picture when
# the MEDIAN cell moved by less than this many grey levels: a live camera's noise moves every
# cell a little (>= 0.3 levels between real snapshots), a stuck one repeats its pixels exactly
# (0.0), and the median ignores a burnt-in clock or logo that still changes. A DCT perceptual
# hash cannot tell these apart: measured numbers in streams/README.md.
SAME_PICTURE_MAX_MEDIAN_DIFF = 0.02


def fingerprint(image: np.ndarray) -> np.ndarray:
    """32x32 float grey thumbnail, ~0.3 ms for a 1080p frame.

    A bilinear shrink to 256x256 first (an area shrink by an odd factor costs 6 ms at 1080p),
    then an exact 8x8 area average in float, so sub-level differences survive.
    """
    small = cv2.resize(image, (256, 256), interpolation=cv2.INTER_LINEAR)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    return cv2.resize(grey.astype(np.float32), (32, 32), interpolation=cv2.INTER_AREA)


def same_picture(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and float(np.median(np.abs(a - b))) < SAME_PICTURE_MAX_MEDIAN_DIFF


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    status: Status | None  # None until the first decision
    last_frame_at: datetime | None  # capture time of the last good frame
    detail: str
    frame_mode: FrameMode | None = None


class HealthTracker:
    """One camera's status; thread-safe (its sampler, the watchdog and the supervisor all report)."""

    def __init__(self, camera_id: str, offline_after_s: float, frozen_after: int, clock=time.monotonic) -> None:
        self.camera_id = camera_id
        self.offline_after_s = offline_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self.frozen_after = frozen_after
        self._previous: np.ndarray | None = None
        self._same_run = 0  # samples in a row showing the same picture
        self._status: Status | None = None
        self._detail = ""
        self._last_good = clock()  # silence is counted from start-up
        self._last_frame_at: datetime | None = None
        self._last_failure: FailureKind | None = None
        self._failure_detail = ""
        self._frame_mode: FrameMode | None = None
        self._fault: str | None = None  # set from outside (stuck PTZ); wins over online and frozen

    @property
    def status(self) -> Status | None:
        return self._status

    def snapshot(self) -> HealthSnapshot:
        with self._lock:
            return HealthSnapshot(self._status, self._last_frame_at, self._detail, self._frame_mode)

    def frame(self, fingerprint: np.ndarray, captured_at: datetime, now: datetime) -> HealthEvent | None:
        """A good frame arrived (its `fingerprint`); returns the event if the status changed."""
        with self._lock:
            self._last_good = self._clock()
            self._last_frame_at = captured_at
            self._last_failure = None
            repeated = self._previous is not None and same_picture(self._previous, fingerprint)
            self._same_run = self._same_run + 1 if repeated else 1
            self._previous = fingerprint
            if self._fault is not None:
                return self._change("error", self._fault, now)
            if self._same_run >= self.frozen_after:
                return self._change("frozen", f"the same picture for {self._same_run} samples in a row", now)
            return self._change("online", "", now)

    def failure(self, kind: FailureKind, detail: str, now: datetime) -> HealthEvent | None:
        """A read gave no frame. Only a hung read changes the status at once; the rest waits for `tick`."""
        with self._lock:
            self._last_failure = kind
            self._failure_detail = detail
            if kind == "hung":
                return self._change("error", detail, now)
            return None

    def tick(self, now: datetime) -> HealthEvent | None:
        """Called regularly by the supervisor: turns a long silence into offline or error."""
        with self._lock:
            silent_s = self._clock() - self._last_good
            if silent_s < self.offline_after_s:
                return None
            status: Status = "error" if self._last_failure in ("bad_data", "hung") else "offline"
            reason = self._failure_detail or "no answer"
            return self._change(status, f"no good frame for {silent_s:.0f}s: {reason}", now)

    def frame_mode(self, mode: FrameMode, now: datetime) -> HealthEvent | None:
        """The camera's mode now; an event when it changed and a status is known (else the next status event carries it)."""
        with self._lock:
            if mode == self._frame_mode:
                return None
            self._frame_mode = mode
            if self._status is None:
                return None
            return self._event(now)

    def fault(self, detail: str | None, now: datetime) -> HealthEvent | None:
        """Set (detail) or clear (None) a fault that keeps the camera in error while frames still arrive."""
        with self._lock:
            if detail == self._fault:
                return None
            self._fault = detail
            if detail is not None:
                return self._change("error", detail, now)
            if self._status == "error" and self._last_failure is None:  # the fault was the only trouble
                frozen = self._same_run >= self.frozen_after
                return self._change("frozen" if frozen else "online", "", now)
            return None

    def _change(self, status: Status, detail: str, now: datetime) -> HealthEvent | None:
        if status == self._status:
            return None
        self._status, self._detail = status, detail
        return self._event(now)

    def _event(self, now: datetime) -> HealthEvent:
        return HealthEvent(
            camera_id=self.camera_id, at=now, status=self._status, detail=self._detail[:500], frame_mode=self._frame_mode
        )
