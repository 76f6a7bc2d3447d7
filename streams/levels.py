"""The day's fire-danger level reaches running cameras: the operator masks' mechanism, another key.

Alerting publishes each camera's vote for its level (pinewatch.core.live.CameraVote under
VOTE_KEY, with VOTE_REVISION_KEY bumped; alerting.danger.publish). `VoteWatcher` polls the
revision like streams.masks.MaskWatcher (it is one) and sets each camera's "danger_level" vote
layer (detector.pipeline.FrameJudge.set_vote_layer); the camera thread applies it on its next
frame. A camera without an entry votes with the temporal section; a malformed entry is logged
and that camera keeps the vote it had.
"""

from __future__ import annotations

import logging
import threading

import redis

from detector.pipeline import FrameJudge
from pinewatch.core.config import ROMAN, RedisConfig
from pinewatch.core.live import VOTE_KEY, VOTE_REVISION_KEY, CameraVote, LiveStateError, decode_camera_vote
from streams.masks import POLL_S, MaskWatcher

log = logging.getLogger(__name__)

LAYER = "danger_level"


class VoteWatcher(MaskWatcher):
    key, revision_key, what = VOTE_KEY, VOTE_REVISION_KEY, "fire-danger levels"

    def __init__(self, config: RedisConfig, judges: dict[str, FrameJudge], poll_s: float = POLL_S) -> None:
        super().__init__(config, {camera_id: (judge, []) for camera_id, judge in judges.items()}, poll_s)
        self.votes: dict[str, CameraVote] = {}  # camera_id -> the vote applied

    def apply(self, entries: dict[bytes, bytes]) -> None:
        published: dict[str, CameraVote] = {}
        for raw_id, raw in entries.items():
            camera_id = raw_id.decode(errors="replace")
            try:
                published[camera_id] = decode_camera_vote(raw)
            except LiveStateError as exc:
                log.error("fire-danger vote of camera %s ignored (keeping the previous one): %s", camera_id, exc)
                if camera_id in self.votes:
                    published[camera_id] = self.votes[camera_id]
        for camera_id, (judge, _) in self.judges.items():
            vote = published.get(camera_id)
            if vote == self.votes.get(camera_id):
                continue
            if vote is None:
                judge.set_vote_layer(LAYER, {})
                log.info("camera %s: no fire-danger level published; the temporal section's vote applies", camera_id)
                continue
            params = judge.set_vote_layer(
                LAYER,
                {"window": vote.window, "min_hits": vote.min_hits, "alert_score": vote.alert_score, "min_mean_score": vote.min_mean_score},
            )
            log.info(
                "camera %s: fire-danger level %s on %s: %d of %d frames at score >= %g (mean >= %g)",
                camera_id, ROMAN[vote.level], vote.day, params.min_hits, params.window, params.alert_score, params.min_mean_score,
            )  # fmt: skip
        self.votes = published


def start(watcher: MaskWatcher, stop) -> threading.Thread:
    """Apply what is published before the first frame (when Redis is there), then poll in a thread."""
    try:
        watcher.refresh()
    except (redis.RedisError, OSError) as exc:
        log.warning("%s not read at start (retrying every %gs): %s", watcher.what, watcher.poll_s, exc)
    thread = threading.Thread(target=watcher.run, args=(stop,), name=watcher.what, daemon=True)
    thread.start()
    return thread
