"""Versioned messages on the Redis boundary between streams and alerting.

Both sides import this module and nothing of each other. A message is a Redis
Stream entry with three fields: `schema_version`, `type` and `payload` (JSON).
An entry whose version or type we do not know, or whose payload does not
validate, raises MessageError: the consumer moves it to the dead-letter stream.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from pinewatch.core.redact import redact

SCHEMA_VERSION = 1
# Clocks drift a little; an event from further ahead is a broken clock, and if stored it
# would pin a camera's status (a later real event looks older) or an alert's first_seen.
MAX_FUTURE = timedelta(minutes=5)
# Bounds on text fields, so SQLite and PostgreSQL see the same thing (no 10 MB `model`).
MAX_ID = 200
MAX_TEXT = 2000
MAX_PATH = 1024
MAX_DETECTIONS = 1000
MAX_PIXELS = 100_000


class MessageError(ValueError):
    """A stream entry that cannot be decoded; the text says why."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(timezone.utc)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


def _normalised_box(box: list[float]) -> list[float]:
    x1, y1, x2, y2 = box
    if not (0.0 <= x1 <= x2 <= 1.0 and 0.0 <= y1 <= y2 <= 1.0):
        raise ValueError(f"box must be [x1, y1, x2, y2] within 0..1 with x1<=x2, y1<=y2, got {box}")
    return box


Box = Annotated[list[float], Field(min_length=4, max_length=4), AfterValidator(_normalised_box)]


def check_evidence_path(value: str) -> str:
    """The one shape check of an evidence path: relative, '/'-separated, no '..', no NUL.

    Readers still contain the resolved file in the evidence directory (alerting/api/files.py),
    which also refuses links that point out of it.
    """
    if not value:
        raise ValueError("the path is empty")
    if "\x00" in value or "\\" in value:
        raise ValueError("the path holds a NUL or a backslash")
    path = PurePosixPath(value)
    if path.is_absolute() or (len(value) > 1 and value[1] == ":"):
        raise ValueError("the path must be relative (to the evidence directory)")
    if ".." in path.parts:
        raise ValueError("the path must not contain '..'")
    return value


EvidencePath = Annotated[str, Field(max_length=MAX_PATH), AfterValidator(check_evidence_path)]


def _detail(value: str) -> str:
    """Redacted (it is shown as the API's status_detail and often quotes a camera URL) and cut
    to MAX_TEXT, not refused: a worker must never fail to report a long error."""
    value = redact(value)
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"


Detail = Annotated[str, AfterValidator(_detail)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BoxDetection(_Message):
    label: Literal["smoke", "fire"]
    score: float = Field(ge=0.0, le=1.0)
    box: Box  # [x1, y1, x2, y2] normalised to the original frame


class DetectionEvent(_Message):
    """A camera frame in which the temporal vote confirmed smoke or fire."""

    type: Literal["detection"] = "detection"
    event_id: str = Field(min_length=1, max_length=MAX_ID, description="unique per frame and camera; makes redelivery idempotent")
    camera_id: str = Field(min_length=1, max_length=MAX_ID)
    captured_at: UtcDatetime
    detections: list[BoxDetection] = Field(min_length=1, max_length=MAX_DETECTIONS)
    evidence_path: EvidencePath = Field(description="evidence JPEG, relative to the evidence directory")
    frame_width: int = Field(gt=0, le=MAX_PIXELS)
    frame_height: int = Field(gt=0, le=MAX_PIXELS)
    model: str = Field(default="", max_length=MAX_ID)
    # The camera's last frame with nothing detected, sent with the first detection after it
    # (issue 11: compare with the view before the smoke). Both or neither.
    before_path: EvidencePath | None = Field(default=None, description="clean frame JPEG, relative to the evidence directory")
    before_at: UtcDatetime | None = Field(default=None, description="when that clean frame was captured")

    @model_validator(mode="after")
    def _before_pair(self) -> "DetectionEvent":
        if (self.before_path is None) != (self.before_at is None):
            raise ValueError("before_path and before_at go together")
        if self.before_at is not None and self.before_at > self.captured_at:
            raise ValueError("before_at must not be after captured_at")
        return self

    @property
    def time(self) -> datetime:
        return self.captured_at


# Issue 12: what kind of picture a camera sends now (streams/frame_mode.py decides).
FRAME_MODES = ("day", "night_ir", "low_light")
FrameMode = Literal["day", "night_ir", "low_light"]


class HealthEvent(_Message):
    """A change of a camera's state (online, offline, frozen, error) or of its frame mode."""

    type: Literal["health"] = "health"
    camera_id: str = Field(min_length=1, max_length=MAX_ID)
    at: UtcDatetime
    status: Literal["online", "offline", "frozen", "error"]
    detail: Detail = ""
    frame_mode: FrameMode | None = Field(default=None, description="the camera's mode at `at`; None: not known yet")

    @property
    def time(self) -> datetime:
        return self.at


Message = Union[DetectionEvent, HealthEvent]
_TYPES: dict[str, type[_Message]] = {"detection": DetectionEvent, "health": HealthEvent}


def encode(message: Message) -> dict[str, str]:
    """Fields for XADD."""
    return {
        "schema_version": str(SCHEMA_VERSION),
        "type": message.type,
        "payload": message.model_dump_json(),
    }


def decode(fields: dict, now: datetime | None = None) -> Message:
    """Fields from XREADGROUP (bytes or str) -> a message, or MessageError saying why not.

    Events dated more than MAX_FUTURE after `now` (default: this clock) are refused here,
    at the boundary, rather than in the model, so a worker never fails to build one.
    """
    try:
        text = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in fields.items()}
    except UnicodeDecodeError as exc:
        raise MessageError(f"a field is not UTF-8: {exc}") from exc
    version = text.get("schema_version")
    if version != str(SCHEMA_VERSION):
        raise MessageError(f"unknown schema_version {version!r} (this build reads {SCHEMA_VERSION})")
    kind = text.get("type")
    model = _TYPES.get(kind or "")
    if model is None:
        raise MessageError(f"unknown message type {kind!r}")
    try:
        payload = json.loads(text.get("payload", ""))
    except json.JSONDecodeError as exc:
        raise MessageError(f"payload is not JSON: {exc}") from exc
    try:
        message = model.model_validate(payload)
    except ValidationError as exc:
        raise MessageError(f"invalid {kind} payload: {_short(exc)}") from exc
    now = now or datetime.now(timezone.utc)
    if message.time > now + MAX_FUTURE:
        raise MessageError(
            f"{kind} event dated {message.time.isoformat()} is more than {MAX_FUTURE.total_seconds():g} s "
            f"after this clock ({now.isoformat(timespec='seconds')})"
        )
    return message


def _short(exc: ValidationError) -> list[dict]:
    """The errors without the offending input: it may be megabytes (a dead letter keeps it anyway)."""
    return [{"loc": e["loc"], "msg": e["msg"]} for e in exc.errors(include_url=False, include_input=False)]
