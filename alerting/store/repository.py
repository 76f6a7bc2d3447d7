"""Queries and operator actions on the store: alert lists, verdicts, cameras."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from alerting.notify.outbox import Recipient, enqueue
from alerting.store.db import write_session
from alerting.store.models import Alert, Camera, CameraMask, Notification, Verdict, utcnow
from pinewatch.core.config import CameraConfig

# new -> acknowledged -> confirmed | dismissed; an operator may skip acknowledging.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"acknowledged", "confirmed", "dismissed"}),
    "acknowledged": frozenset({"confirmed", "dismissed"}),
    "confirmed": frozenset(),
    "dismissed": frozenset(),
}


class NotFound(LookupError):
    pass


class VerdictError(ValueError):
    """A verdict that the alert's status does not allow."""


@dataclass(frozen=True)
class AlertFilter:
    status: str | None = None
    camera_id: str | None = None
    since: datetime | None = None  # alerts still seen at or after this
    until: datetime | None = None  # alerts first seen at or before this
    limit: int = 50
    offset: int = 0


def list_alerts(session: Session, query: AlertFilter) -> tuple[list[Alert], int]:
    """One page, newest (by last_seen) first, and the total that matched."""
    conditions = []
    if query.status:
        conditions.append(Alert.status == query.status)
    if query.camera_id:
        conditions.append(Alert.camera_id == query.camera_id)
    if query.since:
        conditions.append(Alert.last_seen >= query.since)
    if query.until:
        conditions.append(Alert.first_seen <= query.until)
    total = session.scalar(select(func.count()).select_from(Alert).where(*conditions)) or 0
    rows = session.scalars(
        select(Alert)
        .options(selectinload(Alert.camera))
        .where(*conditions)
        .order_by(Alert.last_seen.desc(), Alert.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    return list(rows), total


def get_alert(session: Session, alert_id: int) -> Alert:
    alert = session.scalar(
        select(Alert)
        .options(selectinload(Alert.camera), selectinload(Alert.frames), selectinload(Alert.verdicts))
        .where(Alert.id == alert_id)
    )
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    return alert


def box_polygon(box: list[float]) -> list[list[float]]:
    x1, y1, x2, y2 = box
    return [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]


def apply_verdict(
    factory: sessionmaker[Session],
    alert_id: int,
    status: str,
    by: str,
    note: str,
    add_mask: bool,
    recipients: list[Recipient],
) -> Alert:
    """Move the alert on, record who, when and why; a confirmation notifies again.

    add_mask (only with dismissed) masks the alert's latest box on its camera,
    so the stream worker can ignore that place from then on.
    """
    if add_mask and status != "dismissed":
        raise VerdictError("add_mask goes only with a dismissal")
    with write_session(factory) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise NotFound(f"alert {alert_id} not found")
        if status not in TRANSITIONS.get(alert.status, frozenset()):
            raise VerdictError(f"alert {alert_id} is {alert.status}; it cannot become {status}")
        now = utcnow()
        alert.status, alert.status_by, alert.status_at = status, by, now
        alert.revision += 1
        alert.updated_at = now
        session.add(Verdict(alert_id=alert.id, status=status, by=by, at=now, note=note, added_mask=add_mask))
        if add_mask:
            session.add(
                CameraMask(
                    camera_id=alert.camera_id,
                    polygon=box_polygon(list(alert.box)),
                    source="verdict",
                    alert_id=alert.id,
                    created_by=by,
                    created_at=now,
                )
            )
            camera = session.get(Camera, alert.camera_id)
            camera.revision += 1  # its masks changed: the live feed sends the camera again
            camera.updated_at = now
        if status == "confirmed":
            enqueue(session, alert.id, "confirmed", recipients)
    with factory() as session:
        return get_alert(session, alert_id)


def upsert_cameras(factory: sessionmaker[Session], cameras: list[CameraConfig]) -> None:
    """Make the store's cameras match the configuration; masks added by verdicts stay."""
    with write_session(factory) as session:
        for config in cameras:
            camera = session.get(Camera, config.id)
            if camera is None:
                camera = Camera(id=config.id, status="unknown", status_detail="", revision=0)
                session.add(camera)
            camera.name = config.name or config.id
            camera.latitude, camera.longitude = config.latitude, config.longitude
            camera.azimuth_deg, camera.fov_deg = config.azimuth_deg, config.fov_deg
            camera.enabled = config.enabled
            camera.updated_at = utcnow()
            session.flush()
            session.execute(delete(CameraMask).where(CameraMask.camera_id == config.id, CameraMask.source == "config"))
            for polygon in config.masks:
                session.add(
                    CameraMask(
                        camera_id=config.id, polygon=[list(p) for p in polygon], source="config", created_by="config"
                    )
                )


def list_cameras(session: Session) -> list[Camera]:
    return list(session.scalars(select(Camera).options(selectinload(Camera.masks)).order_by(Camera.id)).all())


def list_notifications(session: Session, alert_id: int | None, limit: int, offset: int) -> list[Notification]:
    statement = select(Notification).order_by(Notification.id.desc()).limit(limit).offset(offset)
    if alert_id is not None:
        statement = statement.where(Notification.alert_id == alert_id)
    return list(session.scalars(statement).all())
