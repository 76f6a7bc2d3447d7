"""Operator masks reach running cameras: poll the published revision, reload on change.

Alerting publishes every camera's operator masks (pinewatch.core.live). `MaskWatcher.refresh`
reads the revision (one GET); when it differs from the one applied it reads the hash and gives
each camera's FrameJudge its config masks plus its operator masks. `run` does that every
`poll_s` in its own thread, so a slow or dead Redis never delays a camera or a health tick.
A malformed entry is logged and that camera keeps the masks it had.
"""

from __future__ import annotations

import logging
import threading

import redis

from detector.pipeline import FrameJudge
from pinewatch.core.config import RedisConfig
from pinewatch.core.live import MASKS_KEY, MASKS_REVISION_KEY, LiveStateError, decode_camera_masks

log = logging.getLogger(__name__)

POLL_S = 1.0


class MaskWatcher:
    # What it watches: a hash of per-camera entries and the revision bumped with each rewrite.
    # streams.levels.VoteWatcher watches the fire-danger vote the same way (issue 12).
    key, revision_key, what = MASKS_KEY, MASKS_REVISION_KEY, "operator masks"

    def __init__(self, config: RedisConfig, judges: dict[str, tuple[FrameJudge, list]], poll_s: float = POLL_S) -> None:
        """judges: camera_id -> (its FrameJudge, its config masks)."""
        self.client = redis.Redis.from_url(
            config.url, socket_timeout=config.socket_timeout_s, socket_connect_timeout=config.socket_timeout_s
        )
        self.judges = judges
        self.poll_s = poll_s
        self.revision: bytes | None = None  # the revision applied; None: none yet
        self.operator_masks: dict[str, list] = {}  # camera_id -> polygons applied from the store

    def refresh(self) -> bool:
        """One poll; True when new masks were applied. Redis errors propagate to the caller."""
        revision = self.client.get(self.revision_key)
        if revision is None or revision == self.revision:
            return False
        with self.client.pipeline(transaction=True) as pipe:  # hash and revision as of one moment
            pipe.get(self.revision_key)
            pipe.hgetall(self.key)
            revision, entries = pipe.execute()
        self.apply(entries)
        self.revision = revision
        return True

    def apply(self, entries: dict[bytes, bytes]) -> None:
        """Give each camera's judge its config masks plus the published operator masks."""
        published: dict[str, list] = {}
        for raw_id, raw in entries.items():
            camera_id = raw_id.decode(errors="replace")
            try:
                value = decode_camera_masks(raw)
            except LiveStateError as exc:
                log.error("operator masks of camera %s ignored (keeping the previous ones): %s", camera_id, exc)
                published[camera_id] = self.operator_masks.get(camera_id, [])
                continue
            published[camera_id] = [mask.polygon for mask in value.masks]
        for camera_id, (judge, config_masks) in self.judges.items():
            polygons = published.get(camera_id, [])
            if polygons != self.operator_masks.get(camera_id, []):
                log.info("camera %s: %d operator masks now apply", camera_id, len(polygons))
            # one assignment: the camera thread sees the old list or the new one, never half of it
            judge.masks = [list(p) for p in config_masks] + [list(p) for p in polygons]
        self.operator_masks = published

    def run(self, stop: threading.Event) -> None:
        failing = False
        while not stop.wait(self.poll_s):
            try:
                self.refresh()
                failing = False
            except (redis.RedisError, OSError) as exc:
                if not failing:  # once per outage
                    log.warning("cannot read %s (keeping the current ones): %s", self.what, exc)
                failing = True

    def close(self) -> None:
        self.client.close()
