"""Which alert does a detection belong to? Pure rules, no database.

A detection joins an alert of the same camera when it falls within the time
window around the alert (before its first or after its last frame) and its box
overlaps the alert's latest box. A dismissed, other-smoke or out alert is
closed: only frames captured before that verdict still join it (they were in
flight); later smoke at that place opens a new alert, because a real fire can
start where a false positive was, or flare up where one was put out. A
confirmed alert stays open: it keeps its frames until it is marked out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pinewatch.core.messages import BoxDetection

Box = list[float]
CLOSED = ("dismissed", "other_smoke", "out")  # alerting.store.models.CLOSED_STATUSES


@dataclass(frozen=True)
class OpenAlert:
    """What grouping needs to know of an existing alert."""

    id: int
    first_seen: datetime
    last_seen: datetime
    box: Box
    status: str
    status_at: datetime | None


@dataclass
class Group:
    """Detections of one frame that go to one alert; alert_id None means a new alert."""

    alert_id: int | None
    detections: list[BoxDetection] = field(default_factory=list)

    @property
    def best(self) -> BoxDetection:
        return max(self.detections, key=lambda d: d.score)


def boxes_overlap(a: Box, b: Box) -> bool:
    """True when the boxes share area (touching edges do not count)."""
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def overlap_area(a: Box, b: Box) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, width) * max(0.0, height)


def accepts(alert: OpenAlert, captured_at: datetime, box: Box, window: timedelta) -> bool:
    if alert.status in CLOSED and (alert.status_at is None or captured_at > alert.status_at):
        return False
    if not (alert.first_seen - window <= captured_at <= alert.last_seen + window):
        return False
    return boxes_overlap(alert.box, box)


def group_detections(
    detections: list[BoxDetection],
    captured_at: datetime,
    candidates: list[OpenAlert],
    window: timedelta,
) -> list[Group]:
    """Split one frame's detections between existing alerts and new ones.

    The strongest detections choose first; each goes to the accepting alert it
    overlaps most. Detections that no alert accepts but that overlap each other
    form one new alert together.
    """
    groups: list[Group] = []
    by_alert: dict[int, Group] = {}
    new_groups: list[tuple[Box, Group]] = []
    for detection in sorted(detections, key=lambda d: d.score, reverse=True):
        accepting = [a for a in candidates if accepts(a, captured_at, detection.box, window)]
        if accepting:
            chosen = max(accepting, key=lambda a: (overlap_area(a.box, detection.box), a.last_seen))
            group = by_alert.get(chosen.id)
            if group is None:
                group = by_alert[chosen.id] = Group(alert_id=chosen.id)
                groups.append(group)
            group.detections.append(detection)
            continue
        for seed_box, group in new_groups:
            if boxes_overlap(seed_box, detection.box):
                group.detections.append(detection)
                break
        else:
            group = Group(alert_id=None, detections=[detection])
            new_groups.append((detection.box, group))
            groups.append(group)
    return groups


def merged_label(current: str, incoming: str) -> str:
    """Fire outranks smoke: once flames are seen the alert is about fire."""
    return "fire" if "fire" in (current, incoming) else "smoke"
