"""`pinewatch bench`: frames per second of the detector path, against the bare session and ultralytics."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark the detector: bare session vs the pinewatch path (vs ultralytics)",
        description=(
            "Runs the contenders on the same real frames in one process, interleaved, and reports medians: "
            "fps, p50/p95 latency, per-stage ms, peak RSS and cameras per box at 1 frame per 10 s."
        ),
    )
    parser.add_argument("--config", type=Path, help="pinewatch YAML config (detector and temporal sections)")
    parser.add_argument(
        "--model", type=Path, help="ONNX model (default: detector.model_path, else models/pinewatch-smoke.onnx)"
    )
    parser.add_argument("--source", type=Path, action="append",
                        help="video, image or folder (repeatable; default: sample_videos/, else ../shared/clips)")
    parser.add_argument("--frames", type=int, default=50, help="frames to take from the sources (default 50)")
    parser.add_argument("--batch", type=int, default=1, help="frames per inference batch (default 1)")
    parser.add_argument("--repeat", type=int, default=1, help="passes over the frames (default 1)")
    parser.add_argument(
        "--provider", choices=["cpu", "cuda", "tensorrt", "openvino"], help="default: detector.provider"
    )
    parser.add_argument("--threads", type=int, help="intra-op threads, 0 = auto (default: detector.threads)")
    parser.add_argument("--peer", choices=["ultralytics"], help="also run YOLO(<fp32 ONNX>).predict (train extra)")
    parser.add_argument(
        "--peer-model", type=Path, help="ONNX for the peer (default: the fp32 sibling of an -int8 model)"
    )
    parser.add_argument("--peer-same-session", action="store_true",
                        help="give the peer's onnxruntime session pinewatch's options (threads, no spinning)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def resolve_model(explicit: Path | None, configured: Path, project_root: Path) -> Path:
    if explicit is not None:
        if not explicit.is_file():
            raise FileNotFoundError(f"model not found: {explicit}")
        return explicit
    for candidate in (configured, project_root / "models" / "pinewatch-smoke.onnx"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no model: neither {configured} nor models/pinewatch-smoke.onnx exists; pass --model PATH"
    )


def fp32_sibling(model: Path) -> Path:
    """models/x-int8.onnx -> models/x.onnx when it exists: the peer runs the fp32 export."""
    if model.stem.endswith("-int8"):
        sibling = model.with_name(model.stem[: -len("-int8")] + model.suffix)
        if sibling.is_file():
            return sibling
    return model


def run(args: argparse.Namespace) -> int:
    from detector.bench import BenchError, BenchOptions, default_sources, format_table, run_bench
    from streams import wiring
    from pinewatch.core.config import PROJECT_ROOT, load_settings

    settings = load_settings(args.config)
    if args.frames < 1 or args.batch < 1 or args.repeat < 1:
        print("pinewatch bench: --frames, --batch and --repeat must be >= 1", file=sys.stderr)
        return 2
    overrides = {"batch_size": args.batch}
    if args.provider is not None:
        overrides["provider"] = args.provider
    if args.threads is not None:
        overrides["threads"] = args.threads
    cfg = settings.detector.model_copy(update=overrides)
    try:
        model = resolve_model(args.model, cfg.model_path, PROJECT_ROOT)
        options = BenchOptions(
            session=wiring.session_options(cfg, model),
            detector=wiring.detector_params(cfg),
            temporal=wiring.temporal_params(settings.temporal),
            max_box_area=cfg.max_box_area,
            sources=args.source or default_sources(PROJECT_ROOT, PROJECT_ROOT.parent / "shared" / "clips"),
            frames=args.frames,
            peer=args.peer,
            peer_model=args.peer_model or (fp32_sibling(model) if args.peer else None),
            peer_same_session=args.peer_same_session,
            repeat=args.repeat,
        )
        report = run_bench(options)
    except (BenchError, FileNotFoundError) as exc:
        print(f"pinewatch bench: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0
