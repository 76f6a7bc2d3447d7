"""Fire-danger levels (cấp dự báo cháy rừng I-V): the day's levels and each camera's, set by an
admin or read from the feed; the vote each level runs; the feed's last reading.

A change reaches the stream workers within seconds (alerting.danger.publish -> streams.levels).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from alerting.api.auth import ADMIN, READ, requires
from alerting.api.context import context
from alerting.danger.feed import feed_state
from alerting.danger.levels import LevelError, delete_level, districts, entries_on, levels_on, set_level, today
from alerting.store.models import Camera, FireDangerLevel
from alerting.store.tokens import Principal
from alerting.views import iso
from pinewatch.core.config import ROMAN, temporal_for_level
from pinewatch.core.redact import redact

router = APIRouter(prefix="/api/fire-danger", tags=["fire danger"])


class LevelVote(BaseModel):
    level: int
    roman: str
    window: int
    min_hits: int
    alert_score: float
    min_mean_score: float
    escalate_after_min: float


class LevelEntry(BaseModel):
    id: int
    day: date
    scope: Literal["district", "camera"]
    target: str
    level: int = Field(ge=1, le=5)
    source: Literal["api", "feed"]
    set_by: str
    set_at: datetime


class CameraDanger(BaseModel):
    camera_id: str
    district: str
    level: int
    source: Literal["camera", "district", "default"] = Field(description="which entry gave it, or the default level")


class FeedOut(BaseModel):
    url: str = Field(description="redacted")
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_error: str
    rows_applied: int
    rows_rejected: int
    poll_s: float


class DangerDay(BaseModel):
    day: date
    timezone: str
    default_level: int
    levels: list[LevelVote] = Field(description="the vote and escalation time of each level, from the config")
    districts: list[str]
    entries: list[LevelEntry]
    cameras: list[CameraDanger]
    feed: FeedOut | None = Field(description="null when no fire_danger.feed_url is configured")


class LevelIn(BaseModel):
    day: date | None = Field(default=None, description="the local day; empty = today")
    level: int = Field(ge=1, le=5)
    district: str | None = Field(default=None, min_length=1, max_length=100)
    camera_id: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_target(self) -> "LevelIn":
        if (self.district is None) == (self.camera_id is None):
            raise ValueError("give exactly one of district and camera_id")
        return self


def entry_view(row: FireDangerLevel) -> dict:
    return {
        "id": row.id, "day": row.day.isoformat(), "scope": row.scope, "target": row.target, "level": row.level,
        "source": row.source, "set_by": row.set_by, "set_at": iso(row.set_at),
    }  # fmt: skip


def _feed(request: Request, session) -> dict | None:
    config = context(request).settings.fire_danger
    if not config.feed_url:
        return None
    state = feed_state(session, config.feed_url)
    return {
        "url": redact(config.feed_url),
        "last_fetch_at": iso(state.last_fetch_at) if state else None,
        "last_success_at": iso(state.last_success_at) if state else None,
        "last_error": state.last_error if state else "",
        "rows_applied": state.rows_applied if state else 0,
        "rows_rejected": state.rows_rejected if state else 0,
        "poll_s": config.feed_poll_s,
    }


@router.get("", response_model=DangerDay, summary="A day's fire-danger levels: entries, each camera's level, the feed")
def day_levels(
    request: Request,
    day: date | None = Query(default=None, description="the local day (fire_danger.timezone); empty = today"),
    _: Principal = Depends(requires(READ)),
) -> dict:
    settings = context(request).settings
    config = settings.fire_danger
    day = day or today(config)
    with context(request).factory() as session:
        cameras = list(session.scalars(select(Camera).order_by(Camera.id)).all())
        found = levels_on(session, day, config, cameras)
        return {
            "day": day.isoformat(),
            "timezone": config.timezone,
            "default_level": config.default_level,
            "levels": [
                {"level": n, "roman": ROMAN[n], **temporal_for_level(settings.temporal, lvl).model_dump(include={"window", "min_hits", "alert_score", "min_mean_score"}),
                 "escalate_after_min": lvl.escalate_after_min}
                for n, lvl in sorted(config.levels.items())
            ],  # fmt: skip
            "districts": districts(session),
            "entries": [entry_view(row) for row in entries_on(session, day)],
            "cameras": [
                {"camera_id": c.id, "district": c.district or "", "level": found[c.id].level, "source": found[c.id].source}
                for c in cameras
            ],
            "feed": _feed(request, session),
        }


@router.put(
    "",
    response_model=LevelEntry,
    summary="Set a day's level for a district or a camera (admin); the workers apply it within seconds",
    responses={404: {"description": "no such camera or district"}},
)
def put_level(request: Request, body: LevelIn, principal: Principal = Depends(requires(ADMIN))) -> dict:
    ctx = context(request)
    day = body.day or today(ctx.settings.fire_danger)
    scope, target = ("camera", body.camera_id) if body.camera_id is not None else ("district", body.district)
    try:
        row = set_level(ctx.factory, day, scope, target, body.level, "api", principal.name)
    except LevelError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return entry_view(row)


@router.delete(
    "/{entry_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a level entry (admin): its cameras fall back to the district's level or the default",
    responses={404: {"description": "no such entry"}},
)
def remove_level(entry_id: int, request: Request, _: Principal = Depends(requires(ADMIN))) -> Response:
    if not delete_level(context(request).factory, entry_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"fire-danger entry {entry_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/feed", response_model=FeedOut | None, summary="The level feed's last reading: when, error, rows (null: no feed)")
def feed(request: Request, _: Principal = Depends(requires(READ))) -> dict | None:
    with context(request).factory() as session:
        return _feed(request, session)
