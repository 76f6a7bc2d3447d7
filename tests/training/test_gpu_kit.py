"""The GPU kit: what leaves the tree for a device call comes back, and the dataset fits the budget."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from detector.training.gpu_kit import (
    MANIFEST,
    QUALITIES,
    KitError,
    encode_to_fit,
    restore_stash,
    stash_unneeded_files,
    travelling_files,
    tree_size,
    write_data_yaml,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
AFM_IMAGES = SHARED / "datasets" / "afm-hpwren-smoke" / "images"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / "repo"
    for name, text in {
        ".gitignore": "/var/\n",
        "detector/training/train.py": "x = 1\n",
        "scripts/gpu-train.sh": "echo\n",
        "models/pinewatch-smoke.onnx": "m" * 5000,
        "models/training/run-best.pt": "w" * 3000,
        "models/training/run-last.pt": "l" * 9000,
        "README.md": "readme\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _git(root, "init", "-q")
    _git(root, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    return root


def test_stash_leaves_what_the_run_needs_and_restore_brings_back_the_rest(checkout):
    stash = checkout / "var" / "gpu-stash"
    before = tree_size(checkout)
    moved = stash_unneeded_files(checkout, stash, keep={checkout / "models/training/run-best.pt"})
    assert sorted(moved) == ["README.md", "models/pinewatch-smoke.onnx", "models/training/run-last.pt"]
    left = sorted(str(p.relative_to(checkout)) for p in travelling_files(checkout))
    assert left == [".gitignore", "detector/training/train.py", "models/training/run-best.pt", "scripts/gpu-train.sh"]
    assert tree_size(checkout) == before - 5000 - 9000 - len("readme\n")
    # A second pack before a restore would lose the manifest of the first.
    with pytest.raises(KitError, match="restore first"):
        stash_unneeded_files(checkout, stash, keep=set())
    assert sorted(restore_stash(checkout, stash)) == sorted(moved)
    assert not (stash / MANIFEST).exists()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=checkout, capture_output=True, text=True).stdout
    assert status == ""
    assert (checkout / "models/training/run-last.pt").read_text() == "l" * 9000


def test_stash_refuses_a_tree_with_uncommitted_changes(checkout):
    (checkout / "README.md").write_text("edited\n")
    with pytest.raises(KitError, match="commit or stash"):
        stash_unneeded_files(checkout, checkout / "var" / "gpu-stash", keep=set())
    assert (checkout / "models/pinewatch-smoke.onnx").exists()


def test_restore_will_not_overwrite_a_file_that_came_back_another_way(checkout):
    stash = checkout / "var" / "gpu-stash"
    stash_unneeded_files(checkout, stash, keep=set())
    _git(checkout, "checkout", "--", "README.md")
    with pytest.raises(KitError, match="README.md is back"):
        restore_stash(checkout, stash)


@pytest.mark.skipif(not AFM_IMAGES.is_dir(), reason="needs ../shared")
def test_the_dataset_is_encoded_at_the_best_quality_that_fits(tmp_path):
    data = tmp_path / "yolo"
    images = sorted(AFM_IMAGES.iterdir())[:6]
    for split, part in (("train", images[:4]), ("val", images[4:])):
        (data / split / "images").mkdir(parents=True)
        (data / split / "labels").mkdir(parents=True)
        for i, image in enumerate(part):
            (data / split / "images" / image.name).symlink_to(image)  # as the dataset builder links them
            if i % 2 == 0:  # the others are negatives: no label file
                (data / split / "labels" / f"{image.stem}.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (data / "data.yaml").write_text("path: x\ntrain: train/images\nval: val/images\nnames:\n  0: smoke\n  1: fire\n")
    out = tmp_path / "kit" / "data"

    best, best_size = encode_to_fit(data, out, budget=10**9)
    assert best == QUALITIES[0]
    smallest = QUALITIES[-1]
    _, small_size = encode_to_fit(data, out, budget=best_size - 1)
    assert small_size < best_size
    quality, size = encode_to_fit(data, out, budget=small_size)
    assert size <= small_size and quality in QUALITIES
    assert sum(f.stat().st_size for f in out.rglob("*") if f.suffix in (".jpg", ".txt")) == size
    assert sorted(p.name for p in (out / "train" / "labels").iterdir()) == [f"{images[0].stem}.txt", f"{images[2].stem}.txt"]
    assert cv2.imread(str(out / "val" / "images" / f"{images[5].stem}.jpg")).shape == cv2.imread(str(images[5])).shape
    with pytest.raises(KitError, match=f"quality {smallest}"):
        encode_to_fit(data, out, budget=1000)

    yaml_path = write_data_yaml(out)
    assert f"path: {out.resolve()}" in yaml_path.read_text() and "  1: fire" in yaml_path.read_text()
    assert json.loads((out / "names.json").read_text()) == {"0": "smoke", "1": "fire"}
    shutil.rmtree(out)


def test_without_polars_ultralytics_still_reads_its_results_csv(tmp_path):
    # The device image has no polars; a subprocess, so that blocking it here leaves this process alone.
    pytest.importorskip("ultralytics")  # the train extra
    results = tmp_path / "results.csv"
    results.write_text("epoch,metrics/mAP50(B)\n1,0.25\n2,0.5\n")
    code = (
        "import sys, types; sys.modules['polars'] = None\n"
        "from detector.training.gpu_kit import read_results_without_polars\n"
        "read_results_without_polars()\n"
        "from ultralytics.engine.trainer import BaseTrainer\n"
        f"trainer = types.SimpleNamespace(csv={str(results)!r})\n"
        "print(BaseTrainer.read_results_csv(trainer))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "{'epoch': [1.0, 2.0], 'metrics/mAP50(B)': [0.25, 0.5]}"
