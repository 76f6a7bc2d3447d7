"""The soak reads the worker's summary lines: a run that dropped frames after the warm-up is inconclusive."""

from datetime import datetime

from benchmarks.soak import detector_drops, dropped_after

LOG = """\
2026-12-07 05:54:34,266 INFO streams.worker: frames=3621 failures=0 dropped=169 skipped_slots=0 frozen=0 hung=0 detections=687 detector_dropped=169 detector_pending=60 spool=0 sent=887 p95_latency=4.10s
2026-12-07 05:54:40,000 INFO streams.levels: camera cam001: fire-danger level III on 2026-12-07
2026-12-07 05:55:34,462 INFO streams.worker: frames=4824 failures=0 dropped=176 skipped_slots=0 frozen=0 hung=0 detections=942 detector_dropped=176 detector_pending=3 spool=0 sent=1142 p95_latency=4.06s
2026-12-07 05:56:34,462 INFO streams.worker: frames=6024 failures=0 dropped=176 skipped_slots=0 frozen=0 hung=0 detections=1042 detector_dropped=176 detector_pending=0 spool=0 sent=1242 p95_latency=3.06s
"""


def test_summary_lines_give_the_running_drop_count():
    drops = detector_drops(LOG)
    assert [count for _, count in drops] == [169, 176, 176]
    assert drops[0][0] == datetime(2026, 12, 7, 5, 54, 34, 266000)


def test_drops_are_counted_from_the_first_summary_after_the_warm_up():
    drops = detector_drops(LOG)
    assert dropped_after(drops, datetime(2026, 12, 7, 5, 54)) == 7  # dropped during the measured part
    assert dropped_after(drops, datetime(2026, 12, 7, 5, 55)) == 0  # clean after the warm-up
    assert dropped_after(drops, datetime(2026, 12, 7, 5, 56)) is None  # one line: nothing to compare
