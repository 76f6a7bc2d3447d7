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


class CameraList(BaseModel):
    items: list[CameraOut]


class NotificationOut(BaseModel):
    id: int
    alert_id: int
    kind: Literal["new", "confirmed"]
    channel: Literal["webhook", "email", "telegram"]
    recipient: str
    language: Literal["vi", "en"]
    status: Literal["pending", "sent", "failed"]
    attempts: int
    last_error: Redacted
    next_attempt_at: datetime | None
    sent_at: datetime | None


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
