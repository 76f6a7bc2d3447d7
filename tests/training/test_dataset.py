"""The dataset recipe: VOC parsing, video names, near-duplicate grouping and the split."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.training.dataset import (
    BuildSettings,
    build,
    difference_hash,
    group_near_duplicates,
    roboflow_video_name,
    split_groups,
    voc_to_yolo,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def test_voc_to_yolo(tmp_path):
    xml = tmp_path / "a.xml"
    xml.write_text(
        "<annotation><filename>abc.jpeg</filename><size><width>640</width><height>480</height></size>"
        "<object><name>smoke</name><bndbox><xmin>448</xmin><ymin>196</ymin><xmax>539</xmax><ymax>241</ymax></bndbox></object>"
        "<object><name>cloud</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object>"
        "</annotation>"
    )
    stem, rows = voc_to_yolo(xml)
    assert stem == "abc"
    assert len(rows) == 1
    cls, cx, cy, w, h = rows[0]
    assert cls == 0
    assert cx == pytest.approx((448 + 539) / 2 / 640)
    assert cy == pytest.approx((196 + 241) / 2 / 480)
    assert w == pytest.approx(91 / 640) and h == pytest.approx(45 / 480)


def test_roboflow_video_name():
    assert roboflow_video_name("1-Zenmuse_X4S_1_1_mp4-1000_jpg.rf.d95a761e.jpg") == "1-Zenmuse_X4S_1_1_mp4"
    assert roboflow_video_name("yt-M97sJdyeEM4-0012_jpg.rf.aa.jpg") == "yt-M97sJdyeEM4"
    assert roboflow_video_name("fire-8448-02260381_png.rf.d18c.jpg") is None


def test_near_duplicates_share_a_group_and_the_split_keeps_groups_whole():
    rng = np.random.default_rng(0)
    scenes = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(40)]
    images, videos = [], []
    for scene in scenes:
        images.append(scene)
        noisy = np.clip(scene.astype(int) + rng.integers(-2, 3, scene.shape), 0, 255).astype(np.uint8)
        images.append(noisy)  # a near-duplicate of the frame before
        videos += [None, None]
    hashes = [difference_hash(cv2.resize(i, (640, 480))) for i in images]
    groups = group_near_duplicates(hashes, videos, max_distance=6)
    for a in range(0, len(images), 2):
        assert groups[a] == groups[a + 1]
    assert len(set(groups)) <= 40
    val = split_groups(groups, 0.2, seed=0)
    assert 0 < sum(g in val for g in groups) <= 0.2 * len(groups)
    for a in range(0, len(images), 2):
        assert (groups[a] in val) == (groups[a + 1] in val)


def test_same_video_joins_one_group():
    groups = group_near_duplicates([0, 2**63, 2**62, 12345], ["v", "v", None, None], max_distance=0)
    assert groups[0] == groups[1]
    assert len(set(groups)) == 3


@pytest.mark.slow
def test_build_from_shared(tmp_path):
    if not (SHARED / "datasets").exists():
        pytest.skip("../shared/datasets not beside the checkout")
    report = build(BuildSettings(shared=SHARED, out=tmp_path / "yolo", negatives=50, max_frames_per_video=20, synthetic=10))
    train = set(p.name for p in (tmp_path / "yolo/train/images").iterdir())
    val = set(p.name for p in (tmp_path / "yolo/val/images").iterdir())
    assert train and val and not (train & val)
    assert report["counts"]["val"]["smoke_boxes"] > 0
    assert (tmp_path / "yolo/data.yaml").read_text().count("smoke") == 1
    # The new sources arrive, and reviewed smoke found among the negatives is labelled, never a negative.
    assert report["counts"]["train"].get("from_fesb", 0) + report["counts"]["val"].get("from_fesb", 0) == 56
    assert report["counts"]["train"]["from_synthetic"] == 10
    from detector.training.review import read_review

    smoke_names = {name for name, row in read_review().items() if row.verdict == "smoke"}
    for split in ("train", "val"):
        for label in (tmp_path / "yolo" / split / "labels").glob("afm-negative__*.txt"):
            assert label.stem.split("__", 1)[1] + ".jpeg" not in smoke_names
