"""Versioned messages on the Redis boundary between streams and alerting.

Both sides import this module and nothing of each other. A message is a Redis
Stream entry with three fields: `schema_version`, `type` and `payload` (JSON).
An entry whose version or type we do not know, or whose payload does not
validate, raises MessageError: the consumer moves it to the dead-letter stream.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

SCHEMA_VERSION = 1


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


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BoxDetection(_Message):
    label: Literal["smoke", "fire"]
    score: float = Field(ge=0.0, le=1.0)
    box: Box  # [x1, y1, x2, y2] normalised to the original frame


class DetectionEvent(_Message):
    """A camera frame in which the temporal vote confirmed smoke or fire."""

    type: Literal["detection"] = "detection"
    event_id: str = Field(min_length=1, description="unique per frame and camera; makes redelivery idempotent")
    camera_id: str = Field(min_length=1)
    captured_at: UtcDatetime
    detections: list[BoxDetection] = Field(min_length=1)
    evidence_path: str = Field(description="evidence JPEG, relative to the evidence directory")
    frame_width: int = Field(gt=0)
    frame_height: int = Field(gt=0)
    model: str = ""


class HealthEvent(_Message):
    """A change of a camera's state (online, offline, frozen, error)."""

    type: Literal["health"] = "health"
    camera_id: str = Field(min_length=1)
    at: UtcDatetime
    status: Literal["online", "offline", "frozen", "error"]
    detail: str = ""


Message = Union[DetectionEvent, HealthEvent]
_TYPES: dict[str, type[_Message]] = {"detection": DetectionEvent, "health": HealthEvent}


def encode(message: Message) -> dict[str, str]:
    """Fields for XADD."""
    return {
        "schema_version": str(SCHEMA_VERSION),
        "type": message.type,
        "payload": message.model_dump_json(),
    }


def decode(fields: dict) -> Message:
    """Fields from XREADGROUP (bytes or str) -> a message, or MessageError saying why not."""
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
        return model.model_validate(payload)
    except ValidationError as exc:
        raise MessageError(f"invalid {kind} payload: {exc.errors(include_url=False)}") from exc
