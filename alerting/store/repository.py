"""Queries and operator actions on the store: alert lists, verdicts, cameras."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from alerting.notify.outbox import Recipient, enqueue
from alerting.store.db import write_session
from alerting.store.models import Alert, AlertFrame, Camera, CameraMask, Notification, Verdict, utcnow
from pinewatch.core.config import CameraConfig

# new -> acknowledged -> confirmed | dismissed | other_smoke; an operator may skip acknowledging.
# A confirmed fire stays active until it is marked out (issue 11).
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"acknowledged", "confirmed", "dismissed", "other_smoke"}),
    "acknowledged": frozenset({"confirmed", "dismissed", "other_smoke"}),
    "confirmed": frozenset({"out"}),
    "dismissed": frozenset(),
    "other_smoke": frozenset(),
    "out": frozenset(),
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


def _alert_conditions(query: AlertFilter) -> list:
    """The WHERE clauses of an alert filter (status, camera, time overlap), for listing and export alike."""
    conditions = []
    if query.status:
        conditions.append(Alert.status == query.status)
    if query.camera_id:
        conditions.append(Alert.camera_id == query.camera_id)
    if query.since:
        conditions.append(Alert.last_seen >= query.since)
    if query.until:
        conditions.append(Alert.first_seen <= query.until)
    return conditions


def newest_first_page(session: Session, model, conditions: list, load, limit: int, offset: int) -> tuple[list, int]:
    """One page of `model` rows (alerts or incidents), most recently seen first, and the total that matched."""
    total = session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
    rows = session.scalars(
        select(model)
        .options(load)
        .where(*conditions)
        .order_by(model.last_seen.desc(), model.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def list_alerts(session: Session, query: AlertFilter) -> tuple[list[Alert], int]:
    """One page, newest (by last_seen) first, and the total that matched."""
    return newest_first_page(session, Alert, _alert_conditions(query), selectinload(Alert.camera), query.limit, query.offset)


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
    reason: str | None = None,
) -> Alert:
    """Move the alert on, record who, when and why; a confirmation notifies again.

    add_mask (only with dismissed) masks the alert's latest box on its camera,
    so the stream worker can ignore that place from then on.
    """
    check_verdict(status, add_mask, reason)
    with write_session(factory) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise NotFound(f"alert {alert_id} not found")
        if not can_take(alert, status):
            raise VerdictError(f"alert {alert_id} is {alert.status}; it cannot become {status}")
        decide(session, alert, status, by, note, add_mask, recipients, reason)
    with factory() as session:
        return get_alert(session, alert_id)


def check_verdict(status: str, add_mask: bool, reason: str | None) -> None:
    """What a verdict may carry, whatever the alert."""
    if add_mask and status != "dismissed":
        raise VerdictError("add_mask goes only with a dismissal")
    if reason is not None and status != "dismissed":
        raise VerdictError("a reason goes only with a dismissal")


def can_take(alert: Alert, status: str) -> bool:
    return status in TRANSITIONS.get(alert.status, frozenset())


def decide(
    session: Session,
    alert: Alert,
    status: str,
    by: str,
    note: str,
    add_mask: bool,
    recipients: list[Recipient],
    reason: str | None = None,
    notify: bool = True,
) -> None:
    """Apply an allowed verdict to the alert in the caller's transaction (also per alert of an incident).

    notify=False: a confirmation sends no message (an incident's confirmation notifies once).
    """
    now = utcnow()
    alert.status, alert.status_by, alert.status_at = status, by, now
    alert.revision += 1
    alert.updated_at = now
    session.add(Verdict(alert_id=alert.id, status=status, by=by, at=now, note=note, added_mask=add_mask, reason=reason))
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
    if status == "confirmed" and notify:
        enqueue(session, alert.id, "confirmed", recipients)


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
            camera.district = config.district  # issue 12: levels and recipient areas by district
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


# --- issue 11: frames page by page, the CSV export ----------------------------


def list_frames(session: Session, alert_id: int, offset: int, limit: int, newest_first: bool = True) -> tuple[list[AlertFrame], int]:
    """One page of an alert's frames and how many it has; NotFound if there is no such alert."""
    if session.get(Alert, alert_id) is None:
        raise NotFound(f"alert {alert_id} not found")
    total = session.scalar(select(func.count()).select_from(AlertFrame).where(AlertFrame.alert_id == alert_id)) or 0
    order = (AlertFrame.captured_at.desc(), AlertFrame.id.desc()) if newest_first else (AlertFrame.captured_at, AlertFrame.id)
    rows = session.scalars(
        select(AlertFrame).where(AlertFrame.alert_id == alert_id).order_by(*order).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def export_alerts(session: Session, query: AlertFilter) -> list[Alert]:
    """Alerts matching the filter (limit and offset ignored), oldest first, with camera and verdicts."""
    conditions = _alert_conditions(query)
    return list(
        session.scalars(
            select(Alert)
            .options(selectinload(Alert.camera), selectinload(Alert.verdicts), selectinload(Alert.incident))
            .where(*conditions)
            .order_by(Alert.first_seen, Alert.id)
        ).all()
    )


# --- end issue 11 ---------------------------------------------------------------


# --- issue 13: operator masks -------------------------------------------------


class MaskError(ValueError):
    """A mask change the store does not allow (config masks belong to the configuration)."""


def list_masks(session: Session, source: str | None = None) -> list[CameraMask]:
    """Every camera mask (config and verdict), by camera then id; `source` narrows to one kind."""
    statement = select(CameraMask).order_by(CameraMask.camera_id, CameraMask.id)
    if source is not None:
        statement = statement.where(CameraMask.source == source)
    return list(session.scalars(statement).all())


def delete_mask(factory: sessionmaker[Session], mask_id: int) -> None:
    """Remove an operator's mask; NotFound if there is none, MaskError for a config mask."""
    with write_session(factory) as session:
        mask = session.get(CameraMask, mask_id)
        if mask is None:
            raise NotFound(f"mask {mask_id} not found")
        if mask.source == "config":
            raise MaskError(f"mask {mask_id} comes from the configuration (cameras.{mask.camera_id}.masks); edit it there")
        camera = session.get(Camera, mask.camera_id)
        session.delete(mask)
        if camera is not None:
            camera.revision += 1  # its masks changed: the live feed sends the camera again
            camera.updated_at = utcnow()


# --- end issue 13 -------------------------------------------------------------
