"""Tables: cameras (+ masks), alerts (+ frames, verdicts), processed events,
the notification outbox, users and their API tokens."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC in and out, also on SQLite (which stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


ALERT_STATUSES = ("new", "acknowledged", "confirmed", "dismissed", "other_smoke", "out")
CAMERA_STATUSES = ("online", "offline", "frozen", "error", "unknown")
ROLES = ("ranger", "operator", "admin", "worker")
CHANNELS = ("webhook", "email", "telegram", "zalo", "sms")  # zalo, sms: issue 12
NOTIFICATION_STATUSES = ("pending", "sent", "failed")
# --- verdicts that teach the model (issue 11) ---
# other_smoke: real smoke, not a wildfire; out: a confirmed fire an operator marked out.
CLOSED_STATUSES = ("dismissed", "other_smoke", "out")
DISMISS_REASONS = ("cloud", "fog_haze", "dust", "burning", "sun_glare", "lens", "other")
# --- end issue 11 ---


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    azimuth_deg: Mapped[float | None] = mapped_column(Float)
    fov_deg: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default="unknown")
    status_detail: Mapped[str] = mapped_column(Text, default="")
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # time of the health event applied
    last_seen: Mapped[datetime | None] = mapped_column(UtcDateTime)  # latest message about this camera
    revision: Mapped[int] = mapped_column(Integer, default=0)  # bumped on each health change (live feed)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    district: Mapped[str] = mapped_column(String(100), default="")  # issue 12 (migration 0006): levels and areas by district
    # issue 12 (migration 0007): day | night_ir | low_light from the worker's health events, and since when
    frame_mode: Mapped[str | None] = mapped_column(String(20))
    frame_mode_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    masks: Mapped[list[CameraMask]] = relationship(back_populates="camera", order_by="CameraMask.id")


class CameraMask(Base):
    __tablename__ = "camera_masks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), index=True)
    polygon: Mapped[list] = mapped_column(JSON)  # [[x, y], ...] normalised
    source: Mapped[str] = mapped_column(String(20))  # "config" (replaced at start-up) or "verdict"
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    camera: Mapped[Camera] = relationship(back_populates="masks")


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    label: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)  # highest frame score
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    status_by: Mapped[str] = mapped_column(String(200), default="")
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    frame_count: Mapped[int] = mapped_column(Integer, default=0)
    box: Mapped[list] = mapped_column(JSON)  # latest frame's box
    evidence_path: Mapped[str] = mapped_column(Text)  # latest frame's evidence
    bearing_deg: Mapped[float | None] = mapped_column(Float)
    bearing_min_deg: Mapped[float | None] = mapped_column(Float)
    bearing_max_deg: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    uncertainty_m: Mapped[float | None] = mapped_column(Float)
    location_camera_ids: Mapped[list | None] = mapped_column(JSON)
    # --- evidence (issue 11, migration 0005) ---
    before_path: Mapped[str | None] = mapped_column(Text)  # the camera's last clean frame before the smoke
    before_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    evidence_deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # retention removed its files
    # --- end evidence ---
    revision: Mapped[int] = mapped_column(Integer, default=0)  # bumped on each change (live feed)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    # --- field operations (issue 12, migration 0006) ---
    danger_level: Mapped[int | None] = mapped_column(Integer)  # the camera's fire-danger level (1-5) the day it opened
    escalation_tier: Mapped[int] = mapped_column(Integer, default=0)  # the highest recipient tier told so far
    escalate_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)  # when the next tier is due if still new
    confirmed_routed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # when a confirmation went to its area's groups
    # --- end field operations ---
    # --- incidents (issue 11, migration 0004): the fire this alert is one camera's view of ---
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    # joined: every alert shape carries its incident's point, loaded with the alert wherever it is read
    incident: Mapped[Incident | None] = relationship(back_populates="alerts", lazy="joined")
    # --- end incidents ---

    camera: Mapped[Camera] = relationship()
    frames: Mapped[list[AlertFrame]] = relationship(back_populates="alert", order_by="AlertFrame.captured_at")
    verdicts: Mapped[list[Verdict]] = relationship(back_populates="alert", order_by="Verdict.id")


# --- incidents (issue 11, migration 0004) ---
class Incident(Base):
    """One fire seen by one or more cameras: the alerts whose cones cross, or whose located
    points agree, within the triangulation window (alerting.incidents). Its point is
    triangulated from its cameras' latest cones; its status follows its alerts'."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    uncertainty_m: Mapped[float | None] = mapped_column(Float)
    location_camera_ids: Mapped[list | None] = mapped_column(JSON)  # the cameras whose cones made the point
    camera_ids: Mapped[list] = mapped_column(JSON, default=list)  # every camera with an alert in it, sorted
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)

    alerts: Mapped[list[Alert]] = relationship(back_populates="incident", lazy="select", order_by="Alert.id")


# --- end incidents ---


class AlertFrame(Base):
    __tablename__ = "alert_frames"
    __table_args__ = (UniqueConstraint("alert_id", "event_id", name="uq_alert_frames_alert_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(200))
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    label: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    box: Mapped[list] = mapped_column(JSON)
    evidence_path: Mapped[str] = mapped_column(Text)
    frame_width: Mapped[int] = mapped_column(Integer)
    frame_height: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(200), default="")

    alert: Mapped[Alert] = relationship(back_populates="frames")


class ProcessedEvent(Base):
    """Idempotency: a detection event id is recorded in the transaction that applies it."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Verdict(Base):
    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    added_mask: Mapped[bool] = mapped_column(Boolean, default=False)
    # --- verdicts that teach the model (issue 11, migration 0003) ---
    reason: Mapped[str | None] = mapped_column(String(30))  # a DISMISS_REASONS value, with dismissed only
    # --- end issue 11 ---

    alert: Mapped[Alert] = relationship(back_populates="verdicts")


class Notification(Base):
    """The outbox: written in the transaction that creates or confirms an alert."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("alert_id", "kind", "channel", "recipient", name="uq_notifications_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "new" or "confirmed"
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # a dispatcher's lease
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # issue 12 (migration 0006): which recipient group and escalation tier the row is for
    group_name: Mapped[str] = mapped_column(String(100), default="")
    tier: Mapped[int | None] = mapped_column(Integer)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    tokens: Mapped[list[Token]] = relationship(back_populates="user")


class Token(Base):
    """Only the SHA-256 of a token is stored; the value is shown once."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


# --- field operations (issue 12, migration 0006) ---
DANGER_SCOPES = ("district", "camera")


class FireDangerLevel(Base):
    """A fire-danger level (1-5) for one local day, for a district or one camera (which wins)."""

    __tablename__ = "fire_danger_levels"
    __table_args__ = (UniqueConstraint("day", "scope", "target", name="uq_fire_danger_day_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    scope: Mapped[str] = mapped_column(String(20))  # district | camera
    target: Mapped[str] = mapped_column(String(100))  # the district's name or the camera's id
    level: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))  # api (an admin) | feed
    set_by: Mapped[str] = mapped_column(String(200), default="")
    set_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FireDangerFeed(Base):
    """The configured level feed's last reading (one row per URL)."""

    __tablename__ = "fire_danger_feed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    last_fetch_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    rows_applied: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)


# --- end field operations ---
