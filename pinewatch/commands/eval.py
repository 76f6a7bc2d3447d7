"""`pinewatch eval`: accuracy on val, false alerts on smoke-free clips, time to detection on timelapses."""

from __future__ import annotations

import json
from pathlib import Path

from pinewatch.core.config import PROJECT_ROOT


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="measure the detector (the model card's numbers)",
        description="Per-class precision, recall, F1 and mAP50 on the val split (rebuilt from the shared data "
        "with the training recipe's seed), false alerts on the smoke-free clips, and minutes from ignition to "
        "the first alert on the timelapse sequences, through the live pipeline's temporal confirmation.",
    )
    parser.add_argument("--model", type=Path, action="append", help="ONNX model (repeat to compare; default: the configured one)")
    parser.add_argument("--config", type=Path, default=None, help="config file (detector and temporal sections)")
    parser.add_argument("--shared", type=Path, default=PROJECT_ROOT.parent / "shared", help="the shared data folder")
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT / "data" / "yolo", help="the dataset folder (rebuilt if missing)")
    parser.add_argument("--imgsz", type=int, default=None, help="inference size (default: the configured one)")
    parser.add_argument("--skip-val", action="store_true", help="only clips and sequences")
    parser.add_argument("--sweep", action="store_true", help="also replay a grid of temporal settings (for calibration)")
    parser.add_argument("--danger-levels", action="store_true", help="also replay each fire-danger level's vote (fire_danger.levels)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(func=_run)


def _run(args) -> int:
    from detector.training.dataset import BuildSettings, build
    from pinewatch.core.config import load_settings
    from pinewatch.evaluation import evaluate_model, format_report

    settings = load_settings(args.config)
    dataset = None
    if not args.skip_val:
        if not (args.data / "val" / "images").exists():
            build(BuildSettings(shared=args.shared, out=args.data))
        dataset = args.data / "val"
    clips = sorted((args.shared / "clips").glob("nosmoke_*.mp4")) + sorted((PROJECT_ROOT / "sample_videos").glob("smoke_*.mp4"))
    sequences = sorted(p for p in (args.shared / "sequences").iterdir() if p.is_dir()) if (args.shared / "sequences").exists() else []
    results = []
    for model in args.model or [settings.detector.model_path]:
        evaluation = evaluate_model(model, settings, dataset, clips, sequences, imgsz=args.imgsz, sweep=args.sweep, shared=args.shared,
                                    danger_levels=args.danger_levels)
        results.append(evaluation)
        if not args.json:
            print(format_report(evaluation), flush=True)
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=1, default=str))
    return 0
