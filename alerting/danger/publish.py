"""Each camera's vote for the day's fire-danger level, to the stream workers through Redis.

The operator masks' mechanism (alerting.masks): VotePublisher is a MaskPublisher with its own
keys and table. Every poll it recomputes today's level of every camera, so an admin's change,
a feed's new rows, and midnight (fire_danger.timezone) all reach the workers within about
publish_poll_s plus the workers' own poll (streams.levels).
"""

from __future__ import annotations

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.danger.levels import levels_on, today
from alerting.masks import MaskPublisher
from alerting.store.models import Camera
from pinewatch.core.config import Settings, temporal_for_level
from pinewatch.core.live import VOTE_KEY, VOTE_REVISION_KEY, CameraVote


def vote_table(session: Session, settings: Settings) -> dict[str, str]:
    """camera_id -> CameraVote JSON for every enabled camera in the store, for today."""
    config = settings.fire_danger
    day = today(config)
    cameras = list(session.scalars(select(Camera).where(Camera.enabled.is_(True)).order_by(Camera.id)).all())
    table: dict[str, str] = {}
    for camera_id, found in levels_on(session, day, config, cameras).items():
        vote = temporal_for_level(settings.temporal, config.levels[found.level])
        table[camera_id] = CameraVote(
            camera_id=camera_id, level=found.level, day=day.isoformat(), window=vote.window, min_hits=vote.min_hits,
            alert_score=vote.alert_score, min_mean_score=vote.min_mean_score,
        ).model_dump_json()  # fmt: skip
    return table


class VotePublisher(MaskPublisher):
    key, revision_key, what = VOTE_KEY, VOTE_REVISION_KEY, "fire-danger votes"

    def __init__(self, client: redis.Redis, factory: sessionmaker[Session], settings: Settings) -> None:
        super().__init__(client, factory, settings.fire_danger.publish_poll_s)
        self.settings = settings

    def table(self, session: Session) -> dict[str, str]:
        return vote_table(session, self.settings)
