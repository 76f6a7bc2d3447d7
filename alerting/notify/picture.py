"""The picture a notification carries: the evidence frame with the alert's box drawn on a copy.

Evidence is stored as captured (streams/evidence.py); the pages draw the box as an overlay, and
a Telegram or e-mail reader has no overlay, so the box goes onto the copy that is sent.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

JPEG_QUALITY = 90
_RED = (0, 0, 255)  # BGR


def draw_box(image: np.ndarray, box: list[float], text: str) -> np.ndarray:
    """A copy of the frame with the normalised [x1, y1, x2, y2] box in red and `text` on a tab above it."""
    canvas = image.copy()
    height, width = canvas.shape[:2]
    thickness = max(2, round(min(height, width) / 300))
    scale = max(0.5, min(height, width) / 900)
    x1, y1, x2, y2 = box
    p1 = (round(x1 * (width - 1)), round(y1 * (height - 1)))
    p2 = (round(x2 * (width - 1)), round(y2 * (height - 1)))
    cv2.rectangle(canvas, p1, p2, _RED, thickness)
    (text_w, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    top = max(0, p1[1] - text_h - baseline - 2)
    cv2.rectangle(canvas, (p1[0], top), (p1[0] + text_w + 4, top + text_h + baseline + 2), _RED, -1)
    cv2.putText(canvas, text, (p1[0] + 2, top + text_h + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def boxed_jpeg(path: Path, box: list[float], score: float) -> bytes | None:
    """The evidence JPEG with the box and the score as the pages print it ("0.87"); None if the file
    is gone (retention, a lost volume): the text still goes out. An undecodable file goes as it is."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        log.warning("evidence %s not readable, sending without it: %s", path, exc)
        return None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or len(box) != 4:
        return data
    ok, encoded = cv2.imencode(".jpg", draw_box(image, box, f"{score:.2f}"), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return encoded.tobytes() if ok else data
