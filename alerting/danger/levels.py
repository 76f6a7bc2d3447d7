"""Which fire-danger level a camera has on a day, and the admin's changes to the levels.

A level is set for one local day (fire_danger.timezone) for a district or for one camera; a
camera's own level wins over its district's, and a day with neither has
fire_danger.default_level. An admin's level (source "api") wins over the feed's for the same day
and target: the feed never overwrites it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from alerting.store.db import write_session
from alerting.store.models import Camera, FireDangerLevel, utcnow
from pinewatch.core.config import FireDangerConfig


class LevelError(ValueError):
    """A level change the store refuses (unknown camera or district)."""


def local_day(moment: datetime, config: FireDangerConfig) -> date:
    return moment.astimezone(ZoneInfo(config.timezone)).date()


def today(config: FireDangerConfig) -> date:
    return local_day(utcnow(), config)


@dataclass(frozen=True)
class CameraLevel:
    camera_id: str
    level: int
    source: str  # camera | district | default


def levels_on(session: Session, day: date, config: FireDangerConfig, cameras: list[Camera] | None = None) -> dict[str, CameraLevel]:
    """Every camera's level on `day` (one query for the day's rows)."""
    cameras = cameras if cameras is not None else list(session.scalars(select(Camera).order_by(Camera.id)).all())
    rows = session.scalars(select(FireDangerLevel).where(FireDangerLevel.day == day)).all()
    by_camera = {r.target: r.level for r in rows if r.scope == "camera"}
    by_district = {r.target: r.level for r in rows if r.scope == "district"}
    found: dict[str, CameraLevel] = {}
    for camera in cameras:
        if camera.id in by_camera:
            found[camera.id] = CameraLevel(camera.id, by_camera[camera.id], "camera")
        elif camera.district and camera.district in by_district:
            found[camera.id] = CameraLevel(camera.id, by_district[camera.district], "district")
        else:
            found[camera.id] = CameraLevel(camera.id, config.default_level, "default")
    return found


def level_of(session: Session, camera: Camera, moment: datetime, config: FireDangerConfig) -> int:
    """The camera's level on the local day of `moment`."""
    day = local_day(moment, config)
    conditions = [(FireDangerLevel.scope == "camera") & (FireDangerLevel.target == camera.id)]
    if camera.district:
        conditions.append((FireDangerLevel.scope == "district") & (FireDangerLevel.target == camera.district))
    rows = session.scalars(select(FireDangerLevel).where(FireDangerLevel.day == day, or_(*conditions))).all()
    own = [r.level for r in rows if r.scope == "camera"]
    district = [r.level for r in rows if r.scope == "district"]
    return (own or district or [config.default_level])[0]


def entries_on(session: Session, day: date) -> list[FireDangerLevel]:
    return list(
        session.scalars(
            select(FireDangerLevel).where(FireDangerLevel.day == day).order_by(FireDangerLevel.scope.desc(), FireDangerLevel.target)
        ).all()
    )


def districts(session: Session) -> list[str]:
    return sorted({d for d in session.scalars(select(Camera.district)).all() if d})


def set_level(
    factory: sessionmaker[Session], day: date, scope: str, target: str, level: int, source: str, by: str
) -> FireDangerLevel | None:
    """Insert or replace the day's level for the target; None when a feed row meets an admin's."""
    if not 1 <= level <= 5:
        raise LevelError(f"level {level} is not 1-5")
    target = unicodedata.normalize("NFC", target.strip())  # as cameras.district is stored
    with write_session(factory) as session:
        if scope == "camera" and session.get(Camera, target) is None:
            raise LevelError(f"no camera with id {target!r}")
        if scope == "district" and target not in districts(session):
            raise LevelError(f"no camera is in district {target!r}")
        row = session.scalar(
            select(FireDangerLevel).where(FireDangerLevel.day == day, FireDangerLevel.scope == scope, FireDangerLevel.target == target)
        )
        if row is None:
            row = FireDangerLevel(day=day, scope=scope, target=target)
            session.add(row)
        elif source == "feed" and row.source == "api":
            return None  # an admin's decision for that day stands
        row.level, row.source, row.set_by, row.set_at = level, source, by, utcnow()
        session.flush()
        return row


def delete_level(factory: sessionmaker[Session], entry_id: int) -> bool:
    with write_session(factory) as session:
        row = session.get(FireDangerLevel, entry_id)
        if row is None:
            return False
        session.delete(row)
        return True
