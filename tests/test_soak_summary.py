"""The soak reads the worker's summary lines: a run that dropped frames after the warm-up is inconclusive."""

from datetime import datetime

from benchmarks.soak import detector_drops, dropped_after, rss_growth

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


def _samples(values: list[float], every_s: float = 10.0) -> list[dict]:
    return [{"t_s": every_s * (n + 1), "worker_rss_mb": value} for n, value in enumerate(values)]


def test_growth_compares_window_medians_not_two_single_samples():
    # Flat at 500 MB with one allocator swing to 560 MB in the very last sample: the windows'
    # medians do not move, while last-against-first would have said +12 %.
    flat = _samples([500.0] * 59 + [560.0])
    growth = rss_growth(flat, window_s=100.0)
    assert growth["start_median_mb"] == growth["end_median_mb"] == 500.0
    assert growth["percent"] == 0.0


def test_steady_growth_is_caught_with_its_slope():
    rising = _samples([500.0 + n for n in range(60)])  # +1 MB every 10 s
    growth = rss_growth(rising, window_s=100.0)
    assert growth["percent"] > 5.0
    assert abs(growth["slope_mb_per_min"] - 6.0) < 1e-6
