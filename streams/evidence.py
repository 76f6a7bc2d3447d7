"""Evidence JPEGs: the full frame with the boxes drawn, one file per published detection.

Files live under evidence_dir as <camera_id>/<YYYY-MM-DD>/<event_id>.jpg; messages carry that
relative path, so the alerting service can serve them from its own mount of the directory.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from detector.types import Detection

JPEG_QUALITY = 90  # evidence is looked at by people deciding whether to send a crew
_BEST = (0, 0, 255)  # red (BGR)
_OTHER = (0, 215, 255)  # amber


def event_id(camera_id: str, captured_at: datetime) -> str:
    """Unique per camera and frame, so a redelivered event is recognised as the same one."""
    return f"{camera_id}_{captured_at:%Y%m%dT%H%M%S_%fZ}"


def relative_path(camera_id: str, captured_at: datetime) -> Path:
    return Path(camera_id) / f"{captured_at:%Y-%m-%d}" / f"{event_id(camera_id, captured_at)}.jpg"


def draw_detections(image: np.ndarray, detections: list[Detection], best: Detection | None) -> np.ndarray:
    """A copy of the frame with each box and its label; the best box in red, the others amber."""
    canvas = image.copy()
    height, width = canvas.shape[:2]
    thickness = max(2, round(min(height, width) / 300))
    scale = max(0.5, min(height, width) / 900)
    for detection in sorted(detections, key=lambda d: d is best):  # best drawn last, on top
        x1, y1, x2, y2 = detection.box
        p1 = (round(x1 * (width - 1)), round(y1 * (height - 1)))
        p2 = (round(x2 * (width - 1)), round(y2 * (height - 1)))
        colour = _BEST if detection is best else _OTHER
        cv2.rectangle(canvas, p1, p2, colour, thickness)
        text = f"{detection.label} {detection.score:.2f}"
        (text_w, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = max(0, p1[1] - text_h - baseline - 2)
        cv2.rectangle(canvas, (p1[0], top), (p1[0] + text_w + 4, top + text_h + baseline + 2), colour, -1)
        cv2.putText(canvas, text, (p1[0] + 2, top + text_h + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def write_evidence(
    evidence_dir: Path, camera_id: str, captured_at: datetime, image: np.ndarray, detections: list[Detection], best: Detection | None
) -> str:
    """Write the annotated JPEG (atomically: readers never see half a file); returns its relative path."""
    relative = relative_path(camera_id, captured_at)
    target = Path(evidence_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(".jpg", draw_detections(image, detections, best), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError(f"cannot encode evidence for {camera_id}")
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(encoded.tobytes())
    os.replace(partial, target)
    return relative.as_posix()
