"""Micro-benchmarks of the detector's CPU stages, before/after each optimisation (one thread, median).

    .venv/bin/python benchmarks/micro.py [--runs 50]

- letterbox: the straightforward way (resize, copyMakeBorder, flip, transpose, /255 into a new
  array) vs detector.preprocess (resize into a reused buffer, one strided pass per channel into
  the preallocated batch tensor, only the padding strips filled), and cv2.dnn.blobFromImage.
- decode: full JPEG decode vs libjpeg DCT scaling (decode_image(reduce_to=imgsz)).
- postprocess: decode every anchor's box then threshold vs threshold first (detector.postprocess).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from detector.postprocess import class_wise_nms, decode_image_output
from detector.preprocess import PAD_VALUE, BatchBuffers, decode_image, input_hw, plan_letterbox


def interleaved_ms(cases: dict, runs: int) -> dict[str, float]:
    """Median ms of each variant, calls alternating so that box noise hits all variants alike."""
    for fn in cases.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def naive_letterbox(image: np.ndarray, input_h: int, input_w: int) -> np.ndarray:
    box, new_h, new_w = plan_letterbox(image.shape[0], image.shape[1], input_h, input_w)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    padded = cv2.copyMakeBorder(resized, box.pad_y, input_h - new_h - box.pad_y, box.pad_x,
                                input_w - new_w - box.pad_x, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    chw = np.ascontiguousarray(padded[:, :, ::-1].transpose(2, 0, 1))
    return (chw.astype(np.float32) / 255)[None]


def blob_letterbox(image: np.ndarray, input_h: int, input_w: int) -> np.ndarray:
    box, new_h, new_w = plan_letterbox(image.shape[0], image.shape[1], input_h, input_w)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    padded = cv2.copyMakeBorder(resized, box.pad_y, input_h - new_h - box.pad_y, box.pad_x,
                                input_w - new_w - box.pad_x, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return cv2.dnn.blobFromImage(padded, 1 / 255, swapRB=True)


def decode_all_first(prediction, letterbox, names, threshold, iou):
    """Box-first post-processing: convert all anchors, then filter (what filter-first avoids)."""
    boxes = prediction[:4].T.copy()
    scores_all = prediction[4:].T
    class_ids = scores_all.argmax(1)
    scores = scores_all[np.arange(len(class_ids)), class_ids]
    xywh = boxes.copy()
    xywh[:, :2] -= boxes[:, 2:] / 2
    keep = scores > threshold
    kept = class_wise_nms(xywh[keep], scores[keep], class_ids[keep], iou)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cold-allocator", action="store_true", help="skip the allocator warm-up")
    parser.add_argument("--image", default=str(Path(__file__).resolve().parents[2] / "shared" / "sequences" / "20180728_rm-w-mobo-c" / "1532815626_+00000.jpg"))
    args = parser.parse_args()
    cv2.setNumThreads(1)
    source = cv2.imread(args.image)
    if not args.cold_allocator:
        # Free one big block first: glibc then raises its mmap threshold and serves the naive
        # path's multi-MB temporaries from the heap, as in a long-running process. Without
        # this, every temporary is a fresh mmap with page faults (5-9 ms per letterbox).
        np.ones(16 << 20, np.uint8)  # freed at once; under glibc's 32 MiB cap for the threshold
    print(f"{'case':44s}{'ms':>8}")
    for width, height in ((1280, 720), (1920, 1080), (640, 480)):
        frame = cv2.resize(source, (width, height), interpolation=cv2.INTER_AREA)
        input_h, input_w = input_hw(height, width, 640, 32, rect=True)
        buffers = BatchBuffers(1)
        letterboxes = interleaved_ms({
            "naive": lambda: naive_letterbox(frame, input_h, input_w),
            "blobFromImage": lambda: blob_letterbox(frame, input_h, input_w),
            "detector.preprocess": lambda: buffers.fill([frame], input_h, input_w),
        }, args.runs)
        for name, ms in letterboxes.items():
            print(f"letterbox {width}x{height}->{input_w}x{input_h} {name:20s}{ms:8.2f}")
        data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
        reduced = decode_image(data, reduce_to=640)
        decodes = interleaved_ms({
            "full": lambda: decode_image(data),
            f"reduce_to=640 -> {reduced.shape[1]}x{reduced.shape[0]}": lambda: decode_image(data, reduce_to=640),
        }, args.runs)
        for name, ms in decodes.items():
            print(f"decode {width}x{height} {name:30s}{ms:8.2f}")

    # Post-processing on a realistic output: 2 classes, 8400 anchors, a few dozen above threshold.
    rng = np.random.default_rng(0)
    prediction = np.empty((6, 8400), np.float32)
    prediction[:2] = rng.uniform(0, 640, (2, 8400))
    prediction[2:4] = rng.uniform(4, 200, (2, 8400))
    prediction[4:] = rng.uniform(0, 0.05, (2, 8400))
    objects = rng.choice(8400, 40, replace=False)  # a few objects, each seen by some anchors
    prediction[4, objects] = rng.uniform(0.3, 0.9, 40)
    box, _, _ = plan_letterbox(720, 1280, 384, 640)
    names = ("smoke", "fire")
    print(f"post: {int((prediction[4:].max(0) > 0.25).sum())} of 8400 anchors over 0.25")
    posts = interleaved_ms({
        "post box-first (decode all, then filter)": lambda: decode_all_first(prediction, box, names, 0.25, 0.5),
        "post filter-first (detector.postprocess)": lambda: decode_image_output(prediction, box, names, 0.25, 0.5),
    }, args.runs)
    for name, ms in posts.items():
        print(f"{name:44s}{ms:8.3f}")


if __name__ == "__main__":
    main()
