"""Operations gauges read at scrape time: is each camera alive, how old is its last frame, and
how many entries wait in the dead-letter stream.

A worker that dies (kill -9, a lost box) sends no "offline" event: only its heartbeats stop.
`pinewatch_camera_alive` follows the same liveness the pages show (alerting/liveness.py), so
an alert rule on it (deploy/prometheus/rules.yml) fires for a dead worker's cameras too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from alerting.liveness import LivenessReader

log = logging.getLogger(__name__)


class OpsCollector(Collector):
    def __init__(
        self, reader: Callable[[], LivenessReader], camera_ids: list[str], client: redis.Redis, dead_letter_stream: str
    ) -> None:
        self._reader = reader
        self._camera_ids = camera_ids
        self._client = client
        self._dead_letter_stream = dead_letter_stream

    def collect(self) -> Iterator[GaugeMetricFamily]:
        alive = GaugeMetricFamily(
            "pinewatch_camera_alive",
            "1 while the camera's worker sends its frames on time (liveness online); 0 when stale or offline",
            labels=["camera_id"],
        )
        age = GaugeMetricFamily(
            "pinewatch_camera_last_frame_age_seconds", "Seconds since a worker last handled a good frame", labels=["camera_id"]
        )
        for camera_id, live in self._reader().read(self._camera_ids, datetime.now(timezone.utc)).items():
            alive.add_metric([camera_id], 1.0 if live.liveness == "online" else 0.0)
            if live.last_frame_age_s is not None:
                age.add_metric([camera_id], live.last_frame_age_s)
        yield from (alive, age)
        try:
            waiting = self._client.xlen(self._dead_letter_stream)
        except (redis.RedisError, OSError) as exc:  # pinewatch_redis_up says so already
            log.debug("metrics: dead letters not counted: %s", exc)
            return
        dead = GaugeMetricFamily(
            "pinewatch_dead_letters", "Entries in the dead-letter stream (see pinewatch replay-dead-letters)"
        )
        dead.add_metric([], waiting)
        yield dead
