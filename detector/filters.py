"""Per-camera detection filters: ignore masked places and implausibly large boxes."""

from __future__ import annotations

from collections.abc import Sequence

from detector.types import Detection

Polygon = Sequence[tuple[float, float]]


def point_in_polygon(x: float, y: float, polygon: Polygon) -> bool:
    """Even-odd ray casting; points exactly on an edge may fall either way."""
    inside = False
    count = len(polygon)
    for i in range(count):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % count]
        if (y1 > y) != (y2 > y):
            crossing_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < crossing_x:
                inside = not inside
    return inside


def apply_filters(detections: Sequence[Detection], masks: Sequence[Polygon], max_box_area: float) -> list[Detection]:
    """Drop detections centred inside a mask polygon or covering more than `max_box_area` of the frame.

    Masks and boxes are in normalised 0..1 frame coordinates. Big boxes are usually cloud
    banks or haze over the whole view, not a starting fire.
    """
    kept = []
    for detection in detections:
        if detection.area > max_box_area:
            continue
        cx, cy = detection.centre
        if any(point_in_polygon(cx, cy, polygon) for polygon in masks):
            continue
        kept.append(detection)
    return kept
