"""`pinewatch mine`: the unreviewed unboxed frames a real model boxes, in a file the review reads back."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import pytest

from detector.temporal import iou
from detector.training.review import read_review
from pinewatch.cli import main

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
PLUME = "ck0k99e6p79go0944lmxivkmv.jpeg"  # an AFM frame with a hand-drawn smoke box (tests/test_shipped_model.py)


def test_mine_lists_the_boxed_frame_and_its_verdict_reads_back(tmp_path):
    source = SHARED / "datasets" / "afm-hpwren-smoke" / "images" / PLUME
    if not source.exists():
        pytest.skip("../shared is not beside the checkout")
    # A shared folder whose AFM set has no annotations: the plume frame and a smoke-free tower frame
    # are both unboxed, and neither is in a review file.
    images = tmp_path / "shared" / "datasets" / "afm-hpwren-smoke" / "images"
    images.mkdir(parents=True)
    (images.parent / "annotations").mkdir()
    shutil.copy(source, images / PLUME)
    clip = cv2.VideoCapture(str(ROOT / "sample_videos" / "nosmoke_hpwren_lyons_peak.mp4"))
    ok, frame = clip.read()
    clip.release()
    assert ok
    cv2.imwrite(str(images / "quiet.jpeg"), frame)

    out = tmp_path / "out"
    argv = ["mine", "--model", str(ROOT / "models" / "pinewatch-smoke.onnx"), "--shared", str(tmp_path / "shared"), "--out", str(out)]
    assert main(argv) == 0
    lines = (out / "candidates.csv").read_text().splitlines()
    assert lines[0].startswith("# 1 of 2 unreviewed unboxed AFM frames")
    rows = list(csv.reader(line for line in lines if not line.startswith("#")))
    assert [row[0] for row in rows] == [PLUME]
    name, verdict, origin, score, box = rows[0]
    assert verdict == "" and origin == "negatives" and float(score) >= 0.25
    truth = (448 / 640, 196 / 480, 539 / 640, 241 / 480)  # its VOC box
    assert iou(tuple(float(v) for v in box.split()), truth) > 0.3
    sheet = cv2.imread(str(out / "sheet-0.png"))
    assert sheet is not None and sheet.shape == (240, 960, 3) and sheet.any()

    # The reviewer fills in the verdict; the file is then a review round as the dataset reads it.
    filled = out / "round.csv"
    filled.write_text("\n".join(lines[:2] + [",".join([name, "smoke", origin, score, box])]) + "\n")
    reviewed = read_review(filled)[PLUME]
    assert reviewed.verdict == "smoke" and iou(reviewed.box, truth) > 0.3


def test_mine_names_a_missing_model(tmp_path, capsys):
    (tmp_path / "datasets" / "afm-hpwren-smoke" / "images").mkdir(parents=True)
    assert main(["mine", "--model", str(tmp_path / "none.onnx"), "--shared", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "--model: no file" in capsys.readouterr().err
