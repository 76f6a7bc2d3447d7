"""Rows -> the JSON shapes of the HTTP API contract (also sent in webhooks).

An alert has one shape everywhere: `alert_model` (schemas.AlertOut, built from the stored row by
alert_view) is what REST answers (as its response_model), and `alert_payload` (its JSON) is what
the SSE `alert` event and every notification (webhook body, the texts' summary) carry.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from alerting.api.schemas import AlertOut
from alerting.coords import format_point
from alerting.grouping import incident_status
from alerting.store.models import Alert, AlertFrame, Camera, Incident, Notification, Verdict

EVIDENCE_PREFIX = "/api/evidence/"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def evidence_url(path: str) -> str:
    return EVIDENCE_PREFIX + quote(path.lstrip("/"))


def camera_view(camera: Camera, live=None) -> dict:
    """`live` (an alerting.liveness.Liveness) adds the heartbeat fields. `status` stays the
    worker's last health event; `liveness` is judged here and wins on screens: a stopped or
    killed worker sends no event, so only `liveness` turns offline then."""
    view = {
        "id": camera.id,
        "name": camera.name or camera.id,
        "latitude": camera.latitude,
        "longitude": camera.longitude,
        "azimuth_deg": camera.azimuth_deg,
        "fov_deg": camera.fov_deg,
        "status": camera.status,
        "status_detail": camera.status_detail,
        "last_seen": iso(camera.last_seen),
        "masks": [mask.polygon for mask in camera.masks],
        "district": camera.district or "",  # issue 12
        "frame_mode": camera.frame_mode,
        "frame_mode_at": iso(camera.frame_mode_at),
    }
    if live is not None:
        view.update(
            last_frame_at=iso(live.last_frame_at),
            last_frame_age_s=None if live.last_frame_age_s is None else round(live.last_frame_age_s, 1),
            liveness=live.liveness,
            worker=live.worker,
        )
        view["liveness_detail"] = live.detail
        if live.frame_mode in ("day", "night_ir", "low_light"):  # the latest frame's, a moment fresher than the store's
            view["frame_mode"] = live.frame_mode
    return view


def location_view(row: Alert | Incident) -> dict | None:
    """An alert's or an incident's point, with its text to the precision it supports."""
    if row.latitude is None or row.longitude is None:
        return None
    return {
        "latitude": row.latitude,
        "longitude": row.longitude,
        "uncertainty_m": row.uncertainty_m,
        "camera_ids": list(row.location_camera_ids or []),
        "text": format_point(row.latitude, row.longitude, row.uncertainty_m),
    }


def incident_ref(incident: Incident | None) -> dict | None:
    if incident is None:
        return None
    return {"id": incident.id, "location": location_view(incident), "camera_ids": list(incident.camera_ids or [])}


def incident_view(incident: Incident) -> dict:
    """An incident with each camera's view (its alerts, which must be loaded)."""
    alerts = sorted(incident.alerts, key=lambda a: a.id)
    return {
        "id": incident.id,
        "status": incident_status([a.status for a in alerts]),
        "label": "fire" if any(a.label == "fire" for a in alerts) else "smoke",
        "score": max((a.score for a in alerts), default=0.0),
        "first_seen": iso(incident.first_seen),
        "last_seen": iso(incident.last_seen),
        "camera_ids": list(incident.camera_ids or []),
        "location": location_view(incident),
        "alerts": [alert_view(a) for a in alerts],
        "updated_at": iso(incident.updated_at),
    }


def alert_view(alert: Alert) -> dict:
    location = location_view(alert)
    return {
        "id": alert.id,
        "camera_id": alert.camera_id,
        "camera_name": (alert.camera.name or alert.camera.id) if alert.camera is not None else alert.camera_id,
        "label": alert.label,
        "score": alert.score,
        "first_seen": iso(alert.first_seen),
        "last_seen": iso(alert.last_seen),
        "status": alert.status,
        "frame_count": alert.frame_count,
        "evidence_url": evidence_url(alert.evidence_path),
        "box": list(alert.box),
        "bearing_deg": alert.bearing_deg,
        "bearing_min_deg": alert.bearing_min_deg,
        "bearing_max_deg": alert.bearing_max_deg,
        "location": location,
        "updated_at": iso(alert.updated_at),
        "incident": incident_ref(alert.incident),  # issue 11: the fire it is one view of, and its one point
        "before_url": evidence_url(alert.before_path) if alert.before_path else None,  # issue 11
        "before_at": iso(alert.before_at),
        "danger_level": alert.danger_level,  # issue 12
        "escalation_tier": alert.escalation_tier or 0,
        "evidence_deleted_at": iso(alert.evidence_deleted_at),  # retention swept its pictures: pages show why
    }


def alert_model(alert: Alert) -> AlertOut:
    return AlertOut.model_validate(alert_view(alert))


def alert_payload(alert: Alert) -> dict:
    """The alert as JSON, exactly as GET /api/alerts/{id} serialises it (AlertOut's fields)."""
    return alert_model(alert).model_dump(mode="json")


def frame_view(frame: AlertFrame) -> dict:
    return {
        "id": frame.id,
        "event_id": frame.event_id,
        "captured_at": iso(frame.captured_at),
        "score": frame.score,
        "label": frame.label,
        "box": list(frame.box),
        "evidence_url": evidence_url(frame.evidence_path),
    }


def verdict_view(verdict: Verdict) -> dict:
    return {
        "status": verdict.status,
        "by": verdict.by,
        "at": iso(verdict.at),
        "note": verdict.note,
        "added_mask": verdict.added_mask,
        "reason": verdict.reason,  # issue 11
    }


def alert_detail_view(alert: Alert) -> dict:
    return {
        **alert_view(alert),
        "frames": [frame_view(f) for f in alert.frames],
        "verdicts": [verdict_view(v) for v in alert.verdicts],
    }


def notification_view(notification: Notification) -> dict:
    return {
        "id": notification.id,
        "alert_id": notification.alert_id,
        "kind": notification.kind,
        "channel": notification.channel,
        "recipient": notification.recipient,
        "language": notification.language,
        "status": notification.status,
        "attempts": notification.attempts,
        "last_error": notification.last_error,
        "next_attempt_at": iso(notification.next_attempt_at) if notification.status == "pending" else None,
        "sent_at": iso(notification.sent_at),
        "group": notification.group_name or "",  # issue 12
        "tier": notification.tier,
    }
