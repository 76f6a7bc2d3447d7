"""`pinewatch eval --danger-levels` replays each configured fire-danger level's vote (issue 12)."""

from __future__ import annotations

from pathlib import Path

from detector.types import Detection
from pinewatch.core.config import Settings
from pinewatch.evaluation import _Cached, danger_level_rows


def test_each_level_is_replayed_with_its_own_vote():
    smoke = [Detection("smoke", 0.35, (0.4, 0.4, 0.5, 0.5))]
    # One minute a frame; ignition at frame 5; faint smoke (0.35) from then on; one stray box at frame 0.
    files = [Path(f"{1532815000 + 60 * i}_{60 * (i - 5):+06d}.jpg") for i in range(10)]
    detections = [smoke, [], [], [], [], *[smoke] * 5]
    cached = _Cached(clips={"nosmoke_test": [smoke, [], [], [], [], smoke]}, sequences={"seq_x": (files, detections)})
    settings = Settings()
    rows = {row["level"]: row for row in danger_level_rows(cached, settings.detector, settings)}
    assert list(rows) == ["I", "II", "III", "IV", "V"]
    assert rows["I"]["minutes_to_detection"] == {"seq_x": None}  # 0.35 never reaches level I's 0.4
    assert rows["III"]["minutes_to_detection"] == {"seq_x": 1.0} and rows["III"]["false_alerts_smoke_free_clips"] == 0
    assert rows["V"]["minutes_to_detection"] == {"seq_x": 0.0}  # one frame is enough on a level V day
    assert rows["V"]["false_alerts_smoke_free_clips"] == 2 and rows["V"]["alerts_before_ignition"] == 1
    assert rows["V"]["escalate_after_min"] < rows["I"]["escalate_after_min"]
