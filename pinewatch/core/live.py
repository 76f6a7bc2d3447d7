"""Live state shared through Redis keys (not streams): operator masks and liveness heartbeats.

Alerting writes the masks, stream workers read them; workers write heartbeats, alerting reads
them. Neither side imports the other, so the key names and the value shapes live here.

Operator masks (camera masks added by an operator's "dismiss + add mask"):
- MASKS_KEY is a hash, camera_id -> CameraMasks JSON, holding every camera that has any.
- MASKS_REVISION_KEY is an integer bumped (INCR) in the same transaction as each rewrite of the
  hash. A worker polls it and reloads the hash when it differs from the one it applied.
  A missing revision means "not published yet" (fresh Redis): workers keep what they have.

Heartbeats (keys that expire after `streams.offline_after_s`, under RedisConfig.heartbeat_prefix):
- camera_heartbeat_key: written after each good frame, CameraHeartbeat JSON.
- worker_heartbeat_key: written by each worker's supervisor every second, WorkerHeartbeat JSON.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

MASKS_KEY = "pinewatch:masks"
MASKS_REVISION_KEY = "pinewatch:masks:revision"
MASKS_SCHEMA_VERSION = 1
WORKER_KEY_PART = "worker:"  # camera ids cannot hold ':', so worker keys never collide with camera keys


class LiveStateError(ValueError):
    """A Redis value that does not decode; the text says why."""


def _polygon(points: list[list[float]]) -> list[list[float]]:
    if len(points) < 3:
        raise ValueError("a mask polygon needs at least 3 points")
    for point in points:
        if len(point) != 2 or not all(0.0 <= v <= 1.0 for v in point):
            raise ValueError(f"mask point {point} is not [x, y] within 0..1")
    return points


Polygon = Annotated[list[list[float]], AfterValidator(_polygon)]


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OperatorMask(_Value):
    id: int
    polygon: Polygon
    alert_id: int | None = None
    created_by: str = ""


class CameraMasks(_Value):
    schema_version: Literal[1] = MASKS_SCHEMA_VERSION
    camera_id: str = Field(min_length=1)
    masks: list[OperatorMask]


def encode_camera_masks(value: CameraMasks) -> str:
    return value.model_dump_json()


def decode_camera_masks(text: str | bytes) -> CameraMasks:
    try:
        return CameraMasks.model_validate_json(text)
    except ValidationError as exc:
        raise LiveStateError(f"bad operator-mask entry: {exc.errors(include_url=False)[:3]}") from exc


class CameraHeartbeat(BaseModel):
    camera_id: str
    worker: str
    status: str | None  # the worker's own health verdict (online, frozen, ...); None before the first
    at: datetime  # when the worker finished handling the camera's latest good frame (wall clock)
    last_frame_at: datetime  # that frame's capture time (video time for replayed recordings)
    interval_s: float  # the camera's sample interval, so readers can tell an overdue frame
    frame_mode: str | None = None  # day | night_ir | low_light (issue 12); None from older workers


class WorkerHeartbeat(BaseModel):
    worker: str
    at: datetime
    cameras: list[str]


def camera_heartbeat_key(prefix: str, camera_id: str) -> str:
    return f"{prefix}{camera_id}"


def worker_heartbeat_key(prefix: str, worker: str) -> str:
    return f"{prefix}{WORKER_KEY_PART}{worker}"


def decode_json(model: type[BaseModel], text: str | bytes):
    """Any of the heartbeat models from its Redis value, LiveStateError if it does not fit."""
    try:
        return model.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        raise LiveStateError(f"bad {model.__name__}: {exc}") from exc


def centre_masked(box: list[float], polygons: list[list[list[float]]]) -> bool:
    """True when the box's centre lies inside one of the polygons: the rule detector.filters
    applies in the workers (ray casting), repeated here because alerting may not import detector."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    for polygon in polygons:
        inside = False
        for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1]):
            if (y1 > cy) != (y2 > cy) and cx < x1 + (cy - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
        if inside:
            return True
    return False


# --- issue 12: the fire-danger level's vote per camera, the operator masks' mechanism ---
# VOTE_KEY is a hash camera_id -> CameraVote JSON, rewritten with VOTE_REVISION_KEY bumped in one
# transaction (alerting.danger.publish); workers poll the revision (streams.levels) like the masks.
VOTE_KEY = "pinewatch:vote"
VOTE_REVISION_KEY = "pinewatch:vote:revision"


class CameraVote(_Value):
    schema_version: Literal[1] = 1
    camera_id: str = Field(min_length=1)
    level: int = Field(ge=1, le=5, description="the day's fire-danger level")
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="the local day it is for")
    window: int = Field(ge=1)
    min_hits: int = Field(ge=1)
    alert_score: float = Field(gt=0, lt=1)
    min_mean_score: float = Field(ge=0, lt=1)


def decode_camera_vote(text: str | bytes) -> CameraVote:
    try:
        vote = CameraVote.model_validate_json(text)
    except ValidationError as exc:
        raise LiveStateError(f"bad vote entry: {exc.errors(include_url=False)[:3]}") from exc
    if vote.min_hits > vote.window:
        raise LiveStateError(f"bad vote entry: min_hits {vote.min_hits} exceeds window {vote.window}")
    return vote
# --- end issue 12 ---
