"""Camera liveness judged here, from the heartbeat keys the stream workers write.

A worker writes, after each good frame, a camera heartbeat that expires after
`streams.offline_after_s`, and every second its own heartbeat (pinewatch.core.live). A camera is

- online:  its heartbeat is there, its worker's heartbeat is there, and its last frame is
           at most 2 x interval_s + STALE_GRACE_S old;
- stale:   both heartbeats are there but the last frame is older than that (samples overdue);
- offline: no heartbeat (expired: no good frame for offline_after_s, or a dead or stopped
           worker), its worker's heartbeat expired, the last frame is older than
           offline_after_s, or Redis cannot be read.

`liveness` holds whatever the camera's last health event (`status`) said: a SIGSTOPped or
killed worker sends no "offline" event, so pages show a camera offline when liveness is. `last_frame_at` is when the worker finished with the
camera's latest good frame (wall clock); this process remembers the last one it saw, so a
camera that went offline still shows how long ago its last frame was.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import redis
from pydantic import Field

from alerting.api.schemas import CameraOut
from pinewatch.core.live import (
    CameraHeartbeat,
    LiveStateError,
    WorkerHeartbeat,
    camera_heartbeat_key,
    decode_json,
    worker_heartbeat_key,
)

log = logging.getLogger(__name__)

STALE_GRACE_S = 5.0
LivenessState = Literal["online", "stale", "offline"]


@dataclass(frozen=True)
class Liveness:
    liveness: LivenessState
    last_frame_at: datetime | None
    last_frame_age_s: float | None
    worker: str | None
    detail: str
    frame_mode: str | None = None  # the latest heartbeat's (issue 12); None when offline or not sent


class CameraLiveOut(CameraOut):
    """A camera as GET /api/cameras and the `camera` SSE event carry it."""

    last_frame_at: datetime | None = Field(description="when a worker last handled a good frame of this camera")
    last_frame_age_s: float | None = Field(description="seconds since last_frame_at, at the time of the answer")
    liveness: LivenessState = Field(description="online | stale (frames overdue) | offline (no heartbeat)")
    worker: str | None = Field(description="the worker that sent the last frame")
    liveness_detail: str = Field(description="why stale or offline; empty when online")


class LivenessReader:
    """Reads heartbeats for a set of cameras; thread-safe; keeps the newest heartbeat seen per camera."""

    def __init__(self, client: redis.Redis | None, prefix: str, offline_after_s: float) -> None:
        self.client = client
        self.prefix = prefix
        self.offline_after_s = offline_after_s
        self._last_seen: dict[str, CameraHeartbeat] = {}
        self._lock = threading.Lock()

    def read(self, camera_ids: list[str], now: datetime) -> dict[str, Liveness]:
        try:
            beats = self._camera_heartbeats(camera_ids)
            workers = self._live_workers({b.worker for b in beats.values()})
        except (redis.RedisError, OSError) as exc:
            log.warning("cannot read heartbeats: %s", exc)
            return {c: self._offline(c, now, f"cannot read heartbeats: {exc}") for c in camera_ids}
        result = {}
        for camera_id in camera_ids:
            beat = beats.get(camera_id)
            if beat is None:
                result[camera_id] = self._offline(camera_id, now, f"no heartbeat for over {self.offline_after_s:g}s")
                continue
            age = max(0.0, (now - beat.at).total_seconds())
            if beat.worker not in workers:
                result[camera_id] = Liveness("offline", beat.at, age, beat.worker, f"worker {beat.worker} is silent")
            elif age > self.offline_after_s:
                result[camera_id] = Liveness("offline", beat.at, age, beat.worker, f"no frame for {age:.0f}s")
            elif age > 2 * beat.interval_s + STALE_GRACE_S:
                result[camera_id] = Liveness("stale", beat.at, age, beat.worker, f"no frame for {age:.0f}s", beat.frame_mode)
            else:
                result[camera_id] = Liveness("online", beat.at, age, beat.worker, "", beat.frame_mode)
        return result

    def _camera_heartbeats(self, camera_ids: list[str]) -> dict[str, CameraHeartbeat]:
        if not camera_ids or self.client is None:
            return {}
        values = self.client.mget([camera_heartbeat_key(self.prefix, c) for c in camera_ids])
        beats = {}
        for camera_id, value in zip(camera_ids, values):
            if value is None:
                continue
            try:
                beats[camera_id] = decode_json(CameraHeartbeat, value)
            except LiveStateError as exc:
                log.warning("camera %s: %s", camera_id, exc)
        with self._lock:
            for camera_id, beat in beats.items():
                known = self._last_seen.get(camera_id)
                if known is None or beat.at > known.at:
                    self._last_seen[camera_id] = beat
        return beats

    def _live_workers(self, names: set[str]) -> set[str]:
        names = sorted(names)
        if not names:
            return set()
        values = self.client.mget([worker_heartbeat_key(self.prefix, n) for n in names])
        live = set()
        for name, value in zip(names, values):
            if value is None:
                continue
            try:
                decode_json(WorkerHeartbeat, value)
            except LiveStateError as exc:
                log.warning("worker %s: %s", name, exc)
                continue
            live.add(name)
        return live

    def _offline(self, camera_id: str, now: datetime, detail: str) -> Liveness:
        with self._lock:
            known = self._last_seen.get(camera_id)
        if known is None:
            return Liveness("offline", None, None, None, detail)
        return Liveness("offline", known.at, max(0.0, (now - known.at).total_seconds()), known.worker, detail)


def reader_for(app_state, ctx) -> LivenessReader:
    """The app's one reader (created on first use, so it remembers last frames across requests)."""
    reader = getattr(app_state, "liveness", None)
    if reader is None:
        reader = app_state.liveness = LivenessReader(
            ctx.redis, ctx.settings.redis.heartbeat_prefix, ctx.settings.streams.offline_after_s
        )
    return reader
