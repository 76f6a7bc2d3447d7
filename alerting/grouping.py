"""Which alert does a detection belong to? Pure rules, no database.

A detection joins an alert of the same camera when it falls within the time
window around the alert (before its first or after its last frame) and its box
overlaps the alert's latest box. A dismissed, other-smoke or out alert is
closed: only frames captured before that verdict still join it (they were in
flight); later smoke at that place opens a new alert, because a real fire can
start where a false positive was, or flare up where one was put out. A
confirmed alert stays open: it keeps its frames until it is marked out.

Incidents (one fire seen by several cameras) are grouped by the rules at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from alerting import geo
from pinewatch.core.messages import BoxDetection

Box = list[float]
CLOSED = ("dismissed", "other_smoke", "out")  # alerting.store.models.CLOSED_STATUSES
NOT_A_FIRE = ("dismissed", "other_smoke")  # verdicts after which an alert's cone says nothing of where a fire is


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


# --- incidents (issue 11): which alerts of different cameras are one fire? -------


@dataclass(frozen=True)
class Sight:
    """What incident grouping needs to know of an alert: its time span, its camera's cone
    towards the smoke (widened by the calibration error) and its own located point."""

    alert_id: int
    camera_id: str
    first_seen: datetime
    last_seen: datetime
    status: str
    sighting: geo.Sighting | None
    point: tuple[float, float, float] | None = None  # latitude, longitude, uncertainty_m


class IncidentRules(Protocol):
    """What grouping alerts into incidents reads of the alert rules (alerting.ingest.Rules has it)."""

    @property
    def triangulation_window(self) -> timedelta: ...
    @property
    def max_range_m(self) -> float: ...
    @property
    def bearing_error_deg(self) -> float: ...


def overlap_in_time(a: Sight, b: Sight, window: timedelta) -> bool:
    """The alerts' spans, each widened by the window, overlap."""
    return a.first_seen - window <= b.last_seen and b.first_seen - window <= a.last_seen


def same_fire(a: Sight, b: Sight, window: timedelta, max_range_m: float) -> bool:
    """Two cameras' alerts see one fire: within the window, their cones cross (cut at the
    farthest range a camera sees smoke), or their located points lie within each other's
    uncertainty. A closed alert (dismissed, other smoke, out) draws nothing in: smoke after it
    is a new fire. Alerts of one camera are kept apart here on purpose: the alert rules above
    split them, and they meet in one incident only through another camera."""
    if a.camera_id == b.camera_id or a.status in CLOSED or b.status in CLOSED:
        return False
    if not overlap_in_time(a, b, window):
        return False
    if a.sighting is not None and b.sighting is not None:
        if geo.triangulate([a.sighting, b.sighting], max_range_m) is not None:
            return True
    if a.point is not None and b.point is not None:
        distance = geo.haversine_m(a.point[0], a.point[1], b.point[0], b.point[1])
        return distance <= a.point[2] + b.point[2]
    return False


# Most pressing first: a burning fire, then what nobody has looked at, then what is being looked at.
INCIDENT_STATUS_ORDER = ("confirmed", "new", "acknowledged", "out", "other_smoke", "dismissed")


def incident_status(statuses: list[str]) -> str:
    """An incident's status is its most pressing alert's."""
    return min(statuses, key=INCIDENT_STATUS_ORDER.index) if statuses else "dismissed"


def incident_point(sights: list[Sight], max_range_m: float) -> geo.Estimate | None:
    """One point for an incident: its cameras' latest cones crossed (geo.triangulate keeps the
    cameras whose cones share a region). Dismissed and other-smoke alerts take no part; an
    alert marked out still says where the fire was."""
    latest: dict[str, Sight] = {}
    for sight in sights:
        if sight.sighting is None or sight.status in NOT_A_FIRE:
            continue
        known = latest.get(sight.camera_id)
        if known is None or (sight.last_seen, sight.alert_id) > (known.last_seen, known.alert_id):
            latest[sight.camera_id] = sight
    return geo.triangulate([s.sighting for s in latest.values()], max_range_m)
