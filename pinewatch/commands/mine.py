"""`pinewatch mine --model M --out DIR`: the unboxed AI For Mankind frames a model boxes, to review by eye."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from pinewatch.core.config import PROJECT_ROOT


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "mine",
        help="list the unreviewed, unboxed AFM frames a model boxes, with contact sheets to review them by eye",
        description=(
            "Run a model over the AFM frames that have no smoke box and that no review round "
            "(detector/training/afm_unboxed_review*.csv) has looked at. Write DIR/candidates.csv in the "
            "review files' format with the verdict left empty, and DIR/sheet-N.png, numbered crops around each "
            "box. Fill in the verdicts (smoke, negative, unsure) and commit the file as the next review round."
        ),
    )
    parser.add_argument("--model", type=Path, required=True, help="the ONNX model to mine with")
    parser.add_argument("--out", type=Path, required=True, help="folder for candidates.csv and the sheets")
    parser.add_argument("--min-score", type=float, default=0.25, help="the lowest top score that makes a frame a candidate")
    parser.add_argument("--imgsz", type=int, default=640, help="model input size, as detector.imgsz")
    parser.add_argument("--shared", type=Path, default=PROJECT_ROOT.parent / "shared", help="the shared data folder")
    parser.add_argument("--per-sheet", type=int, default=24, help="crops per contact sheet")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import cv2

    from detector.training.dataset import BuildSettings, afm_frames, random_negatives
    from detector.training.review import LATE_REVIEW_FILES, REVIEW_FILE, contact_sheet, mine, read_review
    from pinewatch.core.config import ConfigError, DetectorConfig
    from streams.wiring import open_detector

    afm = args.shared / "datasets" / "afm-hpwren-smoke"
    if not (afm / "images").is_dir():
        raise ConfigError(f"--shared: no {afm / 'images'}")
    if not args.model.is_file():
        raise ConfigError(f"--model: no file {args.model}")
    if not 0 < args.min_score < 1:
        raise ConfigError("--min-score must be in (0, 1)")
    seen = {name for path in (REVIEW_FILE, *LATE_REVIEW_FILES) for name in read_review(path)}
    _, unboxed = afm_frames(afm)
    negatives = {p.name for p in random_negatives(unboxed, BuildSettings(shared=args.shared, out=args.out))}
    images = [p for p in unboxed if p.name not in seen]
    detector = open_detector(DetectorConfig(imgsz=args.imgsz, score_threshold=args.min_score), args.model)
    candidates = mine(detector, images, args.min_score)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "candidates.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        handle.write(f"# {len(candidates)} of {len(images)} unreviewed unboxed AFM frames boxed at >= {args.min_score} by {args.model.name}\n")
        handle.write("# name,verdict,origin,score,box (fill in verdict: smoke, negative or unsure; a smoke box is x1 y1 x2 y2)\n")
        for c in candidates:
            origin = "negatives" if c.image.name in negatives else "pool"
            writer.writerow([c.image.name, "", origin, f"{c.score:.3f}", " ".join(f"{v:.4f}" for v in c.box)])
    for start in range(0, len(candidates), args.per_sheet):
        sheet = contact_sheet(candidates[start : start + args.per_sheet], first=start)
        cv2.imwrite(str(args.out / f"sheet-{start // args.per_sheet}.png"), sheet)
    print(f"{len(candidates)} of {len(images)} unreviewed unboxed frames boxed at >= {args.min_score}: {args.out / 'candidates.csv'}")
    return 0
