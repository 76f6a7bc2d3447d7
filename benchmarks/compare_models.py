"""Bare-session inference speed of several ONNX models on the same real frames, interleaved.

    .venv/bin/python benchmarks/compare_models.py MODEL_A.onnx MODEL_B.onnx [--threads 1] [--frames 20] [--rounds 3]

Each round runs every frame through every model, the model order rotating per frame; medians
per model and the ratio to the first model. For fp32 vs int8 on a shared, noisy box.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path

from detector.bench import load_frames
from detector.preprocess import BatchBuffers, decode_image, input_hw
from detector.session import SessionOptions, open_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "clips")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--imgsz", type=int, default=640)
    args = parser.parse_args()

    sessions = {m: open_session(SessionOptions(m, "cpu", args.threads)) for m in args.models}
    buffers = BatchBuffers(1)
    tensors = []
    for frame in load_frames([args.source], args.frames):
        image = decode_image(frame.jpeg)
        tensor, _ = buffers.fill([image], *input_hw(image.shape[0], image.shape[1], args.imgsz, 32, True))
        tensors.append(tensor.copy())
    times: dict[Path, list[float]] = {m: [] for m in sessions}
    orders = list(itertools.permutations(sessions))
    for index, tensor in enumerate(tensors * args.rounds):
        for model in orders[index % len(orders)]:
            time.sleep(0.005)
            start = time.perf_counter()
            sessions[model].run(tensor)
            times[model].append((time.perf_counter() - start) * 1e3)
    base = statistics.median(times[args.models[0]])
    print(f"threads {args.threads}, {len(tensors)} frames x {args.rounds} rounds, interleaved")
    for model, values in times.items():
        median = statistics.median(values)
        print(f"{model.name:32s} p50 {median:7.1f} ms  p95 {sorted(values)[int(len(values) * 0.95)]:7.1f} ms"
              f"  speed x{base / median:.2f}")


if __name__ == "__main__":
    main()
