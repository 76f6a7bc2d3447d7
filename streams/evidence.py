"""Evidence JPEGs: each published detection's frame exactly as captured (no boxes burned in).

Boxes live in the message and the store; the pages draw them as an overlay that an operator can
switch off, and the notifications draw them on a copy at send time (alerting/notify/picture.py).
A clean picture is also what a training set needs (`pinewatch export-feedback`).

Files live under evidence_dir as <camera_id>/<YYYY-MM-DD>/<event_id>.jpg; messages carry that
relative path, so the alerting service can serve them from its own mount of the directory. The
camera's last frame before the smoke goes beside it as <event_id>_before.jpg.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

JPEG_QUALITY = 90  # evidence is looked at by people deciding whether to send a crew
BEFORE_SUFFIX = "_before"


def event_id(camera_id: str, captured_at: datetime) -> str:
    """Unique per camera and frame, so a redelivered event is recognised as the same one."""
    return f"{camera_id}_{captured_at:%Y%m%dT%H%M%S_%fZ}"


def relative_path(camera_id: str, captured_at: datetime, suffix: str = "") -> Path:
    return Path(camera_id) / f"{captured_at:%Y-%m-%d}" / f"{event_id(camera_id, captured_at)}{suffix}.jpg"


def encode_jpeg(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("cannot encode the frame as JPEG")
    return encoded.tobytes()


def write_jpeg(evidence_dir: Path, relative: Path, data: bytes) -> str:
    """Write JPEG bytes atomically (readers never see half a file); returns the relative path."""
    target = Path(evidence_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, target)
    return relative.as_posix()


def write_evidence(evidence_dir: Path, camera_id: str, captured_at: datetime, image: np.ndarray) -> str:
    """The frame as captured; returns its path relative to evidence_dir."""
    return write_jpeg(evidence_dir, relative_path(camera_id, captured_at), encode_jpeg(image))


def write_before(evidence_dir: Path, camera_id: str, captured_at: datetime, data: bytes) -> str:
    """The camera's last clean frame (already JPEG), named after the detection it goes with."""
    return write_jpeg(evidence_dir, relative_path(camera_id, captured_at, BEFORE_SUFFIX), data)
