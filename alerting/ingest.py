"""Apply one decoded message to the store, in one transaction.

A detection event becomes frames of new or existing alerts (grouping.py), the
alerts get their bearing and, when other cameras see the same smoke, a located
point (geo.py); new alerts get their outbox rows. The event id is recorded in
the same transaction, so a redelivered event changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting import geo, incidents
from alerting import escalation
from alerting.escalation import Routing
from alerting.grouping import OpenAlert, group_detections, merged_label
from alerting.notify.outbox import Recipient, enqueue, recipients_from_config
from alerting.store.db import write_session
from alerting.store.models import Alert, AlertFrame, Camera, ProcessedEvent, utcnow
from pinewatch.core.config import AlertingConfig, FireDangerConfig
from pinewatch.core.live import centre_masked
from pinewatch.core.messages import DetectionEvent, HealthEvent


@dataclass(frozen=True)
class Rules:
    alert_window: timedelta
    triangulation_window: timedelta
    max_range_m: float
    bearing_error_deg: float
    recipients: tuple[Recipient, ...]
    routing: Routing | None = None  # issue 12: groups, levels, escalation (None: plain recipients only)

    @classmethod
    def from_config(cls, alerting: AlertingConfig, fire_danger: FireDangerConfig | None = None) -> Rules:
        return cls(
            alert_window=timedelta(seconds=alerting.alert_window_s),
            triangulation_window=timedelta(seconds=alerting.triangulation_window_s),
            max_range_m=alerting.triangulation_max_range_m,
            bearing_error_deg=alerting.bearing_error_deg,
            recipients=tuple(recipients_from_config(alerting.notify)),
            routing=Routing.from_config(alerting.notify, fire_danger or FireDangerConfig()),
        )


@dataclass
class IngestResult:
    duplicate: bool = False
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)


def ingest_detection(factory: sessionmaker[Session], event: DetectionEvent, rules: Rules) -> IngestResult:
    result = IngestResult()
    with write_session(factory) as session:
        if session.get(ProcessedEvent, event.event_id) is not None:
            result.duplicate = True
            return result
        camera = _camera(session, event.camera_id)
        if camera.last_seen is None or event.captured_at > camera.last_seen:
            camera.last_seen = event.captured_at
        # A worker applies a new operator mask a second or two after the verdict; what it sent
        # meanwhile (or spooled before) at the masked place must not open a new alert.
        polygons = [mask.polygon for mask in camera.masks]
        detections = [d for d in event.detections if not centre_masked(list(d.box), polygons)]
        candidates = session.scalars(
            select(Alert).where(
                Alert.camera_id == camera.id,
                Alert.last_seen >= event.captured_at - rules.alert_window,
                Alert.first_seen <= event.captured_at + rules.alert_window,
            )
        ).all()
        by_id = {alert.id: alert for alert in candidates}
        views = [OpenAlert(a.id, a.first_seen, a.last_seen, list(a.box), a.status, a.status_at) for a in candidates]
        touched: list[Alert] = []
        for group in group_detections(detections, event.captured_at, views, rules.alert_window):
            best = group.best
            if group.alert_id is None:
                alert = _open_alert(session, camera, event, best.label, best.score, best.box)
                enqueue(session, alert.id, "new", list(rules.recipients))
                escalation.opened(session, alert, camera, rules.routing)  # the day's level, area groups (issue 12)
                result.created.append(alert.id)
            else:
                alert = by_id[group.alert_id]
                _join(alert, event, best.label, best.score, best.box)
                result.updated.append(alert.id)
            _keep_before(alert, event)
            session.add(
                AlertFrame(
                    alert_id=alert.id,
                    event_id=event.event_id,
                    captured_at=event.captured_at,
                    label=best.label,
                    score=best.score,
                    box=list(best.box),
                    evidence_path=event.evidence_path,
                    frame_width=event.frame_width,
                    frame_height=event.frame_height,
                    model=event.model,
                )
            )
            _set_bearing(alert, camera)
            touched.append(alert)
        session.add(ProcessedEvent(event_id=event.event_id))
        session.flush()
        for alert in touched:
            locate(session, alert, rules)
        for alert in touched:  # one fire seen by several cameras is one incident (issue 11)
            incidents.assign(session, alert, rules)
    return result


def apply_health(factory: sessionmaker[Session], event: HealthEvent) -> bool:
    """Record a camera's health change; an older event than the one applied changes nothing."""
    with write_session(factory) as session:
        camera = _camera(session, event.camera_id)
        if camera.last_seen is None or event.at > camera.last_seen:
            camera.last_seen = event.at
        if camera.status_at is not None and event.at <= camera.status_at:
            return False
        camera.status = event.status
        camera.status_detail = event.detail
        camera.status_at = event.at
        if event.frame_mode is not None and event.frame_mode != camera.frame_mode:  # issue 12: night / IR
            camera.frame_mode, camera.frame_mode_at = event.frame_mode, event.at
        camera.revision += 1
        camera.updated_at = utcnow()
        return True


def _camera(session: Session, camera_id: str) -> Camera:
    """The camera row; a camera not in the configuration is still recorded, never dropped."""
    camera = session.get(Camera, camera_id)
    if camera is None:
        camera = Camera(id=camera_id, name=camera_id, enabled=True, status="unknown", revision=0, status_detail="")
        session.add(camera)
        session.flush()
    return camera


def _open_alert(
    session: Session, camera: Camera, event: DetectionEvent, label: str, score: float, box: list[float]
) -> Alert:
    now = utcnow()
    alert = Alert(
        camera_id=camera.id,
        camera=camera,
        label=label,
        score=score,
        first_seen=event.captured_at,
        last_seen=event.captured_at,
        status="new",
        status_by="",
        frame_count=1,
        box=list(box),
        evidence_path=event.evidence_path,
        revision=1,
        created_at=now,
        updated_at=now,
    )
    session.add(alert)
    session.flush()  # the id, for the outbox rows
    return alert


def _join(alert: Alert, event: DetectionEvent, label: str, score: float, box: list[float]) -> None:
    if event.captured_at >= alert.last_seen:
        # The latest frame speaks for the alert: its box and evidence.
        alert.last_seen = event.captured_at
        alert.box = list(box)
        alert.evidence_path = event.evidence_path
    alert.first_seen = min(alert.first_seen, event.captured_at)
    alert.score = max(alert.score, score)
    alert.label = merged_label(alert.label, label)
    alert.frame_count += 1
    _touch(alert)


def _keep_before(alert: Alert, event: DetectionEvent) -> None:
    """The camera's last clean frame, sent with the first detection after it: the first one an alert
    gets stays (a later one may be a frame inside the same fire that the detector missed)."""
    if event.before_path is not None and alert.before_path is None:
        alert.before_path, alert.before_at = event.before_path, event.before_at


def _touch(alert: Alert) -> None:
    alert.revision += 1
    alert.updated_at = utcnow()


def camera_pose(camera: Camera) -> geo.CameraPose | None:
    values = (camera.latitude, camera.longitude, camera.azimuth_deg, camera.fov_deg)
    if any(v is None for v in values):
        return None
    return geo.CameraPose(*values)


def _set_bearing(alert: Alert, camera: Camera) -> None:
    pose = camera_pose(camera)
    if pose is None:
        return
    cone = geo.box_cone(pose, alert.box)
    alert.bearing_deg, alert.bearing_min_deg, alert.bearing_max_deg = cone.centre_deg, cone.min_deg, cone.max_deg


def _sighting(alert: Alert, error_deg: float) -> geo.Sighting | None:
    camera = alert.camera
    if alert.bearing_deg is None or camera.latitude is None or camera.longitude is None:
        return None
    cone = geo.Cone(alert.bearing_deg, alert.bearing_min_deg, alert.bearing_max_deg)
    return geo.Sighting(camera.id, camera.latitude, camera.longitude, geo.widen(cone, error_deg))


def locate(session: Session, alert: Alert, rules: Rules) -> None:
    """Triangulate the alert with other cameras' alerts of the window whose cones cross its cone.

    The estimate goes to every alert that took part; an alert whose cone no
    longer crosses any other loses its point.
    """
    primary = _sighting(alert, rules.bearing_error_deg)
    if primary is None:
        return
    others = session.scalars(
        select(Alert)
        .where(
            Alert.camera_id != alert.camera_id,
            Alert.status.not_in(("dismissed", "other_smoke")),  # not a wildfire: no point from it
            Alert.bearing_deg.is_not(None),
            Alert.last_seen >= alert.last_seen - rules.triangulation_window,
            Alert.first_seen <= alert.last_seen + rules.triangulation_window,
        )
        .order_by(Alert.last_seen.desc())
    ).all()
    partners: dict[str, tuple[Alert, geo.Sighting]] = {}
    for other in others:
        if other.camera_id in partners:
            continue  # the most recent crossing alert of each camera speaks for it
        sighting = _sighting(other, rules.bearing_error_deg)
        if sighting is not None and geo.triangulate([primary, sighting], rules.max_range_m) is not None:
            partners[other.camera_id] = (other, sighting)
    estimate = geo.triangulate([primary, *(s for _, s in partners.values())], rules.max_range_m)
    if estimate is None:
        _set_location(alert, None)
        return
    _set_location(alert, estimate)
    for other, _ in partners.values():
        if other.camera_id in estimate.camera_ids:
            _set_location(other, estimate)


def _set_location(alert: Alert, estimate: geo.Estimate | None) -> None:
    if estimate is None:
        values = (None, None, None, None)
    else:
        values = (
            round(estimate.latitude, 7),
            round(estimate.longitude, 7),
            round(estimate.uncertainty_m, 1),
            list(estimate.camera_ids),
        )
    current = (alert.latitude, alert.longitude, alert.uncertainty_m, alert.location_camera_ids)
    if current == values:
        return
    alert.latitude, alert.longitude, alert.uncertainty_m, alert.location_camera_ids = values
    _touch(alert)
