"""The capacity benchmark's pass rule and its CPU accounting of the detector pool's processes."""

import subprocess
import sys
import time

import pytest

from benchmarks.capacity import backlog_flat, children_ticks, percentile
from detector.machine import process_cpu_seconds


def test_a_burst_that_drains_passes_and_a_growing_queue_fails():
    assert backlog_flat([0, 8, 3, 1, 0])
    assert backlog_flat([10, 14, 9, 8, 7])  # ends no higher than it began
    assert not backlog_flat([0, 4, 9, 20, 35])
    # A queue full all along is "flat"; the dropped-frame count is what fails such a run.
    assert backlog_flat([64, 64, 64])


def test_percentile_picks_a_measured_value():
    assert percentile([], 95) is None
    assert percentile([0.3, 0.1, 0.2], 50) == 0.2
    assert percentile([0.1] * 19 + [5.0], 100) == 5.0


def test_children_ticks_sees_a_started_child_and_forgets_it_when_it_ends():
    # The pool's CPU is read from the children that appear after the worker starts.
    before = set(children_ticks())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in set(children_ticks()) - before
    finally:
        child.kill()
        child.wait()
    assert child.pid not in children_ticks()


def test_process_cpu_seconds_counts_a_childs_work_and_names_a_gone_process():
    # The farm's and serve's CPU in the capacity table come from this reader.
    child = subprocess.Popen([sys.executable, "-c", "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\ntime.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while process_cpu_seconds(child.pid) < 0.4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert 0.4 <= process_cpu_seconds(child.pid) < 5
    finally:
        child.kill()
        child.wait()
    with pytest.raises(ProcessLookupError, match=str(child.pid)):
        process_cpu_seconds(child.pid)
