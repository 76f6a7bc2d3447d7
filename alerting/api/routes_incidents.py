"""Incidents (issue 11): one fire seen by several cameras, with its alerts and its one point;
a verdict on an incident goes to each of its alerts that can take it."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Query, Request

from alerting.api.auth import DECIDE, READ, requires
from alerting.api.context import context
from alerting.api.schemas import AlertStatus, IncidentOut, IncidentPage, IncidentVerdictOut, VerdictIn
from alerting.grouping import NOT_A_FIRE
from alerting.incidents import refresh_after_verdict
from alerting.ingest import Rules
from alerting.store.incidents import IncidentFilter, apply_incident_verdict, get_incident, list_incidents
from alerting.store.tokens import Principal
from alerting.views import incident_view

router = APIRouter(prefix="/api/incidents", tags=["incidents"])


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


@router.get("", response_model=IncidentPage, summary="Incidents, most recently seen first, with their alerts")
def incidents(
    request: Request,
    status_: list[AlertStatus] = Query(
        default=[], alias="status", description="incidents with an alert in one of these statuses (repeat for several)"
    ),
    since: datetime | None = Query(default=None, description="incidents still seen at or after this (ISO 8601; UTC if no zone)"),
    until: datetime | None = Query(default=None, description="incidents first seen at or before this"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
    _: Principal = Depends(requires(READ)),
) -> dict:
    query = IncidentFilter(tuple(status_), _utc(since), _utc(until), limit, offset)
    with context(request).factory() as session:
        rows, total = list_incidents(session, query)
        return {"items": [incident_view(i) for i in rows], "total": total}


@router.get("/{incident_id}", response_model=IncidentOut, summary="One incident: its point and each camera's alerts")
def incident(request: Request, incident_id: int, _: Principal = Depends(requires(READ))) -> dict:
    with context(request).factory() as session:
        return incident_view(get_incident(session, incident_id))


@router.post(
    "/{incident_id}/verdict",
    response_model=IncidentVerdictOut,
    summary="A verdict on each alert of the incident that can take it (operator, admin)",
    responses={404: {"description": "no such incident"}, 409: {"description": "none of its alerts can take it"}},
)
def verdict(
    request: Request, incident_id: int, body: VerdictIn, principal: Principal = Depends(requires(DECIDE))
) -> dict:
    ctx = context(request)
    result = apply_incident_verdict(
        ctx.factory, incident_id, body.status, principal.name, body.note, body.add_mask, ctx.recipients,
        reason=body.reason,
    )  # fmt: skip
    if body.status in NOT_A_FIRE:  # the point, worked out again without the cones just dismissed
        refresh_after_verdict(ctx.factory, result.applied, Rules.from_config(ctx.settings.alerting))
        with ctx.factory() as session:
            result.incident = get_incident(session, incident_id)
    return {"incident": incident_view(result.incident), "applied": result.applied, "skipped": result.skipped}
