"""`pinewatch export`: checkpoint -> ONNX fp32 (dynamic batch) + int8 QDQ calibrated on real frames."""

from __future__ import annotations

import random
from pathlib import Path

from pinewatch.core.config import PROJECT_ROOT


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a trained checkpoint to ONNX fp32 and int8 (train extra)",
        description="Write <out>/pinewatch-smoke.onnx (fp32, opset 17, dynamic batch) and "
        "<out>/pinewatch-smoke-int8.onnx (static int8 QDQ calibrated on real training frames), then SHA256SUMS.",
    )
    parser.add_argument("--checkpoint", type=Path, default=PROJECT_ROOT / "runs" / "pinewatch" / "weights" / "best.pt")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "models")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT / "data" / "yolo", help="dataset whose train images calibrate int8")
    parser.add_argument("--calibration-frames", type=int, default=96)
    parser.add_argument("--name", default="pinewatch-smoke")
    parser.set_defaults(func=_run)


def _run(args) -> int:
    import importlib.util

    if importlib.util.find_spec("ultralytics") is None:
        print("pinewatch export needs the train extra: make train-deps")
        return 2
    from detector.training.export import export_onnx, write_checksums
    from detector.training.quantize import quantize_int8

    fp32 = export_onnx(args.checkpoint, args.out / f"{args.name}.onnx", imgsz=args.imgsz, opset=args.opset)
    print(f"fp32: {fp32}")
    # Tower-camera frames (AI For Mankind / HPWREN, all 640x480): the deployment's domain, and
    # percentile calibration needs frames of one input shape.
    train_images = args.data / "train" / "images"
    images = sorted(train_images.glob("afm*")) if train_images.exists() else []
    if not images:
        print(f"no calibration frames under {args.data}/train/images: run `pinewatch train --dataset-only` first")
        return 2
    calibration = random.Random(0).sample(images, min(args.calibration_frames, len(images)))
    report = quantize_int8(fp32, args.out / f"{args.name}-int8.onnx", calibration, args.imgsz)
    print(f"int8: {report.out_path} ({report.calibration_frames} calibration frames, {report.excluded_nodes} head nodes kept in float)")
    print(f"checksums: {write_checksums(args.out)}")
    return 0
