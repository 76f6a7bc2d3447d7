"""Small builders shared by the alerting tests."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np

from alerting import geo
from pinewatch.core.messages import BoxDetection, DetectionEvent, HealthEvent

T0 = datetime(2025, 7, 1, 6, 0, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def detection(
    camera_id: str = "tower-a",
    captured_at: datetime = T0,
    box: list[float] | None = None,
    score: float = 0.8,
    label: str = "smoke",
    event_id: str | None = None,
    evidence_path: str | None = None,
    extra: list[BoxDetection] | None = None,
) -> DetectionEvent:
    event_id = event_id or uuid.uuid4().hex
    return DetectionEvent(
        event_id=event_id,
        camera_id=camera_id,
        captured_at=captured_at,
        detections=[BoxDetection(label=label, score=score, box=box or [0.40, 0.30, 0.50, 0.45]), *(extra or [])],
        evidence_path=evidence_path or f"{camera_id}/{event_id}.jpg",
        frame_width=640,
        frame_height=480,
        model="test-model",
    )


def health(camera_id: str, status: str, when: datetime, detail: str = "") -> HealthEvent:
    return HealthEvent(camera_id=camera_id, at=when, status=status, detail=detail)


def x_of_bearing(azimuth_deg: float, fov_deg: float, bearing_deg: float) -> float:
    """Inverse of geo.bearing_of_x for a rectilinear lens."""
    angle = (bearing_deg - azimuth_deg + 180.0) % 360.0 - 180.0
    return 0.5 + math.tan(math.radians(angle)) / (2.0 * math.tan(math.radians(fov_deg) / 2.0))


def box_towards(camera: dict, latitude: float, longitude: float, half_width: float = 0.01) -> list[float]:
    """A box whose centre looks from `camera` at the point."""
    bearing = geo.initial_bearing(camera["latitude"], camera["longitude"], latitude, longitude)
    x = x_of_bearing(camera["azimuth_deg"], camera["fov_deg"], bearing)
    assert half_width < x < 1 - half_width, "the point is outside the camera's view"
    return [x - half_width, 0.40, x + half_width, 0.46]


def write_jpeg(root: Path, relative: str, colour: tuple[int, int, int] = (40, 90, 160)) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((48, 64, 3), colour, dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    path.write_bytes(encoded.tobytes())
    return path
