"""Alerts: the list, one alert with its frames and verdicts, and verdicts."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from alerting.api.auth import DECIDE, READ, requires
from alerting.api.context import context
from alerting.api.schemas import AlertDetailOut, AlertOut, AlertPage, AlertStatus, VerdictIn
from alerting.store.repository import AlertFilter, NotFound, VerdictError, apply_verdict, get_alert, list_alerts
from alerting.store.tokens import Principal
from alerting.views import alert_detail_view, alert_view

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


@router.get("", response_model=AlertPage, summary="Alerts, newest (by last_seen) first")
def alerts(
    request: Request,
    status_: AlertStatus | None = Query(default=None, alias="status"),
    camera_id: str | None = None,
    since: datetime | None = Query(
        default=None, description="alerts still seen at or after this (ISO 8601; UTC if no zone)"
    ),
    until: datetime | None = Query(default=None, description="alerts first seen at or before this"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
    _: Principal = Depends(requires(READ)),
) -> dict:
    query = AlertFilter(status_, camera_id or None, _utc(since), _utc(until), limit, offset)
    with context(request).factory() as session:
        rows, total = list_alerts(session, query)
        return {"items": [alert_view(a) for a in rows], "total": total}


@router.get("/{alert_id}", response_model=AlertDetailOut, summary="One alert with its frames and verdicts")
def alert(request: Request, alert_id: int, _: Principal = Depends(requires(READ))) -> dict:
    with context(request).factory() as session:
        try:
            return alert_detail_view(get_alert(session, alert_id))
        except NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


@router.post(
    "/{alert_id}/verdict",
    response_model=AlertOut,
    summary="Acknowledge, confirm or dismiss (operator, admin)",
    responses={404: {"description": "no such alert"}, 409: {"description": "the alert's status does not allow it"}},
)
def verdict(request: Request, alert_id: int, body: VerdictIn, principal: Principal = Depends(requires(DECIDE))) -> dict:
    ctx = context(request)
    try:
        updated = apply_verdict(
            ctx.factory, alert_id, body.status, principal.name, body.note, body.add_mask, ctx.recipients
        )
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except VerdictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return alert_view(updated)
