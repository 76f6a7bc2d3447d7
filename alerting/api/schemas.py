"""Response and request bodies: the HTTP API contract, as OpenAPI sees it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from pinewatch.core.redact import redact

# other_smoke and out: issue 11 (verdicts that teach the model, active fires)
AlertStatus = Literal["new", "acknowledged", "confirmed", "dismissed", "other_smoke", "out"]
DismissReason = Literal["cloud", "fog_haze", "dust", "burning", "sun_glare", "lens", "other"]
Role = Literal["ranger", "operator", "admin", "worker"]
# Texts that may quote a camera or webhook URL: redacted on the way out too, for rows
# stored before redaction (issue 14).
Redacted = Annotated[str, AfterValidator(redact)]


class Location(BaseModel):
    latitude: float
    longitude: float
    uncertainty_m: float | None
    camera_ids: list[str]
    text: str | None = Field(default=None, description="the point to the precision its uncertainty supports (issue 11)")


# --- incidents (issue 11) ---
class IncidentRef(BaseModel):
    """The incident an alert belongs to: one fire, one point, every camera that sees it."""

    id: int
    location: Location | None = Field(description="the incident's one point, from its cameras' crossing cones")
    camera_ids: list[str]


# --- end incidents ---


class AlertOut(BaseModel):
    id: int
    camera_id: str
    camera_name: str
    label: Literal["smoke", "fire"]
    score: float = Field(description="highest score of its frames")
    first_seen: datetime
    last_seen: datetime
    status: AlertStatus
    frame_count: int
    evidence_url: str = Field(description="latest frame's evidence JPEG")
    box: list[float] = Field(description="latest box, [x1, y1, x2, y2] normalised")
    bearing_deg: float | None
    bearing_min_deg: float | None
    bearing_max_deg: float | None
    location: Location | None
    updated_at: datetime
    incident: IncidentRef | None = Field(default=None, description="the fire this alert is one camera's view of (issue 11)")
    # issue 11: compare with the camera's last frame before the smoke
    before_url: str | None = Field(default=None, description="the camera's last frame with nothing detected before this alert")
    before_at: datetime | None = Field(default=None, description="when that frame was captured")
    # issue 12: field operations
    danger_level: int | None = Field(default=None, ge=1, le=5, description="the camera's fire-danger level (1-5 = I-V) the day the alert opened")
    escalation_tier: int = Field(default=0, description="the highest recipient tier told so far (escalation)")
    evidence_deleted_at: datetime | None = Field(
        default=None, description="when retention deleted its pictures (evidence_url and frames' pictures are gone)"
    )


class FrameOut(BaseModel):
    id: int
    event_id: str
    captured_at: datetime
    score: float
    label: Literal["smoke", "fire"]
    box: list[float]
    evidence_url: str


class VerdictOut(BaseModel):
    status: AlertStatus
    by: str
    at: datetime
    note: str
    added_mask: bool
    reason: DismissReason | None = Field(default=None, description="why it was dismissed (issue 11)")


class AlertDetailOut(AlertOut):
    frames: list[FrameOut]
    verdicts: list[VerdictOut]


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int


# --- incidents (issue 11) ---
IncidentStatus = AlertStatus  # the most pressing status among its alerts


class IncidentOut(BaseModel):
    id: int
    status: IncidentStatus = Field(description="the most pressing of its alerts': confirmed, new, acknowledged, out, other_smoke, dismissed")
    label: Literal["smoke", "fire"] = Field(description="fire when any of its alerts saw fire")
    score: float = Field(description="highest score of its alerts")
    first_seen: datetime
    last_seen: datetime
    camera_ids: list[str]
    location: Location | None = Field(description="one point triangulated from its cameras' latest cones")
    alerts: list[AlertOut] = Field(description="each camera's view: its alerts, oldest first")
    updated_at: datetime


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int


class IncidentVerdictOut(BaseModel):
    incident: IncidentOut
    applied: list[int] = Field(description="alerts that took the verdict")
    skipped: list[int] = Field(description="alerts whose status does not allow it")


# --- end incidents ---


class VerdictIn(BaseModel):
    status: Literal["acknowledged", "confirmed", "dismissed", "other_smoke", "out"]
    note: str = Field(default="", max_length=2000)
    reason: DismissReason | None = Field(default=None, description="with dismissed: cloud, fog_haze, dust, burning, sun_glare, lens, other")
    add_mask: bool = Field(default=False, description="with dismissed: mask the alert's box on its camera")


class CameraOut(BaseModel):
    id: str
    name: str
    latitude: float | None
    longitude: float | None
    azimuth_deg: float | None
    fov_deg: float | None
    status: Literal["online", "offline", "frozen", "error", "unknown"]
    status_detail: Redacted
    last_seen: datetime | None
    masks: list[list[list[float]]] = Field(description="polygons of [x, y] points, normalised")
    district: str = Field(default="", description="its district (issue 12)")
    # issue 12: night and infrared
    frame_mode: Literal["day", "night_ir", "low_light"] | None = Field(
        default=None, description="the picture the camera sends now: day, night_ir (greyscale / infrared) or low_light; null: not known yet"
    )
    frame_mode_at: datetime | None = Field(default=None, description="when the camera switched to that mode")


class CameraList(BaseModel):
    items: list[CameraOut]


class NotificationOut(BaseModel):
    id: int
    alert_id: int
    kind: Literal["new", "confirmed", "escalated"]  # escalated: issue 12
    channel: Literal["webhook", "email", "telegram", "zalo", "sms"]
    recipient: str
    language: Literal["vi", "en"]
    status: Literal["pending", "sent", "failed"]
    attempts: int
    last_error: Redacted
    next_attempt_at: datetime | None
    sent_at: datetime | None
    group: str = Field(default="", description="the recipient group the row is for (issue 12); empty: the plain lists")
    tier: int | None = Field(default=None, description="that group's escalation tier")


class NotificationList(BaseModel):
    items: list[NotificationOut]


class Me(BaseModel):
    name: str
    role: Role


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role


class TokenCreated(BaseModel):
    token: str = Field(description="shown once; only its hash is stored")
    name: str
    role: Role


class TokenInfo(BaseModel):
    id: int
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None


class TokenList(BaseModel):
    items: list[TokenInfo]


class Health(BaseModel):
    status: Literal["ok"]
