"""Cameras with their health and masks; the notification log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from alerting.api.auth import READ, requires
from alerting.api.context import context
from alerting.api.schemas import NotificationList
from alerting.liveness import CameraLiveOut, reader_for
from alerting.store.models import utcnow
from alerting.store.repository import list_cameras, list_notifications
from alerting.store.tokens import Principal
from alerting.views import camera_view, notification_view

router = APIRouter(prefix="/api", tags=["cameras"])


class CameraLiveList(BaseModel):
    items: list[CameraLiveOut]


@router.get("/cameras", response_model=CameraLiveList, summary="Cameras with health, liveness (heartbeats) and masks")
def cameras(request: Request, _: Principal = Depends(requires(READ))) -> dict:
    ctx = context(request)
    with ctx.factory() as session:
        rows = list_cameras(session)
        live = reader_for(request.app.state, ctx).read([c.id for c in rows], utcnow())
        return {"items": [camera_view(c, live[c.id]) for c in rows]}


@router.get(
    "/notifications", response_model=NotificationList, summary="Notification log, newest first", tags=["notifications"]
)
def notifications(
    request: Request,
    alert_id: int | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    _: Principal = Depends(requires(READ)),
) -> dict:
    with context(request).factory() as session:
        return {"items": [notification_view(n) for n in list_notifications(session, alert_id, limit, offset)]}
