"""Recall by native box width: the small-smoke benchmark's arithmetic."""

from pathlib import Path

import pytest

from detector.evaluate import GroundTruth, LabelledImage, best_score_on_truths, labelled_frames, recall_by_size, size_bucket
from detector.types import Detection


def test_buckets_cover_every_width():
    assert [size_bucket(w) for w in (0, 15.9, 16, 31.9, 32, 63.9, 64, 5000)] == ["<16", "<16", "16-32", "16-32", "32-64", "32-64", ">64", ">64"]


def test_recall_by_size_counts_each_truth_in_its_bucket():
    small = GroundTruth("smoke", (0.10, 0.50, 0.11, 0.52))  # 12.8 px wide in a 1280 px frame
    medium = GroundTruth("smoke", (0.50, 0.50, 0.52, 0.52))  # 25.6 px
    large = GroundTruth("smoke", (0.20, 0.20, 0.40, 0.40))  # 256 px
    image = LabelledImage(
        Path("a.jpg"),
        1280,
        [small, medium, large],
        [
            Detection("smoke", 0.9, (0.50, 0.50, 0.52, 0.52)),  # exact on medium
            Detection("smoke", 0.9, (0.20, 0.20, 0.33, 0.40)),  # IoU 0.65 on large
            Detection("smoke", 0.1, small.box),  # below the threshold: not found
            Detection("fire", 0.9, small.box),  # wrong class: not found
        ],
    )
    rows = {r.bucket: r for r in recall_by_size([image], "smoke", 0.25)}
    assert rows["<16"].ground_truths == 1 and rows["<16"].recall_iou30 == 0.0
    assert rows["16-32"].recall_iou50 == 1.0
    assert rows[">64"].recall_iou50 == 1.0 and rows["32-64"].ground_truths == 0
    assert best_score_on_truths(image, "smoke") == pytest.approx(0.9)


def test_loose_box_counts_at_iou_30_only():
    truth = GroundTruth("smoke", (0.0, 0.0, 0.1, 0.1))
    loose = Detection("smoke", 0.5, (0.0, 0.0, 0.1, 0.25))  # IoU 0.4
    (row,) = [r for r in recall_by_size([LabelledImage(Path("b.jpg"), 640, [truth], [loose])], "smoke", 0.25) if r.ground_truths]
    assert (row.recall_iou50, row.recall_iou30) == (0.0, 1.0)


def test_labelled_frames_pairs_images_with_their_labels(tmp_path):
    (tmp_path / "labels").mkdir()
    for name in ("1_+00000.jpg", "2_+00060.jpg"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "labels" / "2_+00060.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    assert labelled_frames(tmp_path) == [(tmp_path / "2_+00060.jpg", tmp_path / "labels" / "2_+00060.txt")]


def test_sequence_replay_says_where_each_alert_before_ignition_was():
    """`pinewatch eval` names the frame and box of a false alert, so it can be looked at."""
    from detector.evaluate import replay_sequence
    from detector.pipeline import FrameJudge
    from detector.temporal import TemporalParams

    judge = FrameJudge([], 0.5, TemporalParams(window=4, min_hits=2, overlap_iou=0.3, release_misses=3, alert_score=0.25, min_mean_score=0))
    dish = Detection("smoke", 0.6, (0.37, 0.64, 0.41, 0.72))
    plume = Detection("smoke", 0.5, (0.05, 0.40, 0.09, 0.45))
    files = [Path(f"{1569440002 + 60 * k}_{offset:+06d}.jpg") for k, offset in enumerate((-120, -60, 0, 60, 120))]
    report = replay_sequence("seq", files, [[dish], [dish], [dish], [dish, plume], [dish, plume]], judge)
    assert report.alerts_before_ignition == 1
    assert report.false_alerts == ["1569440062_-00060.jpg smoke 0.60 0.370,0.640,0.410,0.720"]
    assert report.first_alert_offset_s == 120  # the plume, confirmed on its second frame


def test_an_alert_off_the_labelled_smoke_is_not_the_detection(tmp_path):
    """wc-s: a box on a foreground object after ignition once counted as '1 minute to detection'."""
    from detector.evaluate import replay_sequence, smoke_region
    from detector.pipeline import FrameJudge
    from detector.temporal import TemporalParams

    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "1569440182_+00060.txt").write_text("0 0.07 0.425 0.04 0.05\n1 0.9 0.9 0.1 0.1\n")  # smoke, and fire
    (labels / "1569440242_+00120.txt").write_text("0 0.08 0.42 0.06 0.08\n")
    region = smoke_region(labels)
    assert region == pytest.approx((0.05, 0.38, 0.11, 0.46))  # the smoke boxes' hull; fire is left out
    assert smoke_region(tmp_path / "none") is None

    def judge():
        return FrameJudge([], 0.5, TemporalParams(window=2, min_hits=2, overlap_iou=0.3, release_misses=3, alert_score=0.25, min_mean_score=0))

    roof = Detection("smoke", 0.6, (0.58, 0.86, 0.60, 0.92))
    plume = Detection("smoke", 0.5, (0.06, 0.40, 0.10, 0.45))
    files = [Path(f"{1569440002 + 60 * k}_{offset:+06d}.jpg") for k, offset in enumerate((-60, 0, 60, 120, 180))]
    frames = [[], [roof], [roof], [roof, plume], [roof, plume]]
    unchecked = replay_sequence("seq", files, frames, judge())
    assert unchecked.first_alert_offset_s == 60 and unchecked.misplaced_alerts == []  # the roof, taken for smoke
    checked = replay_sequence("seq", files, frames, judge(), region)
    assert checked.misplaced_alerts == ["1569440122_+00060.jpg smoke 0.60 0.580,0.860,0.600,0.920"]
    assert checked.first_alert_offset_s == 180 and checked.smoke_region == region  # the plume's second frame


def test_the_wc_s_labels_give_the_plume_at_the_left_edge():
    from detector.evaluate import smoke_region

    labels = Path(__file__).resolve().parents[3] / "shared" / "sequences" / "20190925_wc-s-mobo-c" / "labels"
    if not labels.is_dir():
        pytest.skip("../shared is not beside the checkout")
    x1, y1, x2, y2 = smoke_region(labels)
    assert x1 < 0.01 and x2 < 0.05 and 0.4 < y1 < y2 < 0.55  # not the foreground at x 0.58-0.60, y 0.86-0.92
