"""When to take the next sample of a camera, and taking it.

Samples fall on a fixed grid (phase + k * interval), so a slow read does not make the
camera drift; slots missed because a read or the detector was slow are skipped and counted,
never made up in a burst. Cameras get evenly spread phases so that 200 of them do not all
ask the detector at the same instant. After a failed read the source is closed, and the next
try waits for the later of the next slot and an exponential backoff (with jitter), so an
unreachable camera is asked less and less often (up to reconnect_max_s).
"""

from __future__ import annotations

import math
import threading
import time

from streams.backoff import Backoff
from streams.sources.base import Frame, Source, SourceEnded, SourceError


def spread_phase(index: int, count: int, interval_s: float) -> float:
    """Start offset of camera `index` of `count`: evenly spread over one interval."""
    return interval_s * index / max(1, count)


class Sampler:
    """Reads one frame per slot from a source. Used by one camera thread."""

    def __init__(
        self, source: Source, interval_s: float, phase_s: float, backoff: Backoff, stop: threading.Event, clock=time.monotonic
    ) -> None:
        self.source = source
        self.interval_s = interval_s
        self.backoff = backoff
        self.stop = stop
        self.clock = clock
        self.next_due = clock() + phase_s
        self.skipped_slots = 0
        self.reading_since: float | None = None  # set while inside source.read(): the watchdog looks at it

    def take_skipped(self) -> int:
        """Slots skipped since the last call."""
        skipped, self.skipped_slots = self.skipped_slots, 0
        return skipped

    def wait_for_slot(self) -> bool:
        """Sleep until the next slot; False if asked to stop meanwhile."""
        if not self.source.paced:
            return not self.stop.is_set()
        delay = self.next_due - self.clock()
        if delay > 0:
            return not self.stop.wait(delay)
        return not self.stop.is_set()

    def read(self) -> Frame:
        """Take the sample for this slot. Raises SourceError (after scheduling the retry) or SourceEnded."""
        self.reading_since = self.clock()
        try:
            frame = self.source.read()
        except SourceEnded:
            raise
        except SourceError:
            self.source.close()
            self._advance(not_before=self.clock() + self.backoff.next_delay(), count_skipped=False)
            raise
        finally:
            self.reading_since = None
        self.backoff.reset()
        self._advance(not_before=self.clock())
        return frame

    def _advance(self, not_before: float, count_skipped: bool = True) -> None:
        """Move to the first grid slot at or after `not_before`; slots skipped for slowness are counted
        (those skipped on purpose by the backoff are not)."""
        if not self.source.paced:
            self.next_due = not_before
            return
        following = self.next_due + self.interval_s
        if not_before > following:
            missed = math.ceil((not_before - following) / self.interval_s - 1e-9)
            if count_skipped:
                self.skipped_slots += missed
            following += missed * self.interval_s
        self.next_due = following
