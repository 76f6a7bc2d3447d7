"""Who hears of an alert, and when: recipient groups by area, escalation, the district group.

- A new alert goes at once to the plain recipient lists and to every tier-0 group whose area
  holds it (`opened`, called by ingest in the alert's transaction, which also stores the
  camera's fire-danger level of the day on the alert).
- While it stays new (nobody acknowledged, confirmed or dismissed it), each time its level's
  `escalate_after_min` passes, `Escalator` tells the next higher tier with a group covering it.
- When an operator confirms it, `Escalator` tells the groups already told (the tiers reached)
  and every district-duty group covering it, once (whatever confirmed it: the verdict route or
  an incident's). Once per fire, too: an address already told that another camera's alert of
  the same incident is confirmed is not told again for this one.

Every message is an outbox row carrying its group and tier, so GET /api/notifications is the log.
A group's area: its cameras, its districts (cameras.district), its polygon of [lat, lon] (the
alert's triangulated point when it has one, else its camera's position); no area = everywhere.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.danger.levels import level_of
from alerting.notify.outbox import Recipient, enqueue, recipients_from_config
from alerting.store.db import write_session
from alerting.store.models import Alert, Camera, Notification, utcnow
from pinewatch.core.config import FireDangerConfig, NotifyConfig, RecipientGroupConfig

log = logging.getLogger(__name__)

POLL_S = 1.0
CONFIRMED = ("confirmed", "out")  # an operator confirmed the fire (out: and later marked it out)


def inside(lat: float, lon: float, polygon: list[tuple[float, float]]) -> bool:
    """Ray casting on [lat, lon] corners (areas of a province: flat enough)."""
    found = False
    for (y1, x1), (y2, x2) in zip(polygon, polygon[1:] + polygon[:1]):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            found = not found
    return found


@dataclass(frozen=True)
class Routing:
    plain: tuple[Recipient, ...]
    groups: tuple[RecipientGroupConfig, ...]
    language: str
    fire_danger: FireDangerConfig

    @classmethod
    def from_config(cls, notify: NotifyConfig, fire_danger: FireDangerConfig) -> Routing:
        return cls(tuple(recipients_from_config(notify)), tuple(notify.groups), notify.language, fire_danger)

    def covers(self, group: RecipientGroupConfig, camera: Camera, alert: Alert) -> bool:
        if group.everywhere or (camera.district and camera.district in group.districts):
            return True
        if any(camera.id == c or camera.id.startswith(c + ".") for c in group.cameras):  # a PTZ camera covers its presets
            return True
        if group.polygon:
            lat, lon = (alert.latitude, alert.longitude) if alert.latitude is not None else (camera.latitude, camera.longitude)
            return lat is not None and lon is not None and inside(lat, lon, list(group.polygon))
        return False

    def members(self, group: RecipientGroupConfig) -> list[Recipient]:
        return [Recipient(r.channel, r.to, r.language or self.language, group.name, group.tier) for r in group.recipients]

    def tier_recipients(self, camera: Camera, alert: Alert, tier: int) -> list[Recipient]:
        return [r for g in self.groups if g.tier == tier and self.covers(g, camera, alert) for r in self.members(g)]

    def next_tier(self, camera: Camera, alert: Alert) -> int | None:
        reached = alert.escalation_tier or 0
        higher = [g.tier for g in self.groups if g.tier is not None and g.tier > reached and self.covers(g, camera, alert)]
        return min(higher, default=None)

    def confirmed_recipients(self, camera: Camera, alert: Alert) -> list[Recipient]:
        """The groups told so far and the district-duty groups (the plain lists get the verdict's own message)."""
        reached = alert.escalation_tier or 0
        return [
            r
            for g in self.groups
            if ((g.tier is not None and g.tier <= reached) or g.district_duty) and self.covers(g, camera, alert)
            for r in self.members(g)
        ]

    def escalate_after(self, level: int | None) -> timedelta:
        return timedelta(minutes=self.fire_danger.levels[level or self.fire_danger.default_level].escalate_after_min)


def add_rows(session: Session, alert_id: int, kind: str, recipients: list[Recipient], incident_id: int | None = None) -> int:
    """Outbox rows for the recipients not yet sent this kind for the alert, or, given its
    incident, for any alert of that incident (one row per address)."""
    told = Notification.alert_id == alert_id
    if incident_id is not None:
        told = Notification.alert_id.in_(select(Alert.id).where(Alert.incident_id == incident_id))
    existing = {
        (channel, to)
        for channel, to in session.execute(
            select(Notification.channel, Notification.recipient).where(told, Notification.kind == kind)
        ).all()
    }
    fresh = []
    for recipient in recipients:
        if (recipient.channel, recipient.to) not in existing:
            existing.add((recipient.channel, recipient.to))
            fresh.append(recipient)
    enqueue(session, alert_id, kind, fresh)
    return len(fresh)


def opened(session: Session, alert: Alert, camera: Camera, routing: Routing | None) -> None:
    """A new alert (in its own transaction, after its plain recipients' rows): its day's level,
    its tier-0 groups, and when it escalates if nobody acknowledges it."""
    if routing is None:
        return
    now = utcnow()
    alert.danger_level = level_of(session, camera, alert.first_seen, routing.fire_danger)
    alert.escalation_tier = 0
    session.flush()
    add_rows(session, alert.id, "new", routing.tier_recipients(camera, alert, 0))
    alert.escalate_at = now + routing.escalate_after(alert.danger_level) if routing.next_tier(camera, alert) is not None else None


class Escalator:
    """Escalates unacknowledged alerts and routes confirmations, every poll_s (any replica; the
    writers' lock makes each step happen once)."""

    def __init__(self, factory: sessionmaker[Session], routing: Routing, poll_s: float = POLL_S) -> None:
        self.factory = factory
        self.routing = routing
        self.poll_s = poll_s

    def run_once(self) -> int:
        """One pass; returns how many alerts it escalated or routed."""
        now = utcnow()
        with self.factory() as session:
            due = session.scalars(
                select(Alert.id).where(Alert.status == "new", Alert.escalate_at.is_not(None), Alert.escalate_at <= now)
            ).all()
            confirmed = session.scalars(
                # "out" too: a fire confirmed and marked out between two passes was still confirmed
                select(Alert.id).where(Alert.status.in_(CONFIRMED), Alert.confirmed_routed_at.is_(None))
            ).all()
        done = sum(self._escalate(alert_id) for alert_id in due)
        return done + sum(self._route_confirmed(alert_id) for alert_id in confirmed)

    def _escalate(self, alert_id: int) -> bool:
        with write_session(self.factory) as session:
            alert = session.get(Alert, alert_id)
            now = utcnow()
            if alert is None or alert.status != "new" or alert.escalate_at is None or alert.escalate_at > now:
                return False  # acknowledged meanwhile, or another replica did it
            camera = session.get(Camera, alert.camera_id)
            tier = self.routing.next_tier(camera, alert)
            if tier is None:
                alert.escalate_at = None
                return False
            added = add_rows(session, alert.id, "escalated", self.routing.tier_recipients(camera, alert, tier))
            alert.escalation_tier = tier
            later = self.routing.next_tier(camera, alert)
            alert.escalate_at = now + self.routing.escalate_after(alert.danger_level) if later is not None else None
            alert.revision += 1
            alert.updated_at = now
        log.warning("alert %d not acknowledged: escalated to tier %d (%d recipients)", alert_id, tier, added)
        return True

    def _route_confirmed(self, alert_id: int) -> bool:
        with write_session(self.factory) as session:
            alert = session.get(Alert, alert_id)
            if alert is None or alert.status not in CONFIRMED or alert.confirmed_routed_at is not None:
                return False
            camera = session.get(Camera, alert.camera_id)
            recipients = self.routing.confirmed_recipients(camera, alert)
            added = add_rows(session, alert.id, "confirmed", recipients, incident_id=alert.incident_id)
            alert.confirmed_routed_at = utcnow()
        if added:
            log.info("alert %d confirmed: told %d group recipients", alert_id, added)
        return True

    def run(self, stop: threading.Event) -> None:
        failing = False
        while not stop.wait(self.poll_s):
            try:
                self.run_once()
                failing = False
            except Exception:  # the database away: keep trying, log once per outage
                if not failing:
                    log.exception("escalation pass failed")
                failing = True
