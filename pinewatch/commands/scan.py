"""`pinewatch scan PATH`: offline detection + temporal confirmation, through the live pipeline's code."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="detect smoke/fire in a video, an image folder or one image",
        description="Run the detector and the live pipeline's temporal confirmation over a video file, a folder "
        "of images (in capture-time order from the file names, else by name) or one image. Frame times come from file names such as "
        "1532815026_-00600.jpg or 2019_09_25T12_34_56.jpg, else from the video position or --interval.",
    )
    parser.add_argument("path", type=Path, help="video file, image folder or image")
    parser.add_argument("--json", action="store_true", help="one JSON object per line (frames and alerts)")
    parser.add_argument("--interval", type=float, default=None, metavar="SECONDS",
                        help="videos: sample one frame per SECONDS of video; images without a time in the name: seconds between frames")
    parser.add_argument("--config", type=Path, default=None, help="config file (detector and temporal sections)")
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: the configured one)")
    parser.set_defaults(func=_run)


def _run(args) -> int:
    from detector.media import MediaError
    from pinewatch.core.config import existing_file, load_settings
    from pinewatch.scan import ScanFrame, alert_record, frame_record, iter_frames
    from streams.frame_mode import CameraModes, ModeThresholds
    from streams.wiring import frame_judge, open_detector

    settings = load_settings(args.config)
    try:
        frames = iter_frames(args.path, args.interval)
    except (FileNotFoundError, MediaError) as exc:
        print(f"pinewatch scan: {exc}", file=sys.stderr)
        return 2
    if args.model is None:
        existing_file(settings.detector.model_path, "detector.model_path", "model file")
    thresholds = ModeThresholds(settings)  # night / IR frames run their own thresholds, as live (issue 12)
    detector = open_detector(settings.detector, args.model, score_threshold=thresholds.detector_floor)
    judge = frame_judge(settings.detector, settings.temporal)
    modes = CameraModes(thresholds, judge)
    totals = {"frames": 0, "with_detections": 0, "alerts": 0, "skipped": 0}

    def emit(record: dict) -> None:
        if args.json:
            print(json.dumps(record), flush=True)
        elif record["type"] == "alert":
            print(f"ALERT   frame {record['index']} {record['file'] or ''} {record['timestamp'] or ''} "
                  f"{record['label']} {record['score']:.2f} box={record['box']}", flush=True)
        elif record["detections"]:
            found = ", ".join(f"{d['label']} {d['score']:.2f}" for d in record["detections"])
            print(f"frame {record['index']} {record['file'] or ''} {record['timestamp'] or ''}: {found}", flush=True)

    for item in frames:
        if not isinstance(item, ScanFrame):
            totals["skipped"] += 1
            print(f"pinewatch scan: skipped frame {item.index} {item.file or ''}: {item.reason}", file=sys.stderr)
            continue
        modes.observe(item.image)
        judgement = judge.judge(modes.keep(detector.detect([item.image])[0]))
        totals["frames"] += 1
        totals["with_detections"] += bool(judgement.kept)
        emit(frame_record(item, judgement.kept))
        if judgement.new_alert and judgement.best is not None:
            totals["alerts"] += 1
            emit(alert_record(item, judgement.best))
    summary = (f"{totals['frames']} frames, {totals['with_detections']} with detections, "
               f"{totals['alerts']} alerts, {totals['skipped']} skipped (model {detector.provider}: {settings.detector.model_path if args.model is None else args.model})")
    print(summary, file=sys.stderr if args.json else sys.stdout)
    return 0
