"""The dataset recipe's pure parts: native-scale crops, synthetic small smoke, the review file, the split."""

import random

import numpy as np
import pytest

from detector.training.dataset import assign_splits, native_crops
from detector.training.review import REVIEW_FILE, read_review
from detector.training.synthetic import paste_smoke, random_paste, smoke_alpha


def test_native_crop_keeps_small_smoke_at_its_pixel_size():
    frame = np.zeros((1200, 1600, 3), np.uint8)
    label = (0, 0.5, 0.5, 20 / 1600, 12 / 1200)  # a 20 x 12 px plume
    crops = native_crops(frame, [label], 640, random.Random(0))
    assert len(crops) == 1
    crop, rows = crops[0]
    assert crop.shape[:2] == (640, 640)
    (_, cx, cy, w, h), = rows
    assert w * 640 == pytest.approx(20, abs=0.01) and h * 640 == pytest.approx(12, abs=0.01)


def test_no_crops_of_frames_that_already_fit():
    assert native_crops(np.zeros((480, 640, 3), np.uint8), [(0, 0.5, 0.5, 0.1, 0.1)], 640, random.Random(0)) == []


def test_pasted_plume_changes_only_its_box_and_is_reported_there():
    background = np.full((480, 640, 3), 100, np.uint8)
    smoke = np.full((40, 60, 3), 100, np.uint8)
    smoke[10:30, 20:40] = 230  # a bright plume on the crop's own background
    out, (x1, y1, x2, y2) = paste_smoke(background, smoke, 30, 300, 200, opacity=0.9)
    assert 300 <= x1 < x2 <= 330 and 200 <= y1 < y2 <= 220
    changed = np.argwhere(np.abs(out.astype(int) - background).sum(axis=2) > 0)
    assert changed[:, 1].min() >= x1 and changed[:, 1].max() < x2 and changed[:, 0].min() >= y1 and changed[:, 0].max() < y2
    assert out[y1:y2, x1:x2].mean() > 110  # the plume shows


def test_flat_crop_has_no_plume_and_is_refused():
    shape, _ = smoke_alpha(np.full((20, 20, 3), 80, np.uint8))
    assert shape.max() == 0
    flat = np.full((30, 30, 3), 120, np.uint8)
    assert random_paste(np.full((480, 640, 3), 120, np.uint8), flat, random.Random(1)) is None


def test_review_file_parses_and_smoke_rows_carry_boxes():
    review = read_review(REVIEW_FILE)
    assert review
    for row in review.values():
        if row.verdict == "smoke":
            x1, y1, x2, y2 = row.box
            assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1


def test_review_rejects_unknown_verdict(tmp_path):
    bad = tmp_path / "r.csv"
    bad.write_text("a.jpg,maybe,pool,0.3,\n")
    with pytest.raises(ValueError, match="verdict"):
        read_review(bad)


def test_legacy_items_keep_their_side_and_new_groups_split_alone():
    groups = [0, 0, 1, 2, 2] + list(range(10, 50)) + [1]
    sides = assign_splits(groups, legacy_count=5, legacy_val={1}, val_fraction=0.2, seed=0)
    assert sides[:5] == ["train", "train", "val", "train", "train"]
    assert sides[-1] == "val"  # a new near-duplicate of a legacy val image goes to val with it
    new = sides[5:-1]
    assert 0 < new.count("val") <= 0.2 * len(new) + 1
