"""Quantise a model to int8 under each head policy and compare with fp32: accuracy and speed.

    .venv/bin/python benchmarks/quantize_check.py --model data/dev/yolov8n-dev.onnx \
        --images ../shared/datasets/afm-hpwren-smoke/images --out /tmp/int8

Calibration and evaluation frames are disjoint (every other frame of an evenly spaced pick).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np


def pick(images: list[Path], count: int, offset: int) -> list[Path]:
    step = max(len(images) // (2 * count), 1)
    return images[offset::step * 2][:count] if step > 1 else images[offset::2][:count]


def speed(paths: dict[str, Path], frame: np.ndarray, imgsz: int, threads: int, rounds: int) -> dict[str, float]:
    """Median per-frame inference ms for each model, runs interleaved so noise hits all alike."""
    from detector.preprocess import BatchBuffers, input_hw
    from detector.session import SessionOptions, open_session

    sessions = {name: open_session(SessionOptions(path, "cpu", threads)) for name, path in paths.items()}
    batch, _ = BatchBuffers(1).fill([frame], *input_hw(frame.shape[0], frame.shape[1], imgsz, 32, True))
    times: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(rounds):
        for name, session in sessions.items():
            start = time.perf_counter()
            session.run(batch)
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    from detector.training.quantize import compare_models, quantize_int8

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("/tmp/pinewatch-int8"))
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--calibration", type=int, default=64)
    parser.add_argument("--evaluate", type=int, default=40)
    parser.add_argument("--score-threshold", type=float, default=0.05)
    parser.add_argument("--policies", default="quantize-all,float-tail,float-tail-and-last-convs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    images = sorted(p for p in args.images.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    calibration, evaluation = pick(images, args.calibration, 0), pick(images, args.evaluate, 1)
    assert not set(calibration) & set(evaluation)
    args.out.mkdir(parents=True, exist_ok=True)
    paths = {"fp32": args.model}
    results = {}
    for policy in args.policies.split(","):
        target = args.out / f"int8-{policy}.onnx"
        start = time.perf_counter()
        report = quantize_int8(args.model, target, calibration, args.imgsz, head_policy=policy)
        agreement = compare_models(
            args.model, target, evaluation, args.imgsz, args.score_threshold, threads=args.threads
        )
        results[policy] = {"quantize_s": round(time.perf_counter() - start, 1), "excluded_nodes": report.excluded_nodes,
                           **{k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(agreement).items()}}
        print(policy, json.dumps(results[policy]), flush=True)
        paths[policy] = target
    frame = cv2.imread(str(evaluation[0]))
    timings = speed(paths, frame, args.imgsz, args.threads, args.rounds)
    for name, ms in timings.items():
        print(f"{name:28s} {ms:7.1f} ms/frame  x{timings['fp32'] / ms:.2f} vs fp32 (threads={args.threads})")


if __name__ == "__main__":
    main()
