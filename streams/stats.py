"""Counters and latency windows the worker logs and the load benchmark reads."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, fields


class LatencyWindow:
    """The last `size` latencies in seconds; thread-safe."""

    def __init__(self, size: int = 20_000) -> None:
        self._values: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self._values.append(seconds)

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile (q in 0..100), None when empty."""
        with self._lock:
            values = sorted(self._values)
        if not values:
            return None
        rank = max(0, min(len(values) - 1, round(q / 100 * len(values) + 0.5) - 1))
        return values[rank]

    def __len__(self) -> int:
        return len(self._values)


@dataclass
class CameraCounters:
    """What happened to one camera's samples. Updated by its own thread only (plus `hung` by the watchdog)."""

    frames: int = 0  # good frames read
    failures: int = 0  # reads that gave no frame (unreachable, timeout, garbage)
    bad_data: int = 0  # ... of which the camera answered with something unusable
    skipped_slots: int = 0  # sample slots missed because a read or the detector was slow
    dropped: int = 0  # frames the detector had no room or time for
    frozen_frames: int = 0  # good frames taken while the camera showed a frozen picture
    detections_published: int = 0
    evidence_failed: int = 0
    hung: int = 0  # reads abandoned by the watchdog

    def add(self, other: "CameraCounters") -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


@dataclass
class WorkerStats:
    cameras: dict[str, CameraCounters] = field(default_factory=dict)
    frame_latency: LatencyWindow = field(default_factory=LatencyWindow)  # capture -> detected, judged, events spooled
    detector_pending: int = 0  # frames waiting for the detector at the last supervisor check
    detector_pending_max: int = 0
    detector_dropped: int = 0  # all frames the batching service turned away
    spool_pending: int = 0  # messages waiting for Redis
    messages_sent: int = 0
    publish_lag: LatencyWindow = field(default_factory=LatencyWindow)  # spooled -> in Redis

    def totals(self) -> CameraCounters:
        total = CameraCounters()
        for counters in list(self.cameras.values()):
            total.add(counters)
        return total
