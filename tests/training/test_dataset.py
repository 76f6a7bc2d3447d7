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


def test_late_review_changes_train_only(tmp_path):
    """A later review round relabels or drops frames on the train side only, and adds new frames
    to train unless they duplicate a val image, so every run is measured on the same val."""
    from detector.training.dataset import Sample, apply_late_review

    images = SHARED / "datasets" / "afm-hpwren-smoke" / "images"
    if not images.exists():
        pytest.skip("../shared/datasets not beside the checkout")
    a, b, c, d, e, f = sorted(images.iterdir())[:6]
    review = tmp_path / "round2.csv"
    review.write_text(
        "# name,verdict,origin,top_score,box\n"
        f"{a.name},smoke,negatives,0.5,0.1 0.1 0.2 0.2\n"  # in train: relabelled
        f"{b.name},smoke,negatives,0.5,0.1 0.1 0.2 0.2\n"  # in val: left as it was
        f"{c.name},unsure,negatives,0.4,\n"  # in train: dropped
        f"{d.name},negative,pool,0.4,\n"  # new: a train hard negative
        f"{e.name},unsure,pool,0.3,\n"  # new and unsure: left out
        f"{b.name.replace(b.suffix, '')}-twin{b.suffix},negative,pool,0.3,\n"  # a near-duplicate of val: left out
    )
    twin = tmp_path / "shared" / "datasets" / "afm-hpwren-smoke" / "images"
    twin.mkdir(parents=True)
    for source in (d, e):
        (twin / source.name).symlink_to(source)
    (twin / f"{b.stem}-twin{b.suffix}").symlink_to(b)
    samples = [Sample(a, [], "afm-negative"), Sample(b, [], "afm-negative"), Sample(c, [], "afm-negative"), Sample(f, [], "afm-negative")]
    sides = ["train", "val", "train", "train"]
    hashes = [difference_hash(cv2.imread(str(s.image))) for s in samples]
    added, added_sides = apply_late_review(samples, sides, hashes, tmp_path / "shared", [review], hash_distance=6)
    assert samples[0].labels and samples[0].source == "afm-reviewed"
    assert samples[1].labels == [] and samples[1].source == "afm-negative"
    assert samples[2].extras.get("drop") and not samples[3].extras.get("drop")
    assert [(s.image.name, s.labels, s.source) for s in added] == [(d.name, [], "afm-hard-negative")]
    assert added_sides == ["train"]


@pytest.mark.slow
def test_later_review_rounds_leave_val_as_it_was(tmp_path):
    if not (SHARED / "datasets").exists():
        pytest.skip("../shared/datasets not beside the checkout")
    from detector.training.review import LATE_REVIEW_FILES, read_review

    every = 1 + len(LATE_REVIEW_FILES)
    folders = {}
    for rounds in (1, every):
        out = tmp_path / f"r{rounds}"
        build(BuildSettings(shared=SHARED, out=out, synthetic=0, review_rounds=rounds))
        folders[rounds] = {
            split: {p.name: p.read_text() for p in (out / split / "labels").iterdir()} for split in ("train", "val")
        }
    assert folders[1]["val"] == folders[every]["val"]
    late = {name: row for path in LATE_REVIEW_FILES for name, row in read_review(path).items()}

    def stems(split, source=None, labelled=None):
        return {
            name.split("__", 1)[1].rsplit(".", 1)[0]
            for name, text in folders[every][split].items()
            if (source is None or name.startswith(source + "__")) and (labelled is None or bool(text.strip()) == labelled)
        }

    def named(verdict, origin=None):
        return {n.rsplit(".", 1)[0] for n, row in late.items() if row.verdict == verdict and origin in (None, row.origin)}

    assert named("negative", "pool") & stems("train", "afm-hard-negative")  # new hard negatives arrive in train
    assert not named("unsure") & stems("train")  # unsure frames are not trained on either way
    assert named("smoke") & stems("train", labelled=True)  # later rounds' smoke is learnt as smoke, not as a negative
    assert not named("smoke") & stems("train", labelled=False)
    for path in LATE_REVIEW_FILES:  # every round adds frames
        assert {n.rsplit(".", 1)[0] for n, row in read_review(path).items() if row.verdict != "unsure"} & stems("train")


def test_an_unknown_review_round_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="review_rounds must be 1 to 3, not 4"):
        build(BuildSettings(shared=tmp_path, out=tmp_path / "yolo", review_rounds=4))
    assert not (tmp_path / "yolo").exists()
