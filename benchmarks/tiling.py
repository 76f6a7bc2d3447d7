"""Tiling, kept only to measure it against a larger input (benchmarks/tiles_vs_input.py).

It left the runtime (the `detector.tiling` setting) because it measured worse: on the boxed
wc-s frames, 640-px tiles cost 2.5x the CPU time of one 1280-px input and found no more smoke
(benchmarks/TILES.md).

Shrinking a 4K frame to 640 px makes a distant plume 6x smaller; running overlapping tiles at
closer to native resolution keeps it visible. The whole frame runs too (in the same batch) so
that a plume larger than a tile is still seen whole, then class-wise NMS merges the lot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from detector.detector import Detector
from detector.postprocess import class_wise_nms
from detector.types import Detection


@dataclass(frozen=True, slots=True)
class Tile:
    """A crop of the frame in pixels: columns x0..x1, rows y0..y1 (end exclusive)."""

    x0: int
    y0: int
    x1: int
    y1: int


def axis_starts(length: int, tile: int, overlap: float) -> list[int]:
    """Start offsets of tiles covering 0..length with at least `overlap` (fraction of a tile) shared."""
    if tile >= length:
        return [0]
    count = math.ceil((length - tile) / (tile * (1 - overlap))) + 1
    step = (length - tile) / (count - 1)
    return [round(i * step) for i in range(count)]


def plan_tiles(width: int, height: int, tile_size: int, overlap: float) -> list[Tile]:
    """Square tiles of `tile_size` px (clipped to the frame) covering it with the given overlap."""
    if tile_size < 1:
        raise ValueError("tile_size must be >= 1")
    if not 0 <= overlap < 1:
        raise ValueError("overlap must be in [0, 1)")
    return [
        Tile(x0, y0, min(x0 + tile_size, width), min(y0 + tile_size, height))
        for y0 in axis_starts(height, tile_size, overlap)
        for x0 in axis_starts(width, tile_size, overlap)
    ]


def to_frame(detection: Detection, tile: Tile, width: int, height: int) -> Detection:
    """A detection normalised to its tile -> normalised to the whole frame."""
    tile_w, tile_h = tile.x1 - tile.x0, tile.y1 - tile.y0
    x1, y1, x2, y2 = detection.box
    box = (
        (tile.x0 + x1 * tile_w) / width,
        (tile.y0 + y1 * tile_h) / height,
        (tile.x0 + x2 * tile_w) / width,
        (tile.y0 + y2 * tile_h) / height,
    )
    return Detection(label=detection.label, score=detection.score, box=box)


def merge_detections(detections: list[Detection], iou_threshold: float) -> list[Detection]:
    """Class-wise NMS over detections from overlapping views, best score first."""
    if not detections:
        return []
    boxes = np.array([d.box for d in detections], dtype=np.float64)
    xywh = boxes.copy()
    xywh[:, 2:] -= boxes[:, :2]
    labels = sorted({d.label for d in detections})
    class_ids = np.array([labels.index(d.label) for d in detections], dtype=np.int64)
    scores = np.array([d.score for d in detections], dtype=np.float32)
    # NMS on normalised boxes: class offsets of 8192 keep classes apart just the same.
    kept = class_wise_nms(xywh, scores, class_ids, iou_threshold)
    return [detections[i] for i in kept]


def detect_tiled(detector: Detector, image: np.ndarray, tile_size: int, overlap: float) -> list[Detection]:
    """Detections on the whole frame plus its tiles, merged; boxes normalised to the whole frame."""
    height, width = image.shape[:2]
    tiles = plan_tiles(width, height, tile_size, overlap)
    if len(tiles) == 1:
        return detector.detect([image])[0]
    views = [image] + [image[t.y0 : t.y1, t.x0 : t.x1] for t in tiles]
    results = detector.detect(views)
    merged = list(results[0])
    for tile, tile_detections in zip(tiles, results[1:]):
        merged.extend(to_frame(d, tile, width, height) for d in tile_detections)
    return merge_detections(merged, detector.params.nms_iou)


# Tiles are this many model inputs wide, so a tile is shrunk at most 2x: a 1080p frame becomes
# 2 tiles + the whole frame (3 inferences), not the 7 that native-resolution tiles would cost.
TILE_SCALE = 2
TILE_OVERLAP = 0.2


def detect_frames(detector: Detector, images: list[np.ndarray], tiling: bool) -> list[list[Detection]]:
    """Detections per frame; with `tiling` (DetectorConfig.tiling), frames larger than
    TILE_SCALE x imgsz are also run as overlapping tiles."""
    if not tiling:
        return detector.detect(images)
    tile_size = TILE_SCALE * detector.params.imgsz
    return [detect_tiled(detector, image, tile_size, TILE_OVERLAP) for image in images]
