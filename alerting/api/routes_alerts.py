"""Alerts: the list, one alert with its frames and verdicts, frames page by page, verdicts, the CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from alerting.api.auth import DECIDE, READ, requires
from alerting.api.context import context
from alerting.api.schemas import AlertDetailOut, AlertOut, AlertPage, AlertStatus, FrameOut, VerdictIn
from alerting.store.repository import (
    AlertFilter,
    apply_verdict,
    export_alerts,
    get_alert,
    list_alerts,
    list_frames,
)
from alerting.store.tokens import Principal
from alerting.grouping import NOT_A_FIRE  # issue 11: incidents
from alerting.incidents import refresh_after_verdict
from alerting.ingest import Rules
from alerting.views import alert_view, frame_view, verdict_view

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


class FramePage(BaseModel):
    items: list[FrameOut]
    total: int


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


_SINCE = Query(default=None, description="alerts still seen at or after this (ISO 8601; UTC if no zone)")
_UNTIL = Query(default=None, description="alerts first seen at or before this")


@router.get("", response_model=AlertPage, summary="Alerts, newest (by last_seen) first")
def alerts(
    request: Request,
    status_: AlertStatus | None = Query(default=None, alias="status"),
    camera_id: str | None = None,
    since: datetime | None = _SINCE,
    until: datetime | None = _UNTIL,
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
    _: Principal = Depends(requires(READ)),
) -> dict:
    query = AlertFilter(status_, camera_id or None, _utc(since), _utc(until), limit, offset)
    with context(request).factory() as session:
        rows, total = list_alerts(session, query)
        return {"items": [alert_view(a) for a in rows], "total": total}


CSV_COLUMNS = [
    "alert_id", "camera_id", "camera_name", "label", "max_score", "first_seen", "last_seen", "status",
    "frame_count", "bearing_deg", "latitude", "longitude", "uncertainty_m", "incident_id", "incident_point",
    "evidence_path",
    "verdict_status", "verdict_reason", "verdict_by", "verdict_at", "verdict_note", "verdict_added_mask",
]  # fmt: skip


# Numbers and "lat, lon" points are data, not formulas: a point south of the equator starts with "-".
_NUMERIC_TEXT = re.compile(r"-?\d+(\.\d+)?(, -?\d+(\.\d+)?)?")


def _cell(value: object) -> object:
    """Defuse spreadsheet formulas in free text (notes, names)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMERIC_TEXT.fullmatch(value):
        return "'" + value
    return "" if value is None else value


@router.get(
    ".csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    summary="Alerts and their verdicts as CSV, one row per verdict (an alert without one: one row), operator, admin",
)
def alerts_csv(
    request: Request,
    status_: AlertStatus | None = Query(default=None, alias="status"),
    camera_id: str | None = None,
    since: datetime | None = _SINCE,
    until: datetime | None = _UNTIL,
    _: Principal = Depends(requires(DECIDE)),
) -> Response:
    query = AlertFilter(status_, camera_id or None, _utc(since), _utc(until))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    with context(request).factory() as session:
        for alert in export_alerts(session, query):
            a = alert_view(alert)
            incident = a["incident"]  # the fire it is one view of; its point as the API prints it (coords.py)
            head = [
                a["id"], a["camera_id"], a["camera_name"], a["label"], round(a["score"], 4), a["first_seen"],
                a["last_seen"], a["status"], a["frame_count"], a["bearing_deg"], alert.latitude, alert.longitude,
                alert.uncertainty_m, incident["id"] if incident else None,
                incident["location"]["text"] if incident and incident["location"] else None, alert.evidence_path,
            ]  # fmt: skip
            verdicts = [verdict_view(v) for v in alert.verdicts] or [None]
            for v in verdicts:
                tail = [v["status"], v["reason"], v["by"], v["at"], v["note"], v["added_mask"]] if v else [None] * 6
                writer.writerow([_cell(x) for x in head + tail])
    return Response(
        "\ufeff" + out.getvalue(),  # the BOM lets spreadsheet programs read UTF-8 (Vietnamese names)
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="pinewatch-alerts.csv"', "Cache-Control": "no-store"},
    )


@router.get("/{alert_id}", response_model=AlertDetailOut, summary="One alert with its frames and verdicts")
def alert(
    request: Request,
    alert_id: int,
    frame_limit: int | None = Query(
        default=None, ge=0, le=500, description="only the newest N frames (the rest: /api/alerts/{id}/frames)"
    ),
    _: Principal = Depends(requires(READ)),
) -> dict:
    with context(request).factory() as session:
        found = get_alert(session, alert_id)
        frames = list(found.frames)  # oldest first
        if frame_limit is not None:
            frames = frames[len(frames) - frame_limit :] if frame_limit else []
        return {
            **alert_view(found),
            "frames": [frame_view(f) for f in frames],
            "verdicts": [verdict_view(v) for v in found.verdicts],
        }


@router.get(
    "/{alert_id}/frames",
    response_model=FramePage,
    summary="An alert's frames page by page, newest first (order=oldest for the other way)",
    responses={404: {"description": "no such alert"}},
)
def frames(
    request: Request,
    alert_id: int,
    offset: int = Query(default=0, ge=0),
    limit: int = Query(default=20, ge=1, le=200),
    order: str = Query(default="newest", pattern="^(newest|oldest)$"),
    _: Principal = Depends(requires(READ)),
) -> dict:
    with context(request).factory() as session:
        rows, total = list_frames(session, alert_id, offset, limit, newest_first=order == "newest")
        return {"items": [frame_view(f) for f in rows], "total": total}


@router.post(
    "/{alert_id}/verdict",
    response_model=AlertOut,
    summary="Acknowledge, confirm, dismiss (with a reason), other smoke, or mark a confirmed fire out (operator, admin)",
    responses={404: {"description": "no such alert"}, 409: {"description": "the alert's status does not allow it"}},
)
def verdict(request: Request, alert_id: int, body: VerdictIn, principal: Principal = Depends(requires(DECIDE))) -> dict:
    ctx = context(request)
    updated = apply_verdict(
        ctx.factory, alert_id, body.status, principal.name, body.note, body.add_mask, ctx.recipients,
        reason=body.reason,
    )  # fmt: skip
    if body.status in NOT_A_FIRE:  # issue 11: its incident's point, worked out again without this cone
        refresh_after_verdict(ctx.factory, [alert_id], Rules.from_config(ctx.settings.alerting))
        with ctx.factory() as session:
            updated = get_alert(session, alert_id)
    return alert_view(updated)



