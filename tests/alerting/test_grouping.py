"""Grouping rules: which detections join which alert."""

from datetime import timedelta

from alerting.grouping import OpenAlert, boxes_overlap, group_detections, merged_label
from pinewatch.core.messages import BoxDetection
from tests.alerting.helpers import at

WINDOW = timedelta(minutes=30)
BOX = [0.40, 0.30, 0.50, 0.45]


def smoke(box, score=0.7):
    return BoxDetection(label="smoke", score=score, box=box)


def alert(id=1, first=0, last=10, box=BOX, status="new", status_at=None):
    return OpenAlert(id, at(first), at(last), box, status, status_at)


def test_overlap_needs_shared_area():
    assert boxes_overlap([0, 0, 0.5, 0.5], [0.4, 0.4, 0.9, 0.9])
    assert not boxes_overlap([0, 0, 0.5, 0.5], [0.5, 0.0, 0.9, 0.5])  # touching edges only
    assert boxes_overlap([0.1, 0.1, 0.9, 0.9], [0.3, 0.3, 0.4, 0.4])  # nested


def test_overlapping_within_window_joins():
    groups = group_detections([smoke([0.45, 0.35, 0.55, 0.5])], at(25), [alert()], WINDOW)
    assert [(g.alert_id, len(g.detections)) for g in groups] == [(1, 1)]


def test_after_window_opens_new_alert():
    groups = group_detections([smoke(BOX)], at(10 + 31), [alert()], WINDOW)
    assert [g.alert_id for g in groups] == [None]


def test_late_frame_before_first_seen_within_window_joins():
    groups = group_detections([smoke(BOX)], at(-5), [alert()], WINDOW)
    assert [g.alert_id for g in groups] == [1]


def test_elsewhere_in_frame_opens_new_alert():
    groups = group_detections([smoke([0.8, 0.1, 0.9, 0.2])], at(11), [alert()], WINDOW)
    assert [g.alert_id for g in groups] == [None]


def test_two_plumes_in_one_frame():
    detections = [smoke(BOX, 0.9), smoke([0.8, 0.1, 0.9, 0.2], 0.6), smoke([0.82, 0.12, 0.95, 0.25], 0.5)]
    groups = group_detections(detections, at(11), [alert()], WINDOW)
    assert [(g.alert_id, len(g.detections)) for g in groups] == [(1, 1), (None, 2)]
    assert groups[1].best.score == 0.6


def test_best_overlapping_alert_wins():
    near = alert(id=2, box=[0.44, 0.30, 0.60, 0.45])
    groups = group_detections([smoke([0.45, 0.30, 0.60, 0.45])], at(11), [alert(), near], WINDOW)
    assert [g.alert_id for g in groups] == [2]


def test_dismissed_alert_is_closed_to_later_frames():
    dismissed = alert(status="dismissed", status_at=at(12))
    assert [g.alert_id for g in group_detections([smoke(BOX)], at(13), [dismissed], WINDOW)] == [None]
    # A frame captured before the dismissal was in flight: it still belongs there.
    assert [g.alert_id for g in group_detections([smoke(BOX)], at(11), [dismissed], WINDOW)] == [1]


def test_fire_outranks_smoke():
    assert merged_label("smoke", "fire") == "fire"
    assert merged_label("fire", "smoke") == "fire"
    assert merged_label("smoke", "smoke") == "smoke"
