"""Prometheus metrics: counters of this process plus gauges read from the store
and Redis at scrape time (so every replica reports the same shared state)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerting.store.models import ALERT_STATUSES, CAMERA_STATUSES, Alert, Camera, Notification

log = logging.getLogger(__name__)


class Metrics:
    """This process's counters, in a registry of its own (several apps per test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "pinewatch_messages",
            "Stream entries handled by this consumer, by outcome (processed, duplicate, dead_letter, failed)",
            ["stream", "outcome"],
            registry=self.registry,
        )
        self.alerts_created = Counter(
            "pinewatch_alerts_created", "Alerts opened by this consumer", ["camera_id"], registry=self.registry
        )
        self.alerts_updated = Counter(
            "pinewatch_alerts_updated",
            "Frames joined to existing alerts by this consumer",
            ["camera_id"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "pinewatch_deliveries",
            "Notification attempts by this dispatcher, by outcome (sent, retry, failed)",
            ["channel", "outcome"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class StateCollector(Collector):
    """Alerts, cameras and outbox by status from the store; lag and pending per stream from Redis."""

    def __init__(self, factory: sessionmaker[Session], stream_groups: Callable[[], list[dict]] | None):
        self._factory = factory
        self._stream_groups = stream_groups

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._store_gauges()
        if self._stream_groups is not None:
            yield from self._stream_gauges()

    def _store_gauges(self) -> Iterator[GaugeMetricFamily]:
        alerts = GaugeMetricFamily("pinewatch_alerts", "Alerts in the store by status", labels=["status"])
        cameras = GaugeMetricFamily("pinewatch_cameras", "Cameras by health status", labels=["status"])
        outbox = GaugeMetricFamily(
            "pinewatch_notifications", "Outbox rows by channel and status", labels=["channel", "status"]
        )
        with self._factory() as session:
            # Every status gets a sample, zero included, so dashboards see the series from the start.
            alert_counts = dict.fromkeys(ALERT_STATUSES, 0)
            alert_counts.update(
                (s, n) for s, n in session.execute(select(Alert.status, func.count()).group_by(Alert.status))
            )
            for status, count in alert_counts.items():
                alerts.add_metric([status], count)
            camera_counts = dict.fromkeys(CAMERA_STATUSES, 0)
            camera_counts.update(
                (s, n) for s, n in session.execute(select(Camera.status, func.count()).group_by(Camera.status))
            )
            for status, count in camera_counts.items():
                cameras.add_metric([status], count)
            rows = session.execute(
                select(Notification.channel, Notification.status, func.count()).group_by(
                    Notification.channel, Notification.status
                )
            )
            for channel, status, count in rows:
                outbox.add_metric([channel, status], count)
        yield from (alerts, cameras, outbox)

    def _stream_gauges(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("pinewatch_redis_up", "1 when Redis answered this scrape")
        lag = GaugeMetricFamily(
            "pinewatch_consumer_lag", "Entries not yet delivered to the consumer group", labels=["stream"]
        )
        pending = GaugeMetricFamily(
            "pinewatch_consumer_pending", "Entries delivered but not acknowledged", labels=["stream"]
        )
        try:
            groups = self._stream_groups()
        except Exception as exc:  # Redis away: say so rather than fail the scrape
            log.warning("metrics: Redis unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for group in groups:
            if group.get("lag") is not None:
                lag.add_metric([group["stream"]], group["lag"])
            pending.add_metric([group["stream"]], group["pending"])
        yield from (up, lag, pending)
