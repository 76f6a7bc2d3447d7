"""Sample slots on a fixed grid, skipping (and counting) missed ones; backoff after failures."""

from __future__ import annotations

import random
import threading

import pytest

from streams.backoff import Backoff
from streams.sampler import Sampler, spread_phase
from streams.sources.base import Frame, Source, SourceUnavailable, utc_now


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ScriptedSource(Source):
    """Answers from a script: a number of seconds a read takes, or an exception to raise."""

    def __init__(self, clock: Clock, script: list) -> None:
        self.camera_id = "cam"
        self.clock = clock
        self.script = list(script)
        self.closed = 0

    @property
    def max_read_s(self) -> float:
        return 5.0

    def read(self) -> Frame:
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        self.clock.now += step
        return Frame("cam", utc_now(), None)

    def close(self) -> None:
        self.closed += 1


def test_slots_stay_on_the_grid_and_missed_ones_are_counted():
    clock = Clock()
    source = ScriptedSource(clock, [0.5, 25.0, 0.1])
    sampler = Sampler(source, interval_s=10, phase_s=3, backoff=Backoff(1, 60), stop=threading.Event(), clock=clock)
    assert sampler.next_due == 3
    clock.now = 3
    sampler.read()
    assert sampler.next_due == 13 and sampler.take_skipped() == 0
    clock.now = 13
    sampler.read()  # took 25 s: slots 23 and 33 are gone
    assert sampler.next_due == 43 and sampler.take_skipped() == 2
    assert sampler.take_skipped() == 0


def test_a_failure_closes_the_source_and_backs_off_past_the_next_slot():
    clock = Clock()
    failures = [SourceUnavailable("down")] * 6
    source = ScriptedSource(clock, failures + [0.0])
    backoff = Backoff(4, 30, rng=random.Random(0))
    sampler = Sampler(source, interval_s=10, phase_s=0, backoff=backoff, stop=threading.Event(), clock=clock)
    gaps = []
    for _ in failures:
        clock.now = sampler.next_due
        with pytest.raises(SourceUnavailable):
            sampler.read()
        gaps.append(sampler.next_due - clock.now)
    assert source.closed == 6
    assert gaps[:2] == [10, 10]  # backoff (2-4 s, 4-8 s) shorter than the interval: next slot
    assert all(later >= earlier for earlier, later in zip(gaps, gaps[1:]))
    assert gaps[-1] == 30  # capped at 15-30 s, rounded up to the grid
    assert sampler.take_skipped() == 0  # slots skipped on purpose are not "missed"
    clock.now = sampler.next_due
    sampler.read()
    assert backoff.failures == 0


def test_backoff_grows_with_jitter_and_is_capped():
    backoff = Backoff(1, 8, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(6)]
    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings))


def test_phases_spread_cameras_over_one_interval():
    assert [spread_phase(i, 4, 10) for i in range(4)] == [0, 2.5, 5, 7.5]


def test_stop_interrupts_the_wait():
    stop = threading.Event()
    source = ScriptedSource(Clock(), [])
    sampler = Sampler(source, interval_s=3600, phase_s=3600, backoff=Backoff(1, 2), stop=stop)
    stop.set()
    assert sampler.wait_for_slot() is False
