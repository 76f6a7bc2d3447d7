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
            "fps, p50/p95 latency, per-stage ms, peak RSS and cameras per box at 1 frame per 10 s, each row with the "
            "val mAP50 of its model, and the machine's state: load average and the CPU other processes took during "
            "each contender (flagged above 10 percent of a core; --strict refuses to report)."
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
    parser.add_argument("--imgsz", type=int, action="append",
                        help="input size to measure (repeatable, e.g. --imgsz 640 --imgsz 1280; default: detector.imgsz)")
    parser.add_argument("--pool", type=int, default=0, metavar="N",
                        help="also run the pinewatch path on a pool of N single-thread worker processes "
                        "(use --batch >= N so that every worker gets frames)")
    parser.add_argument("--no-overlap", action="store_true",
                        help="decode each batch before inferring it, instead of during the previous batch's inference")
    parser.add_argument("--strict", action="store_true",
                        help="refuse to report (exit 3) if other processes used more than 10%% of a core during any contender")
    parser.add_argument("--map50", action="append", default=[], metavar="PATH[@IMGSZ]=VALUE",
                        help="val mAP50 of a model (at an input size), printed on the rows that run it (repeatable)")
    parser.add_argument("--eval-json", type=Path, action="append", default=[], metavar="FILE",
                        help="`pinewatch eval --json` output: the val mAP50 of each model it measured")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the report as a markdown table")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def stale(document: dict) -> bool:
    """True when the evaluated file's recorded sha256 differs from the file now at its path."""
    from detector.training.export import sha256_of

    recorded, path = document.get("sha256"), Path(document["model"])
    return bool(recorded) and path.is_file() and sha256_of(path) != recorded


def read_map50(pairs: list[str], eval_files: list[Path]) -> dict[str, float]:
    """detector.bench.map50_key -> val mAP50, from PATH[@IMGSZ]=VALUE pairs and `pinewatch eval --json` files.

    An eval document names its model and imgsz: its figure applies to rows at that size only (a
    model's accuracy at 640 is not its accuracy at 1280). A document whose sha256 no longer
    matches the file at its path measured another model, and is skipped with a warning."""
    from detector.bench import map50_key

    found: dict[str, float] = {}
    for eval_file in eval_files:
        text = eval_file.read_text()
        documents = json.loads(text[text.index("["):])  # tolerate log lines before the JSON
        for document in documents:
            if not (document.get("val") and document["val"].get("map50") is not None):
                continue
            if stale(document):
                print(f"bench: {eval_file}: {document['model']} has changed since it was evaluated; "
                      "its val mAP50 is not used", file=sys.stderr)
                continue
            value = float(document["val"]["map50"])
            if document.get("imgsz") is not None:
                found[map50_key(document["model"], int(document["imgsz"]))] = value
            else:
                found.setdefault(map50_key(document["model"]), value)
    for pair in pairs:
        target, sep, value = pair.rpartition("=")
        if not sep or not target:
            raise ValueError(f"--map50 wants PATH[@IMGSZ]=VALUE, got {pair!r}")
        path, at, size = target.rpartition("@")
        found[map50_key(path, int(size)) if at and size.isdigit() else map50_key(target)] = float(value)
    return found


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
    from detector.bench import BenchBusy, BenchError, BenchOptions, default_sources, format_markdown, format_table, run_bench
    from streams import wiring
    from pinewatch.core.config import PROJECT_ROOT, load_settings

    settings = load_settings(args.config)
    if args.frames < 1 or args.batch < 1 or args.repeat < 1 or args.pool < 0:
        print("pinewatch bench: --frames, --batch and --repeat must be >= 1, --pool >= 0", file=sys.stderr)
        return 2
    if any(size < 32 or size % 32 for size in args.imgsz or []):
        print("pinewatch bench: --imgsz must be a multiple of 32", file=sys.stderr)
        return 2
    try:
        map50 = read_map50(args.map50, args.eval_json)
    except (OSError, ValueError, KeyError) as exc:
        print(f"pinewatch bench: cannot read val mAP50: {exc}", file=sys.stderr)
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
            imgsz=tuple(args.imgsz or ()),
            pool_workers=args.pool,
            overlap=not args.no_overlap,
            strict=args.strict,
            map50=map50,
        )
        report = run_bench(options)
    except BenchBusy as exc:
        print(f"pinewatch bench: {exc}", file=sys.stderr)
        return 3
    except (BenchError, FileNotFoundError) as exc:
        print(f"pinewatch bench: {exc}", file=sys.stderr)
        return 2
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(format_markdown(report))
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    if report["busy"]:
        print("pinewatch bench: the box was busy (see 'busy'); these figures are not quotable", file=sys.stderr)
    return 0
