"""Sends due outbox rows on a pool of threads: a slow or failing recipient holds
one thread for at most one timeout and never delays the rows behind it."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from alerting.metrics import Metrics
from alerting.notify.email import EmailSender
from alerting.notify.outbox import Delivery, DeliveryError, claim_due, record_failure, record_sent
from alerting.notify.telegram import TelegramSender
from alerting.notify.sms import SmsSender
from alerting.notify.webhook import WebhookSender
from alerting.notify.zalo import ZaloSender
from pinewatch.core.config import FireDangerConfig, NotifyConfig

log = logging.getLogger(__name__)


class Sender(Protocol):
    def send(self, delivery: Delivery) -> None:
        """Deliver or raise DeliveryError."""


def default_senders(notify: NotifyConfig, timezone: str | None = None) -> dict[str, Sender]:
    """timezone: the SMS text's local time (fire_danger.timezone; its default when None)."""
    return {
        "webhook": WebhookSender(notify),
        "email": EmailSender(notify),
        "telegram": TelegramSender(notify),
        "zalo": ZaloSender(notify),  # issue 12
        "sms": SmsSender(notify, timezone or FireDangerConfig().timezone),  # issue 12
    }


class Dispatcher:
    def __init__(
        self,
        factory: sessionmaker[Session],
        notify: NotifyConfig,
        evidence_dir: Path,
        public_base_url: str,
        metrics: Metrics | None = None,
        senders: dict[str, Sender] | None = None,
        timezone: str | None = None,
    ):
        self._factory = factory
        self._notify = notify
        self._evidence_dir = evidence_dir
        self._public_base_url = public_base_url
        self._metrics = metrics
        self._senders = senders if senders is not None else default_senders(notify, timezone)
        self._pool = ThreadPoolExecutor(notify.threads, thread_name_prefix="pinewatch-notify")
        self._in_flight: set[Future] = set()
        # The lease must outlast one attempt (several network round trips, each
        # bounded by timeout_s), or a second dispatcher would send it again.
        self._lease = timedelta(seconds=max(60.0, notify.timeout_s * 6))

    def run_once(self) -> int:
        """Claim as many due rows as there are free threads; returns how many started."""
        self._in_flight = {f for f in self._in_flight if not f.done()}
        free = self._notify.threads - len(self._in_flight)
        deliveries = claim_due(self._factory, free, self._lease, self._evidence_dir, self._public_base_url)
        for delivery in deliveries:
            self._in_flight.add(self._pool.submit(self._deliver, delivery))
        return len(deliveries)

    def drain(self, timeout_s: float | None = None) -> None:
        """Wait for the deliveries in flight."""
        wait(self._in_flight, timeout=timeout_s)

    def run(self, stop: threading.Event) -> None:
        log.info("notification dispatcher started (%d threads)", self._notify.threads)
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database may be away for a while; keep going
                log.exception("notification dispatcher: claiming failed")
            stop.wait(self._notify.poll_s)
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)

    def _deliver(self, delivery: Delivery) -> None:
        sender = self._senders.get(delivery.channel)
        try:
            if sender is None:
                raise DeliveryError(f"unknown channel {delivery.channel!r}", permanent=True)
            sender.send(delivery)
        except Exception as exc:
            error = exc if isinstance(exc, DeliveryError) else DeliveryError(f"{type(exc).__name__}: {exc}")
            self._settle_failure(delivery, error)
            return
        try:
            record_sent(self._factory, delivery.notification_id)
        except Exception:
            # Sent but not recorded: the lease expires and it goes again (at least once).
            log.exception("notification %d sent but not recorded", delivery.notification_id)
            return
        log.info("notification %d sent by %s to %s", delivery.notification_id, delivery.channel, delivery.recipient)
        if self._metrics is not None:
            self._metrics.deliveries.labels(delivery.channel, "sent").inc()

    def _settle_failure(self, delivery: Delivery, error: DeliveryError) -> None:
        notify = self._notify
        try:
            status = record_failure(
                self._factory,
                delivery.notification_id,
                error,
                notify.max_attempts,
                notify.retry_base_s,
                notify.retry_max_s,
            )
        except Exception:
            log.exception("notification %d failed and the failure was not recorded", delivery.notification_id)
            return
        outcome = "failed" if status == "failed" else "retry"
        log.warning(
            "notification %d by %s attempt %d: %s (%s)",
            delivery.notification_id,
            delivery.channel,
            delivery.attempt,
            error,
            outcome,
        )
        if self._metrics is not None:
            self._metrics.deliveries.labels(delivery.channel, outcome).inc()
