"""Incidents in the store: the list, one incident with its alerts, and a verdict on all of them.

An incident's status is not stored: it follows its alerts (the most pressing one speaks for
it), so a verdict on one alert can never leave the incident saying something else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from alerting.notify.outbox import Recipient
from alerting.store.db import write_session
from alerting.store.models import Alert, Incident
from alerting.store.repository import NotFound, VerdictError, can_take, check_verdict, decide, newest_first_page

@dataclass(frozen=True)
class IncidentFilter:
    statuses: tuple[str, ...] = ()  # incidents with an alert in one of these statuses; empty: all
    since: datetime | None = None  # still seen at or after this
    until: datetime | None = None  # first seen at or before this
    limit: int = 50
    offset: int = 0


def _conditions(query: IncidentFilter) -> list:
    conditions = []
    if query.statuses:
        conditions.append(Incident.id.in_(select(Alert.incident_id).where(Alert.status.in_(query.statuses))))
    if query.since:
        conditions.append(Incident.last_seen >= query.since)
    if query.until:
        conditions.append(Incident.first_seen <= query.until)
    return conditions


def _with_alerts():
    return selectinload(Incident.alerts).selectinload(Alert.camera)


def list_incidents(session: Session, query: IncidentFilter) -> tuple[list[Incident], int]:
    """One page, most recently seen first, and the total that matched."""
    return newest_first_page(session, Incident, _conditions(query), _with_alerts(), query.limit, query.offset)


def get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.scalar(select(Incident).options(_with_alerts()).where(Incident.id == incident_id))
    if incident is None:
        raise NotFound(f"incident {incident_id} not found")
    return incident


@dataclass
class IncidentVerdict:
    incident: Incident
    applied: list[int]  # alerts that took the verdict
    skipped: list[int]  # alerts whose status does not allow it (already decided)


def apply_incident_verdict(
    factory: sessionmaker[Session],
    incident_id: int,
    status: str,
    by: str,
    note: str,
    add_mask: bool,
    recipients: list[Recipient],
    reason: str | None = None,
) -> IncidentVerdict:
    """The verdict on each alert of the incident that can take it, in one transaction.

    The same rules as one alert's verdict (repository.decide); a confirmation notifies once,
    through the incident's first alert that takes it. VerdictError when no alert can take it.
    """
    check_verdict(status, add_mask, reason)
    with write_session(factory) as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise NotFound(f"incident {incident_id} not found")
        members = session.scalars(select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.id)).all()
        takers = [alert for alert in members if can_take(alert, status)]
        if not takers:
            now = ", ".join(f"#{a.id} {a.status}" for a in members)
            raise VerdictError(f"no alert of incident {incident_id} can become {status} ({now})")
        for index, alert in enumerate(takers):
            decide(session, alert, status, by, note, add_mask, recipients, reason, notify=index == 0)
        applied = [alert.id for alert in takers]
        skipped = [alert.id for alert in members if alert not in takers]
    with factory() as session:
        return IncidentVerdict(get_incident(session, incident_id), applied, skipped)
