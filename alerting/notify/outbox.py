"""The notification outbox: rows written with the alert, claimed and settled by dispatchers.

Each row is one message to one recipient; rows never wait on each other. A
dispatcher claims a due row with a lease (so replicas do not send it twice),
and records the outcome: sent, retry later with exponential backoff, or failed
after the last attempt or a permanent refusal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from alerting.api.files import safe_file
from alerting.notify.picture import boxed_jpeg
from alerting.notify.texts import AlertSummary, Text, render
from alerting.store.db import write_session
from alerting.store.models import Alert, Notification, utcnow
from alerting.views import alert_model
from pinewatch.core.config import NotifyConfig
from pinewatch.core.redact import redact

_ERROR_LIMIT = 2000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    channel: str  # webhook | email | telegram | zalo | sms
    to: str
    language: str
    group: str = ""  # issue 12: the recipient group it came from ("" = the plain lists)
    tier: int | None = None  # issue 12: that group's escalation tier


def recipients_from_config(notify: NotifyConfig) -> list[Recipient]:
    """Everyone to notify: the plain lists (in notify.language) and the per-language recipients."""
    found = [Recipient("webhook", url, notify.language) for url in notify.webhook_urls]
    found += [Recipient("email", address, notify.language) for address in notify.email_to]
    found += [Recipient("telegram", chat, notify.language) for chat in notify.telegram_chat_ids]
    found += [Recipient(r.channel, r.to, r.language or notify.language) for r in notify.recipients]
    unique: dict[tuple[str, str], Recipient] = {}
    for recipient in found:
        unique.setdefault((recipient.channel, recipient.to), recipient)
    return list(unique.values())


def enqueue(session: Session, alert_id: int, kind: str, recipients: list[Recipient]) -> None:
    """Add one outbox row per recipient, in the caller's transaction."""
    now = utcnow()
    for recipient in recipients:
        session.add(
            Notification(
                alert_id=alert_id,
                kind=kind,
                channel=recipient.channel,
                recipient=recipient.to,
                language=recipient.language,
                next_attempt_at=now,
                group_name=recipient.group,
                tier=recipient.tier,
            )
        )


class DeliveryError(Exception):
    """A failed attempt. permanent: retrying cannot help (e.g. HTTP 400, SMTP 550)."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after_s: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Delivery:
    """Everything a sender needs for one attempt."""

    notification_id: int
    channel: str
    recipient: str
    language: str
    attempt: int
    summary: AlertSummary
    text: Text
    alert: dict  # the API's Alert JSON
    evidence_file: Path | None  # stored as captured, without boxes

    def picture(self) -> bytes | None:
        """The evidence with the alert's box drawn on a copy (drawn here, in the sender's thread)."""
        if self.evidence_file is None:
            return None
        return boxed_jpeg(self.evidence_file, list(self.alert.get("box") or []), self.summary.score)


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Wait after the given number of failed attempts: base, 2*base, 4*base... capped."""
    return min(max_s, base_s * 2 ** max(0, attempts - 1))


def claim_due(
    factory: sessionmaker[Session],
    limit: int,
    lease: timedelta,
    evidence_dir: Path,
    public_base_url: str,
) -> list[Delivery]:
    """Lease up to `limit` due rows and build their deliveries."""
    if limit <= 0:
        return []
    now = utcnow()
    claimable = (
        (Notification.status == "pending")
        & (Notification.next_attempt_at <= now)
        & or_(Notification.locked_until.is_(None), Notification.locked_until < now)
    )
    deliveries: list[Delivery] = []
    with factory() as session:
        candidates = session.scalars(
            select(Notification.id).where(claimable).order_by(Notification.next_attempt_at).limit(limit)
        ).all()
    for notification_id in candidates:
        with write_session(factory, serialize=False) as session:
            # A conditional update is the lease: exactly one dispatcher sees rowcount 1.
            claimed = session.execute(
                update(Notification)
                .where(Notification.id == notification_id, claimable)
                .values(locked_until=now + lease)
            ).rowcount
            if claimed != 1:
                continue
            notification = session.get(Notification, notification_id)
            alert = session.get(Alert, notification.alert_id)
            deliveries.append(_delivery(notification, alert, evidence_dir, public_base_url))
    return deliveries


def _delivery(notification: Notification, alert: Alert, evidence_dir: Path, public_base_url: str) -> Delivery:
    model = alert_model(alert)  # the one alert shape (issue 13): webhook body and texts both come from it
    summary = AlertSummary.of(model, notification.kind, f"{public_base_url.rstrip('/')}/?alert={alert.id}")
    # Contained like the API route: a path that leads out of the evidence directory (stored
    # before messages were checked, or a link) is never attached; the text still goes out.
    evidence = safe_file(evidence_dir, alert.evidence_path, suffixes=(".jpg", ".jpeg")) if alert.evidence_path else None
    if alert.evidence_path and evidence is None:
        log.warning("alert %s: evidence %r is not a JPEG inside %s; sending without it", alert.id, alert.evidence_path, evidence_dir)
    return Delivery(
        notification_id=notification.id,
        channel=notification.channel,
        recipient=notification.recipient,
        language=notification.language,
        attempt=notification.attempts + 1,
        summary=summary,
        text=render(summary, notification.language),
        alert=model.model_dump(mode="json"),
        evidence_file=evidence,
    )


def record_sent(factory: sessionmaker[Session], notification_id: int) -> None:
    with write_session(factory, serialize=False) as session:
        notification = session.get(Notification, notification_id)
        notification.status = "sent"
        notification.attempts += 1
        notification.sent_at = utcnow()
        notification.last_error = ""
        notification.locked_until = None


def record_failure(
    factory: sessionmaker[Session],
    notification_id: int,
    error: DeliveryError,
    max_attempts: int,
    retry_base_s: float,
    retry_max_s: float,
) -> str:
    """Schedule a retry or give up; returns the new status."""
    now = utcnow()
    with write_session(factory, serialize=False) as session:
        notification = session.get(Notification, notification_id)
        notification.attempts += 1
        notification.last_error = redact(str(error))[:_ERROR_LIMIT]  # shown by GET /api/notifications
        notification.locked_until = None
        if error.permanent or notification.attempts >= max_attempts:
            notification.status = "failed"
        else:
            wait = backoff_s(notification.attempts, retry_base_s, retry_max_s)
            if error.retry_after_s is not None:
                wait = max(wait, error.retry_after_s)
            notification.next_attempt_at = now + timedelta(seconds=wait)
        return notification.status
