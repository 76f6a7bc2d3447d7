"""Incidents in the store: put each alert touched by a detection into the incident of its
fire, and keep the incident's one point current. Runs inside the ingest transaction.

The rules are pure (alerting.grouping: same_fire, incident_point). Membership is sticky: an
alert that joined an incident stays in it (the operator's view never reshuffles), and an
alert whose cone crosses alerts of two incidents joins them into one (the older keeps its id).
When an incident's point or cameras change, its alerts are touched, so the live feed sends
each of them again with the incident they now carry.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from alerting import geo
from alerting.grouping import CLOSED, IncidentRules, Sight, incident_point, same_fire
from alerting.store.db import write_session
from alerting.store.models import Alert, Incident, utcnow


def sight(alert: Alert, error_deg: float) -> Sight:
    camera = alert.camera
    sighting = None
    if alert.bearing_deg is not None and camera is not None and camera.latitude is not None and camera.longitude is not None:
        cone = geo.Cone(alert.bearing_deg, alert.bearing_min_deg, alert.bearing_max_deg)
        sighting = geo.Sighting(camera.id, camera.latitude, camera.longitude, geo.widen(cone, error_deg))
    point = None
    if alert.latitude is not None and alert.longitude is not None and alert.uncertainty_m is not None:
        point = (alert.latitude, alert.longitude, alert.uncertainty_m)
    return Sight(alert.id, alert.camera_id, alert.first_seen, alert.last_seen, alert.status, sighting, point)


def assign(session: Session, alert: Alert, rules: IncidentRules) -> Incident:
    """The alert's incident after this detection."""
    window = rules.triangulation_window
    mine = sight(alert, rules.bearing_error_deg)
    candidates = session.scalars(
        select(Alert)
        .options(selectinload(Alert.camera))
        .where(
            Alert.id != alert.id,
            Alert.camera_id != alert.camera_id,
            Alert.status.not_in(CLOSED),
            Alert.last_seen >= alert.first_seen - window,
            Alert.first_seen <= alert.last_seen + window,
        )
    ).all()
    matches = [c for c in candidates if same_fire(mine, sight(c, rules.bearing_error_deg), window, rules.max_range_m)]
    incidents = {i.id: i for i in [alert.incident, *(m.incident for m in matches)] if i is not None}
    if incidents:
        target = incidents[min(incidents)]
    else:
        target = Incident(first_seen=alert.first_seen, last_seen=alert.last_seen, camera_ids=[], created_at=utcnow())
        session.add(target)
        session.flush()
    bumped = {alert.id}  # the caller touched the alert already: one revision per change is enough
    for other in incidents.values():
        if other is not target:
            for member in list(other.alerts):
                member.incident = target
                _touch(member, bumped)
            session.flush()
            session.delete(other)
    for member in (alert, *matches):
        if member.incident_id != target.id:
            member.incident = target
            _touch(member, bumped)
    session.flush()
    refresh(session, target, rules, bumped)
    return target


def refresh(session: Session, incident: Incident, rules: IncidentRules, bumped: set[int] | None = None) -> None:
    """Span, cameras and point from the incident's alerts; its alerts are touched when any changed
    (except those in `bumped`, touched already in this transaction)."""
    bumped = set() if bumped is None else bumped
    members = session.scalars(select(Alert).options(selectinload(Alert.camera)).where(Alert.incident_id == incident.id)).all()
    if not members:
        return
    estimate = incident_point([sight(m, rules.bearing_error_deg) for m in members], rules.max_range_m)
    point = (
        (round(estimate.latitude, 7), round(estimate.longitude, 7), round(estimate.uncertainty_m, 1), list(estimate.camera_ids))
        if estimate is not None
        else (None, None, None, None)
    )
    cameras = sorted({m.camera_id for m in members})
    before = (incident.latitude, incident.longitude, incident.uncertainty_m, incident.location_camera_ids, incident.camera_ids)
    incident.first_seen = min(m.first_seen for m in members)
    incident.last_seen = max(m.last_seen for m in members)
    if before == (*point, cameras):
        return
    incident.latitude, incident.longitude, incident.uncertainty_m, incident.location_camera_ids = point
    incident.camera_ids = cameras
    incident.updated_at = utcnow()
    for member in members:  # what each alert says of its incident changed: the live feed resends it
        _touch(member, bumped)


def _touch(alert: Alert, bumped: set[int]) -> None:
    if alert.id in bumped:
        return
    bumped.add(alert.id)
    alert.revision += 1
    alert.updated_at = utcnow()


def refresh_after_verdict(factory: sessionmaker[Session], alert_ids: list[int], rules: IncidentRules) -> None:
    """A dismissed or other-smoke alert no longer speaks for where the fire is: its incident's
    point is worked out again without it (the API calls this after such a verdict)."""
    with write_session(factory) as session:
        seen: set[int] = set()
        for alert_id in alert_ids:
            alert = session.get(Alert, alert_id)
            if alert is not None and alert.incident is not None and alert.incident_id not in seen:
                seen.add(alert.incident_id)
                refresh(session, alert.incident, rules)
