import pytest

from detector.filters import apply_filters, point_in_polygon
from detector.pipeline import FrameJudge
from detector.temporal import TemporalParams
from detector.types import Detection

SQUARE = [(0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5)]
TRIANGLE = [(0.6, 0.6), (1.0, 0.6), (1.0, 1.0)]  # below-right diagonal half of the corner square


def det(box, score=0.9, label="smoke"):
    return Detection(label, score, box)


def test_point_in_polygon():
    assert point_in_polygon(0.25, 0.25, SQUARE)
    assert not point_in_polygon(0.75, 0.25, SQUARE)
    assert point_in_polygon(0.9, 0.7, TRIANGLE)
    assert not point_in_polygon(0.7, 0.9, TRIANGLE)  # inside the bounding box, outside the triangle
    concave = [(0, 0), (1, 0), (1, 1), (0.5, 0.2), (0, 1)]
    assert not point_in_polygon(0.5, 0.6, concave) and point_in_polygon(0.5, 0.1, concave)


def test_masks_drop_detections_centred_inside():
    inside = det((0.1, 0.1, 0.3, 0.3))
    straddling_but_centred_outside = det((0.3, 0.3, 0.9, 0.5))  # centre (0.6, 0.4)
    in_triangle = det((0.85, 0.65, 0.95, 0.75))
    outside = det((0.6, 0.1, 0.7, 0.2))
    kept = apply_filters([inside, straddling_but_centred_outside, in_triangle, outside], [SQUARE, TRIANGLE], 1.0)
    assert kept == [straddling_but_centred_outside, outside]


def test_max_box_area_drops_big_boxes():
    small, big = det((0, 0, 0.5, 0.5)), det((0, 0, 0.8, 0.8))  # 0.25 and 0.64 of the frame
    assert apply_filters([small, big], [], 0.5) == [small]
    assert apply_filters([small, big], [], 0.25) == [small]  # exactly at the limit is kept
    assert apply_filters([small, big], [], 0.2) == []


def test_frame_judge_combines_filters_and_vote():
    params = TemporalParams(window=3, min_hits=2, overlap_iou=0.1, release_misses=2, alert_score=0.5, min_mean_score=0.0)
    judge = FrameJudge(masks=[SQUARE], max_box_area=0.5, temporal=params)
    masked = det((0.1, 0.1, 0.2, 0.2))
    plume = det((0.6, 0.1, 0.7, 0.2))
    first = judge.judge([masked, plume])
    assert first.kept == [plume] and not first.confirmed and not first.new_alert and first.best is None
    second = judge.judge([masked, plume])
    assert second.confirmed and second.new_alert and second.best == plume
    # A masked place never alerts however long it persists.
    other = FrameJudge(masks=[SQUARE], max_box_area=0.5, temporal=params)
    assert not any(other.judge([masked]).new_alert for _ in range(5))
    with pytest.raises(ValueError):
        FrameJudge(masks=[], max_box_area=0, temporal=params)
