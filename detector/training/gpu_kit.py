"""Train on a lent GPU machine in one device call (the model issue: "GPU when there is one").

The device tool sends this checkout, plus the ignored paths a call carries, 64 MiB in all,
to a machine that cannot reach the network, and brings back at most 8 files of 16 MiB.
The checkout alone is over that (the shipped ONNX files and the training checkpoints), so:

here, before the call (`scripts/gpu-train.sh pack`):
  pack     re-encode the built dataset (data/yolo; its images are links into ../shared, which
           does not travel) into var/gpu-kit/data at the best JPEG quality that fits, put the
           ultralytics wheels the device lacks into var/gpu-kit/wheels, and move every tracked
           file the run does not need (all but detector/, scripts/, .gitignore and the start weights) into
           var/gpu-stash/; it refuses a tree with uncommitted changes, so `git checkout -- .`
           can always undo it too
there (`scripts/gpu-train.sh run`, carrying var/gpu-kit):
  train    train from the start weights with a wall-clock budget, then leave best.pt, last.pt
           (both without optimizer state), results.csv and args.yaml at $OUT's top
here, after the call (`scripts/gpu-train.sh restore`):
  restore  move the stashed files back; git status is as it was before pack
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TRAVEL_LIMIT = 64 * 2**20  # the device tool's working-tree limit, carried paths included
MARGIN = 2 * 2**20  # for files that appear between pack and the call (logs, notes)
# What the device run reads, and .gitignore: without it the device tool would send .venv/ too.
RUN_NEEDS = ("detector/", "scripts/", ".gitignore")
# JPEG qualities tried, best first: the source frames are about quality 75, and the whole
# dataset is ~70 MiB at it, so some loss is the price of one call (~55 at ~50 MiB).
QUALITIES = (75, 70, 65, 60, 55, 50, 45)
# What the device lacks for `ultralytics` (its image has torch, torchvision, opencv, numpy,
# matplotlib, pillow, pyyaml, scipy, psutil, requests); polars: read_results_without_polars.
WHEELS = ("ultralytics", "ultralytics-thop")
DEVICE_PYTHON = "3.12"
MANIFEST = "stashed.json"


class KitError(RuntimeError):
    pass


@dataclass(frozen=True)
class Paths:
    root: Path  # the checkout

    @property
    def kit(self) -> Path:
        return self.root / "var" / "gpu-kit"

    @property
    def stash(self) -> Path:
        return self.root / "var" / "gpu-stash"


def _git(root: Path, *args: str) -> list[str]:
    out = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout
    return [line for line in out.split("\0") if line]


def travelling_files(root: Path) -> list[Path]:
    """Tracked files present in the working tree and untracked files git does not ignore."""
    names = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return [root / name for name in dict.fromkeys(names) if (root / name).is_file()]


def tree_size(root: Path, carried: list[Path] = ()) -> int:
    files = travelling_files(root) + [f for c in carried for f in ([c] if c.is_file() else c.rglob("*")) if f.is_file()]
    return sum(f.stat().st_size for f in files)


def stash_unneeded_files(root: Path, stash: Path, keep: set[Path]) -> list[str]:
    """Move the tracked files outside RUN_NEEDS (except `keep`) out of the tree; returns their paths."""
    if (stash / MANIFEST).exists():
        raise KitError(f"{stash / MANIFEST} exists: run restore first")
    if changed := _git(root, "status", "-z", "--porcelain", "--untracked-files=no"):
        raise KitError(f"commit or stash the changes first ({len(changed)} tracked files differ from HEAD)")
    keep = {k.resolve() for k in keep}
    moved = []
    for name in _git(root, "ls-files", "-z"):
        path = root / name
        if path.is_file() and not name.startswith(RUN_NEEDS) and path.resolve() not in keep:
            target = stash / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
            moved.append(name)
    stash.mkdir(parents=True, exist_ok=True)
    (stash / MANIFEST).write_text(json.dumps(moved, indent=1) + "\n")
    return moved


def restore_stash(root: Path, stash: Path) -> list[str]:
    manifest = stash / MANIFEST
    if not manifest.exists():
        return []
    moved = json.loads(manifest.read_text())
    for name in moved:
        if (root / name).exists():
            raise KitError(f"{name} is back in the tree already; compare it with {stash / name} by hand")
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(stash / name, root / name)
    manifest.unlink()
    return moved


def encode_dataset(data: Path, out: Path, quality: int) -> int:
    """YOLO dataset `data` (images may be links) -> `out` with JPEGs at `quality`; returns bytes written."""
    import cv2

    if out.exists():
        shutil.rmtree(out)
    written = 0
    for split in ("train", "val"):
        (out / split / "images").mkdir(parents=True)
        (out / split / "labels").mkdir(parents=True)
        for image in sorted((data / split / "images").iterdir()):
            frame = cv2.imread(str(image))
            if frame is None:
                raise KitError(f"cannot read {image}")
            ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise KitError(f"cannot encode {image}")
            (out / split / "images" / f"{image.stem}.jpg").write_bytes(encoded.tobytes())
            written += len(encoded)
            label = data / split / "labels" / f"{image.stem}.txt"
            if label.exists():  # a frame with no label file is a negative
                shutil.copy(label, out / split / "labels" / label.name)
                written += label.stat().st_size
    (out / "names.json").write_text(json.dumps(_names(data)) + "\n")
    return written


def encode_to_fit(data: Path, out: Path, budget: int) -> tuple[int, int]:
    """The best quality in QUALITIES whose encoding of `data` fits in `budget` bytes: (quality, bytes)."""
    for quality in QUALITIES:
        size = encode_dataset(data, out, quality)
        if size <= budget:
            return quality, size
    raise KitError(f"the dataset is {size / 2**20:.1f} MiB at quality {QUALITIES[-1]}; {budget / 2**20:.1f} MiB is left")


def _names(data: Path) -> dict[int, str]:
    import yaml

    return {int(k): v for k, v in yaml.safe_load((data / "data.yaml").read_text())["names"].items()}


def fetch_wheels(out: Path) -> list[Path]:
    """The pure-Python wheels of ultralytics that the device's Python lacks, at this venv's versions."""
    from importlib.metadata import version

    if out.exists():
        shutil.rmtree(out)  # an older version left here would make two, and pip there refuses both
    out.mkdir(parents=True)
    pins = [f"{name}=={version(name)}" for name in WHEELS]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
         "--python-version", DEVICE_PYTHON, "--implementation", "py", "-d", str(out), *pins],
        check=True,
    )
    return sorted(out.glob("*.whl"))


def pack(root: Path, data: Path, weights: Path) -> dict:
    paths = Paths(root)
    if not (data / "data.yaml").exists():
        raise KitError(f"no dataset at {data}: build it with `pinewatch train --dataset-only`")
    if not weights.is_file():
        raise KitError(f"start weights not found: {weights}")
    if not weights.is_relative_to(root):
        raise KitError(f"the start weights must be inside the checkout to travel: {weights}")
    wheels = fetch_wheels(paths.kit / "wheels")
    moved = stash_unneeded_files(root, paths.stash, keep={weights})
    try:
        budget = TRAVEL_LIMIT - MARGIN - tree_size(root, [paths.kit / "wheels"])
        quality, size = encode_to_fit(data, paths.kit / "data", budget)
    except BaseException:
        restore_stash(root, paths.stash)
        raise
    return {
        "quality": quality,
        "dataset_mib": round(size / 2**20, 1),
        "travelling_mib": round(tree_size(root, [paths.kit]) / 2**20, 1),
        "wheels": [w.name for w in wheels],
        "stashed_files": len(moved),
        "weights": str(weights.relative_to(root)),
    }


def write_data_yaml(kit_data: Path) -> Path:
    names = {int(k): v for k, v in json.loads((kit_data / "names.json").read_text()).items()}
    yaml_path = kit_data / "data.yaml"
    lines = [f"path: {kit_data.resolve()}", "train: train/images", "val: val/images", "names:"]
    lines += [f"  {i}: {name}" for i, name in sorted(names.items())]
    yaml_path.write_text("\n".join(lines) + "\n")
    return yaml_path


def read_results_without_polars() -> None:
    """Let ultralytics train where polars is missing, as on the device image.

    polars' wheels are 55 MB, more than a call can carry beside the dataset, and ultralytics
    uses it in training only to copy results.csv into each checkpoint (plots are off). Read
    that file with the csv module instead, into the same {column: [values]} form.
    """
    try:
        import polars  # noqa: F401

        return
    except ImportError:
        pass
    from ultralytics.engine.trainer import BaseTrainer

    from detector.training.curves import read_results

    def read_results_csv(trainer) -> dict[str, list[float]]:
        try:
            return read_results(Path(trainer.csv))
        except OSError:
            return {}

    BaseTrainer.read_results_csv = read_results_csv


def device_train(args: argparse.Namespace) -> Path:
    """Train into a run folder outside $OUT, then copy the four files worth bringing back."""
    from detector.training.train import TrainSettings, train

    read_results_without_polars()

    run_root = Path(args.runs)
    settings = TrainSettings(
        data_yaml=write_data_yaml(Path(args.kit) / "data"),
        weights=args.weights,
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        workers=args.workers,
        project=run_root,
        name=args.name,
        device=args.device,
        lr0=args.lr0,
        warmup_epochs=args.warmup_epochs,
        close_mosaic=args.close_mosaic,
        patience=args.patience,
        scale=args.scale,
        hours=args.hours,
    )
    train(settings)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run = run_root / args.name
    for source, target in (
        (run / "weights" / "best.pt", f"{args.name}-best.pt"),
        (run / "weights" / "last.pt", f"{args.name}-last.pt"),
        (run / "results.csv", f"{args.name}-results.csv"),
        (run / "args.yaml", f"{args.name}-args.yaml"),
    ):
        if source.exists():
            shutil.copy2(source, out / target)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("pack", help="here: dataset, wheels and stash, for one device call")
    p.add_argument("--root", type=Path, default=Path.cwd())
    p.add_argument("--data", type=Path, default=Path("data/yolo"))
    p.add_argument("--weights", type=Path, default=Path("models/training/pinewatch-run6-best.pt"))
    r = verbs.add_parser("restore", help="here: put the stashed files back")
    r.add_argument("--root", type=Path, default=Path.cwd())
    t = verbs.add_parser("train", help="on the device: train into --runs and copy the results to --out")
    t.add_argument("--kit", default="var/gpu-kit")
    t.add_argument("--out", default=os.environ.get("OUT", "var/gpu-out"))
    t.add_argument("--runs", default="/tmp/pinewatch-gpu-runs")
    t.add_argument("--name", default="pinewatch-gpu1")
    t.add_argument("--weights", default="models/training/pinewatch-run6-best.pt")
    t.add_argument("--device", default="0")
    t.add_argument("--imgsz", type=int, default=1024)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--workers", type=int, default=8)
    t.add_argument("--epochs", type=int, default=100, help="the schedule's length; --hours may end it sooner")
    t.add_argument("--hours", type=float, default=0.11, help="wall-clock budget for the epochs (0.11 h = 6.6 min)")
    t.add_argument("--lr0", type=float, default=0.0005)
    t.add_argument("--warmup-epochs", type=float, default=1.0)
    t.add_argument("--close-mosaic", type=int, default=5)
    t.add_argument("--patience", type=int, default=100)
    t.add_argument("--scale", type=float, default=0.9)
    args = parser.parse_args(argv)
    try:
        if args.verb == "pack":
            root = args.root.resolve()
            report = pack(root, (root / args.data).resolve(), (root / args.weights).resolve())
            print(json.dumps(report, indent=1))
        elif args.verb == "restore":
            root = args.root.resolve()
            print(json.dumps({"restored": restore_stash(root, Paths(root).stash)}, indent=1))
        else:
            print(device_train(args))
    except KitError as exc:
        print(f"gpu-kit: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
