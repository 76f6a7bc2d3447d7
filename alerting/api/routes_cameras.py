"""Cameras with their health and masks; the notification log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from alerting.api.auth import READ, requires
from alerting.api.context import context
from alerting.api.schemas import CameraList, NotificationList
from alerting.store.repository import list_cameras, list_notifications
from alerting.store.tokens import Principal
from alerting.views import camera_view, notification_view

router = APIRouter(prefix="/api", tags=["cameras"])


@router.get("/cameras", response_model=CameraList, summary="Cameras with health and masks")
def cameras(request: Request, _: Principal = Depends(requires(READ))) -> dict:
    with context(request).factory() as session:
        return {"items": [camera_view(c) for c in list_cameras(session)]}


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
