"""Raw YOLO output -> Detections: filter by score first, decode only survivors, class-wise NMS, map back.

The model emits [4 + classes, anchors] per image (cx, cy, w, h in input pixels, then class
scores). With 8400 anchors and a handful of survivors, thresholding before touching the boxes
keeps this well under a millisecond.
"""

from __future__ import annotations

import cv2
import numpy as np

from detector.preprocess import Letterbox
from detector.types import Detection

# Cap on boxes per frame kept after NMS (as ultralytics' max_det) and on candidates fed to NMS
# (as its max_nms): a pathological frame must not stall the pipeline.
MAX_DETECTIONS = 300
MAX_NMS_CANDIDATES = 30_000
# Class-wise NMS in one call: shift each class's boxes this far apart so boxes of different
# classes never overlap (larger than any input size).
_CLASS_OFFSET = 8192.0


def select_candidates(prediction: np.ndarray, score_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anchors whose best class score is above the threshold: (boxes cxcywh [k, 4], scores [k], class ids [k])."""
    class_scores = prediction[4:]
    best = class_scores.max(axis=0)
    keep = np.flatnonzero(best > score_threshold)
    if keep.size > MAX_NMS_CANDIDATES:
        keep = keep[np.argsort(-best[keep], kind="stable")[:MAX_NMS_CANDIDATES]]
    boxes = prediction[:4, keep].T
    class_ids = class_scores[:, keep].argmax(axis=0) if keep.size else np.empty(0, dtype=np.int64)
    return boxes, best[keep], class_ids


def class_wise_nms(
    boxes_xywh: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """Indices kept by per-class greedy NMS, best score first. Boxes are top-left x, y, w, h."""
    if scores.size == 0:
        return np.empty(0, dtype=np.int64)
    shifted = boxes_xywh.astype(np.float64, copy=True)
    shifted[:, :2] += class_ids[:, None] * _CLASS_OFFSET
    # No top_k: OpenCV applies it to the candidates BEFORE suppression, not to the survivors.
    kept = cv2.dnn.NMSBoxes(shifted, scores.astype(np.float32), 0.0, iou_threshold)
    return np.asarray(kept, dtype=np.int64).reshape(-1)[:MAX_DETECTIONS]


def to_frame_boxes(boxes_cxcywh: np.ndarray, letterbox: Letterbox) -> np.ndarray:
    """Model-input cx, cy, w, h -> normalised x1, y1, x2, y2 of the original frame, clipped to 0..1."""
    out = np.empty((boxes_cxcywh.shape[0], 4), dtype=np.float64)
    half_w, half_h = boxes_cxcywh[:, 2] / 2, boxes_cxcywh[:, 3] / 2
    out[:, 0] = boxes_cxcywh[:, 0] - half_w - letterbox.pad_x
    out[:, 1] = boxes_cxcywh[:, 1] - half_h - letterbox.pad_y
    out[:, 2] = boxes_cxcywh[:, 0] + half_w - letterbox.pad_x
    out[:, 3] = boxes_cxcywh[:, 1] + half_h - letterbox.pad_y
    out[:, 0::2] /= letterbox.scale * letterbox.width
    out[:, 1::2] /= letterbox.scale * letterbox.height
    np.clip(out, 0.0, 1.0, out=out)
    return out


def decode_image_output(
    prediction: np.ndarray,
    letterbox: Letterbox,
    class_names: tuple[str, ...],
    score_threshold: float,
    nms_iou: float,
) -> list[Detection]:
    """Detections of one image, best score first, from its [4 + classes, anchors] output."""
    if prediction.ndim != 2 or prediction.shape[0] != 4 + len(class_names):
        raise ValueError(f"expected [{4 + len(class_names)}, anchors] output, got {prediction.shape}")
    boxes, scores, class_ids = select_candidates(prediction, score_threshold)
    if scores.size == 0:
        return []
    top_left = boxes.copy()
    top_left[:, :2] -= boxes[:, 2:] / 2
    kept = class_wise_nms(top_left, scores, class_ids, nms_iou)
    frame_boxes = to_frame_boxes(boxes[kept], letterbox)
    return [
        Detection(label=class_names[int(c)], score=float(s), box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])))
        for b, s, c in zip(frame_boxes, scores[kept], class_ids[kept])
    ]


def decode_batch_output(
    output: np.ndarray,
    letterboxes: list[Letterbox],
    class_names: tuple[str, ...],
    score_threshold: float,
    nms_iou: float,
) -> list[list[Detection]]:
    if output.shape[0] < len(letterboxes):
        raise ValueError(f"model returned {output.shape[0]} results for {len(letterboxes)} frames")
    return [
        decode_image_output(output[i], box, class_names, score_threshold, nms_iou)
        for i, box in enumerate(letterboxes)
    ]
