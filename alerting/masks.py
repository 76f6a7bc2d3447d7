"""Operator masks from the store to the stream workers, through Redis (pinewatch.core.live).

`MaskPublisher.sync` reads every verdict mask from the store and, when the set differs from the
one it last published or Redis has lost the revision (restart, flush), rewrites the hash and
bumps the revision in one transaction. `run` does that every `poll_s`: a verdict or a DELETE in
any API replica reaches the workers within about poll_s plus the workers' own poll.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

import redis
from sqlalchemy.orm import Session, sessionmaker

from alerting.store.repository import list_masks
from pinewatch.core.live import (
    MASKS_KEY,
    MASKS_REVISION_KEY,
    CameraMasks,
    OperatorMask,
    encode_camera_masks,
)

log = logging.getLogger(__name__)

POLL_S = 1.0


def mask_table(session: Session) -> dict[str, str]:
    """camera_id -> CameraMasks JSON, for every camera that has operator (verdict) masks."""
    by_camera: dict[str, list[OperatorMask]] = defaultdict(list)
    for mask in list_masks(session, source="verdict"):
        by_camera[mask.camera_id].append(
            OperatorMask(id=mask.id, polygon=mask.polygon, alert_id=mask.alert_id, created_by=mask.created_by)
        )
    return {
        camera_id: encode_camera_masks(CameraMasks(camera_id=camera_id, masks=masks))
        for camera_id, masks in by_camera.items()
    }


def publish(client: redis.Redis, table: dict[str, str], key: str = MASKS_KEY, revision_key: str = MASKS_REVISION_KEY) -> int:
    """Replace the published hash with `table`; returns the new revision."""
    with client.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        if table:
            pipe.hset(key, mapping=table)
        pipe.incr(revision_key)
        return int(pipe.execute()[-1])


class MaskPublisher:
    # What it publishes; alerting.danger.publish.VotePublisher publishes each camera's
    # fire-danger vote the same way under its own keys (issue 12).
    key, revision_key, what = MASKS_KEY, MASKS_REVISION_KEY, "operator masks"

    def table(self, session: Session) -> dict[str, str]:
        return mask_table(session)

    def __init__(self, client: redis.Redis, factory: sessionmaker[Session], poll_s: float = POLL_S) -> None:
        self.client = client
        self.factory = factory
        self.poll_s = poll_s
        self._published: dict[str, str] | None = None

    def sync(self) -> bool:
        """Publish if the store's masks changed or Redis lost them; True when it published."""
        with self.factory() as session:
            table = self.table(session)
        if table == self._published and self.client.exists(self.revision_key):
            return False
        revision = publish(self.client, table, self.key, self.revision_key)
        log.info("%s published: %d cameras, revision %d", self.what, len(table), revision)
        self._published = table
        return True

    def run(self, stop: threading.Event) -> None:
        failing = False
        while True:
            try:
                self.sync()
                failing = False
            except Exception as exc:  # Redis or the database away: keep trying, log once per outage
                if not failing:
                    log.warning("cannot publish %s yet: %s", self.what, exc)
                failing = True
            if stop.wait(self.poll_s):
                return
