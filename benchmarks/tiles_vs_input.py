"""Small smoke found per CPU-millisecond: tiles at 640 vs one larger input (the model issue's question).

For each way of looking at a frame, on the boxed wc-s frames (measure only) and on the val
images: recall of smoke boxes by native width (IoU >= 0.3) at the shipped threshold, and the
CPU time per frame (process time, all threads: robust to other load, unlike wall time).

    .venv/bin/python benchmarks/tiles_vs_input.py --model models/pinewatch-smoke.onnx
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2

from detector.machine import OthersCpu, machine_facts, process_ticks
from detector.evaluate import LabelledImage, labelled_frames, list_images, load_yolo_labels, recall_by_size
from pinewatch.core.config import PROJECT_ROOT, DetectorConfig
from streams.wiring import open_detector
from tiling import TILE_OVERLAP, detect_tiled  # benchmarks/tiling.py, beside this script

ROOT = PROJECT_ROOT


def _frames(shared: Path, data: Path) -> dict[str, list[tuple[Path, Path]]]:
    wcs = shared / "sequences" / "20190925_wc-s-mobo-c"
    val = data / "val"
    return {
        "wc-s boxed frames": labelled_frames(wcs, wcs / "labels"),
        "val": [(p, val / "labels" / f"{p.stem}.txt") for p in list_images(val / "images")],
    }


def measure(model: Path, how: str, pairs: list[tuple[Path, Path]], threshold: float) -> dict:
    imgsz = int(how.split()[-1])  # "input 960" -> 960; "tiles 640" -> 640
    detector = open_detector(DetectorConfig(imgsz=imgsz, model_path=model), model, score_threshold=threshold)
    images, cpu = [], 0.0
    others, before, started = OthersCpu(), process_ticks(), time.perf_counter()
    for path, label in pairs:
        frame = cv2.imread(str(path))
        start = time.process_time()
        dets = detect_tiled(detector, frame, 640, TILE_OVERLAP) if how == "tiles 640" else detector.detect([frame])[0]
        cpu += time.process_time() - start
        images.append(LabelledImage(path, frame.shape[1], load_yolo_labels(label, detector.class_names), dets))
    # CPU time is ours alone, but a busy box still slows it (caches, SMT): record who else ran.
    others.add(before, process_ticks(), time.perf_counter() - started)
    rows = recall_by_size(images, "smoke", threshold)
    found = sum(r.recall_iou30 * r.ground_truths for r in rows)
    boxes = sum(r.ground_truths for r in rows)
    return {
        "how": how,
        "frames": len(images),
        "cpu_ms_per_frame": 1e3 * cpu / max(len(images), 1),
        "recall_iou30": found / max(boxes, 1),
        "by_size": {r.bucket: [round(r.recall_iou30, 3), r.ground_truths] for r in rows if r.ground_truths},
        "boxes_found_per_cpu_s": found / max(cpu, 1e-9),
        "others": others.as_dict(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DetectorConfig().model_path)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "yolo")
    parser.add_argument("--threshold", type=float, default=DetectorConfig().score_threshold)
    parser.add_argument("--inputs", default="640,1280", help="long-side caps to compare with the tiles, comma-separated")
    parser.add_argument("--only-wcs", action="store_true", help="skip val (its frames are 640 px: every cap runs them alike)")
    parser.add_argument("--out", type=Path, help="also write the rows and the machine facts here (JSON)")
    args = parser.parse_args()
    report = {"model": str(args.model), "threshold": args.threshold, "machine_before": machine_facts(), "rows": []}
    ways = ["tiles 640"] + [f"input {int(size)}" for size in args.inputs.split(",")]
    for name, pairs in _frames(args.shared, args.data).items():
        if args.only_wcs and name == "val":
            continue
        for how in ways:
            row = {"set": name, **measure(args.model, how, pairs, args.threshold)}
            report["rows"].append(row)
            print(json.dumps(row), flush=True)
    report["machine_after"] = machine_facts()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
