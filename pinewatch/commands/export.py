"""`pinewatch export`: checkpoint -> ONNX fp32 (dynamic batch) + int8 QDQ calibrated on real frames."""

from __future__ import annotations

from pathlib import Path

from pinewatch.core.config import PROJECT_ROOT


def register(subparsers) -> None:
    from detector.training.quantize import MIN_CALIBRATION_FRAMES, add_recipe_arguments

    parser = subparsers.add_parser(
        "export",
        help="export a trained checkpoint to ONNX fp32 and int8 (train extra)",
        description="Write <out>/<name>.onnx (fp32, opset 17, dynamic batch) and <out>/<name>-int8.onnx "
        "(static int8 QDQ calibrated on real training-split tower frames), then SHA256SUMS. "
        "With --from-onnx, quantise an existing fp32 ONNX instead (int8 only, no checksums).",
    )
    parser.add_argument("--checkpoint", type=Path, default=PROJECT_ROOT / "runs" / "pinewatch" / "weights" / "best.pt")
    parser.add_argument("--from-onnx", type=Path, help="quantise this fp32 ONNX; skip the checkpoint export")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "models")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT / "data" / "yolo", help="dataset whose train split calibrates int8")
    parser.add_argument("--shared", type=Path, default=PROJECT_ROOT.parent / "shared", help="the shared data folder")
    parser.add_argument("--calibration-frames", type=int, default=MIN_CALIBRATION_FRAMES)
    parser.add_argument("--calibration-cache", type=Path, default=PROJECT_ROOT / "var" / "int8" / "cache",
                        help="activation ranges kept here, keyed by model, frames and method")
    parser.add_argument("--name", default="pinewatch-smoke")
    parser.add_argument("--int8-name", help="file name of the int8 model (default <name>-int8.onnx)")
    add_recipe_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args) -> int:
    import importlib.util

    from detector.training.quantize import MIN_CALIBRATION_FRAMES, calibration_frames, quantize_int8, recipe_from_args

    if args.calibration_frames < MIN_CALIBRATION_FRAMES:
        print(f"pinewatch export: --calibration-frames must be >= {MIN_CALIBRATION_FRAMES}")
        return 2
    # Tower-camera frames (AI For Mankind / HPWREN, all 640x480) of the training split only.
    try:
        calibration = calibration_frames(args.data, args.shared, args.calibration_frames)
    except (FileNotFoundError, ValueError) as exc:
        print(f"pinewatch export: {exc}")
        return 2
    if args.from_onnx is not None:
        fp32 = args.from_onnx
    else:
        if importlib.util.find_spec("ultralytics") is None:
            print("pinewatch export needs the train extra: make train-deps")
            return 2
        from detector.training.export import export_onnx

        fp32 = export_onnx(args.checkpoint, args.out / f"{args.name}.onnx", imgsz=args.imgsz, opset=args.opset)
        print(f"fp32: {fp32}")
    target = args.out / (args.int8_name or f"{args.name}-int8.onnx")
    if target.resolve() == Path(fp32).resolve():
        print("pinewatch export: the int8 output would overwrite the fp32 input")
        return 2
    report = quantize_int8(fp32, target, calibration, args.imgsz, recipe=recipe_from_args(args),
                           cache_dir=args.calibration_cache)
    print(f"int8: {report.out_path} ({report.calibration_frames} calibration frames, "
          f"{report.excluded_nodes} nodes kept in float, {recipe_from_args(args).label()})")
    if args.from_onnx is None:
        from detector.training.export import write_checksums

        print(f"checksums: {write_checksums(args.out)}")
    return 0
