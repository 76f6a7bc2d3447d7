"""Which night_ir score threshold works on AI For Mankind's IR (greyscale) tower frames.

Frames: every AFM image that streams.frame_mode.classify calls night_ir at the default
settings. Smoke frames: the boxed ones, plus unboxed ones reviewed as smoke
(detector/training/afm_unboxed_review.csv); unboxed frames reviewed "unsure" are left out;
the other unboxed frames count as smoke-free (not one of them drew a box >= 0.08 with the
run-1 model when the pool was reviewed, unless reviewed "negative" by eye).

For each threshold: smoke-free frames with any box at or above it (after the max_box_area
filter the worker applies), and smoke frames where a box at or above it overlaps the labelled
box (IoU >= 0.1, or one inside the other). Counted over all frames and over the frames the
model never trained on (its val split, or not in its dataset at all), because the split is
decided by detector/training/dataset.py and most boxed frames are in train. The split is read
from --data, the dataset folder the model trained on: build it with the model's recipe first
(`pinewatch train --dataset-only` and the options models/MODEL_CARD.md gives; the recipe the
folder holds is printed with the tables). Colour (day) AFM frames are measured the same way for
comparison.

    nice -n 19 .venv/bin/python benchmarks/night_ir.py [--model M] [--data data/yolo] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from detector.filters import apply_filters
from detector.media import read_image
from detector.temporal import contains, iou
from detector.training.dataset import voc_to_yolo
from detector.training.review import read_review
from pinewatch.commands.train import RECIPE_FILE
from pinewatch.core.config import DetectorConfig, FrameModeConfig
from streams import wiring
from streams.frame_mode import classify, measure

THRESHOLDS = (0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50)
FLOOR = 0.05
MATCH_IOU = 0.1


def dataset_sides(data: Path) -> dict[str, str]:
    """AFM image name -> 'train' | 'val' in a dataset folder built by detector/training/dataset.py."""
    sides = {}
    for side in ("train", "val"):
        for image in (data / side / "images").glob("afm*__*"):
            sides[image.name.split("__", 1)[1]] = side
    if not sides:
        raise SystemExit(f"night_ir: no AFM images under {data}/train or {data}/val; build the model's dataset first")
    return sides


def dataset_recipe(data: Path) -> str:
    recipe = data / RECIPE_FILE
    return json.dumps(json.loads(recipe.read_text()), sort_keys=True) if recipe.is_file() else "unknown"


def labelled_afm(shared: Path) -> list[tuple[Path, list[tuple[float, float, float, float]] | None]]:
    """(image, smoke boxes as x1 y1 x2 y2; [] = smoke-free) for every AFM image; 'unsure' ones left out."""
    afm = shared / "datasets" / "afm-hpwren-smoke"
    boxes: dict[str, list] = {}
    for xml in sorted((afm / "annotations").glob("*.xml")):
        stem, rows = voc_to_yolo(xml)
        boxes[stem] = [(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2) for c, cx, cy, w, h in rows if c == 0]
    review = read_review()
    out = []
    for image in sorted((afm / "images").iterdir()):
        if image.stem in boxes:
            out.append((image, boxes[image.stem]))
            continue
        verdict = review.get(image.name)
        if verdict is not None and verdict.verdict == "unsure":
            continue
        out.append((image, [verdict.box] if verdict is not None and verdict.verdict == "smoke" else []))
    return out


def found(box, truth) -> bool:
    return any(iou(box, t) >= MATCH_IOU or contains(box, t) or contains(t, box) for t in truth)


def measure_all(shared: Path, data: Path, model: Path | None, threads: int) -> dict:
    config = DetectorConfig(threads=threads)
    detector = wiring.open_detector(config, model, score_threshold=FLOOR)
    modes = FrameModeConfig()
    sides = dataset_sides(data)
    rows = []
    started = time.monotonic()
    for image_path, truth in labelled_afm(shared):
        image = read_image(image_path)
        if image is None:
            continue
        mode = classify(measure(image), modes)
        if mode == "low_light":
            continue  # none in AFM at the defaults; reported if that ever changes
        kept = apply_filters(detector.detect([image])[0], [], config.max_box_area)
        smoke = [d for d in kept if d.label == "smoke"]
        rows.append(
            {
                "name": image_path.name,
                "mode": mode,
                "smoke": bool(truth),
                "side": sides.get(image_path.name, "unused"),
                "top_any": max((d.score for d in smoke), default=0.0),
                "top_match": max((d.score for d in smoke if found(d.box, truth)), default=0.0) if truth else 0.0,
            }
        )
    return {"rows": rows, "seconds": time.monotonic() - started}


def table(rows: list[dict], title: str) -> list[str]:
    free = [r for r in rows if not r["smoke"]]
    smoke = [r for r in rows if r["smoke"]]
    unseen = [r for r in rows if r["side"] != "train"]
    free_u = [r for r in unseen if not r["smoke"]]
    smoke_u = [r for r in unseen if r["smoke"]]
    lines = [
        f"**{title}**: {len(free)} smoke-free, {len(smoke)} smoke frames; not trained on by the model: "
        f"{len(free_u)} smoke-free, {len(smoke_u)} smoke.",
        "",
        "| threshold | smoke-free frames with a box | smoke frames found | not trained on: smoke-free with a box | not trained on: smoke found |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]

    def frac(hit: int, total: int) -> str:
        return f"{hit}/{total} ({100 * hit / total:.0f} %)" if total else "-"

    for t in THRESHOLDS:
        lines.append(
            f"| {t:.2f} | {frac(sum(r['top_any'] >= t for r in free), len(free))} "
            f"| {frac(sum(r['top_match'] >= t for r in smoke), len(smoke))} "
            f"| {frac(sum(r['top_any'] >= t for r in free_u), len(free_u))} "
            f"| {frac(sum(r['top_match'] >= t for r in smoke_u), len(smoke_u))} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: the shipped fp32)")
    parser.add_argument("--data", type=Path, default=Path("data/yolo"), help="the dataset folder the model trained on")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="write the tables (Markdown) here; default: print")
    parser.add_argument("--rows", type=Path, default=None, help="write each frame's mode, side and top scores here (JSON)")
    args = parser.parse_args(argv)
    result = measure_all(args.shared, args.data, args.model, args.threads)
    rows = result["rows"]
    ir = [r for r in rows if r["mode"] == "night_ir"]
    day = [r for r in rows if r["mode"] == "day"]
    sides = {s: sum(r["side"] == s for r in ir) for s in ("train", "val", "unused")}
    lines = [
        f"Model {args.model or 'models/pinewatch-smoke.onnx'}; dataset {args.data} (recipe {dataset_recipe(args.data)}).",
        f"IR frames by that dataset's split: {sides['train']} train, {sides['val']} val, {sides['unused']} not in it.",
        "",
        *table(ir, "night_ir (greyscale) AFM frames"),
        "",
        *table(day, "day (colour) AFM frames, for comparison"),
        "",
        f"({len(rows)} frames in {result['seconds']:.0f} s, {args.threads} thread(s), detector floor {FLOOR})",
    ]
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
    if args.rows:
        args.rows.write_text(json.dumps(rows, indent=1))
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
