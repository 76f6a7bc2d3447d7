"""Bare onnxruntime: threads x spinning x input shape (square 640 vs the 16:9 rectangle 384x640).

    .venv/bin/python benchmarks/session_options.py [MODEL] [--rounds 15]

Configurations run interleaved (one inference each, in turn), medians reported.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from detector.session import SessionOptions, open_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, nargs="?", default=Path("data/dev/yolov8n-dev.onnx"))
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    inputs = {shape: rng.random((1, 3, *shape), dtype=np.float32) for shape in ((640, 640), (384, 640))}
    configs = {
        (threads, spin): open_session(SessionOptions(args.model, "cpu", threads, allow_spinning=spin))
        for threads in (1, 2)
        for spin in (True, False)
    }
    times = {(c, s): [] for c in configs for s in inputs}
    for _ in range(args.rounds):
        for config, model in configs.items():
            for shape, tensor in inputs.items():
                start = time.perf_counter()
                model.run(tensor)
                times[(config, shape)].append((time.perf_counter() - start) * 1e3)
    print(f"{'threads':>8}{'spinning':>10}{'640x640 ms':>12}{'384x640 ms':>12}")
    for threads, spin in configs:
        row = [statistics.median(times[((threads, spin), shape)]) for shape in inputs]
        print(f"{threads:>8}{str(spin):>10}{row[0]:>12.1f}{row[1]:>12.1f}")


if __name__ == "__main__":
    main()
