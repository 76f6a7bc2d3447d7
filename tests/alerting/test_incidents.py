"""Incidents (issue 11): one fire seen by several cameras is one incident with one point, and its
coordinates are printed only to the precision the uncertainty supports. Pure rules, then the
real store on SQLite and PostgreSQL (the API: test_api_incidents.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from alerting import geo
from alerting.coords import decimals_for, format_coordinates, format_point, format_radius
from alerting.grouping import Sight, incident_point, incident_status, same_fire
from alerting.ingest import Rules, ingest_detection
from alerting.notify.outbox import Recipient
from alerting.store import migrate
from alerting.store.incidents import IncidentFilter, apply_incident_verdict, get_incident, list_incidents
from alerting.store.models import Alert, Incident, Notification
from alerting.store.repository import NotFound, VerdictError, upsert_cameras
from alerting.notify.texts import AlertSummary, render
from alerting.views import alert_model, alert_view
from pinewatch.core.config import CameraConfig
from tests.alerting.helpers import at, box_towards, detection

WINDOW = timedelta(minutes=30)
RULES = Rules(WINDOW, WINDOW, 50_000, 0.5, (Recipient("webhook", "http://hooks.example/a", "en"),))

# Two towers 19.6 km apart; the fire P is 8 km north-east of the west one, in both views.
WEST = {"id": "west", "name": "West", "source": "w.mp4", "latitude": 11.90, "longitude": 108.40, "azimuth_deg": 45.0, "fov_deg": 60.0}
EAST = {"id": "east", "name": "East", "source": "e.mp4", "latitude": 11.90, "longitude": 108.58, "azimuth_deg": 315.0, "fov_deg": 60.0}
FIRE = geo.destination(11.90, 108.40, 45.0, 8_000)


# --- precision ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "uncertainty_m,decimals",
    [(7_400, 2), (2_600, 2), (640, 3), (50, 4), (1, 5), (0.01, 5), (200_000, 1), (None, 2), (0, 2), (float("nan"), 2)],
)
def test_decimals_follow_the_uncertainty(uncertainty_m, decimals):
    assert decimals_for(uncertainty_m) == decimals


def test_points_print_only_the_supported_digits():
    # The two points of one fire: 5 decimals next to ±7.4 km claimed metres.
    assert format_point(19.8036123, 105.7059456, 7_400) == "19.80, 105.71 (± 7.4 km)"
    assert format_point(19.7774, 105.7315, 2_600) == "19.78, 105.73 (± 2.6 km)"
    assert format_coordinates(11.9851234, 108.4900321, 50) == "11.9851, 108.4900"
    assert format_radius(640) == "640 m" and format_radius(None) == "?"


# --- the grouping rules -----------------------------------------------------------------


def _sight(camera: dict, minutes: float = 0, status: str = "new", towards=FIRE, alert_id: int = 1, point=None) -> Sight:
    pose = geo.CameraPose(camera["latitude"], camera["longitude"], camera["azimuth_deg"], camera["fov_deg"])
    cone = geo.widen(geo.box_cone(pose, box_towards(camera, *towards)), RULES.bearing_error_deg)
    sighting = geo.Sighting(camera["id"], camera["latitude"], camera["longitude"], cone)
    return Sight(alert_id, camera["id"], at(minutes), at(minutes + 2), status, sighting, point)


def test_crossing_cones_within_the_window_are_one_fire():
    west, east = _sight(WEST), _sight(EAST, minutes=10, alert_id=2)
    assert same_fire(west, east, WINDOW, RULES.max_range_m)
    assert not same_fire(west, _sight(EAST, minutes=45, alert_id=2), WINDOW, RULES.max_range_m), "outside the window"
    assert not same_fire(west, _sight(WEST, alert_id=2), WINDOW, RULES.max_range_m), "one camera's alerts stay apart"
    assert not same_fire(west, _sight(EAST, status="dismissed", alert_id=2), WINDOW, RULES.max_range_m)
    assert not same_fire(west, _sight(EAST, status="out", alert_id=2), WINDOW, RULES.max_range_m)
    # Facing each other, any two cones of these towers cross somewhere; parallel ones never do.
    parallel = _sight({**EAST, "azimuth_deg": 45.0}, towards=geo.destination(11.90, 108.58, 45.0, 8_000), alert_id=2)
    assert not same_fire(west, parallel, WINDOW, RULES.max_range_m)


def test_located_points_that_agree_are_one_fire():
    near = geo.destination(*FIRE, 90.0, 900)
    a = Sight(1, "a", at(0), at(1), "new", None, (*FIRE, 600.0))
    b = Sight(2, "b", at(0), at(1), "new", None, (*near, 400.0))
    assert same_fire(a, b, WINDOW, RULES.max_range_m)
    assert not same_fire(a, Sight(2, "b", at(0), at(1), "new", None, (*near, 200.0)), WINDOW, RULES.max_range_m)


def test_one_point_from_each_cameras_latest_cone_and_the_most_pressing_status():
    old_west = _sight(WEST, minutes=-20, towards=geo.destination(11.90, 108.40, 60.0, 8_000), alert_id=1)
    estimate = incident_point([old_west, _sight(WEST, alert_id=3), _sight(EAST, alert_id=2)], RULES.max_range_m)
    assert estimate is not None and estimate.camera_ids == ("east", "west")
    assert geo.haversine_m(estimate.latitude, estimate.longitude, *FIRE) < estimate.uncertainty_m < 1_500
    assert incident_point([_sight(WEST)], RULES.max_range_m) is None, "one camera gives a bearing, not a point"
    assert incident_point([_sight(WEST), _sight(EAST, status="dismissed", alert_id=2)], RULES.max_range_m) is None
    assert incident_status(["dismissed", "new", "acknowledged"]) == "new"
    assert incident_status(["new", "confirmed"]) == "confirmed"
    assert incident_status(["out", "dismissed"]) == "out"


# --- the store ------------------------------------------------------------------------------


def _cameras(factory, *extra: dict) -> None:
    upsert_cameras(factory, [CameraConfig(**c) for c in (WEST, EAST, *extra)])


def _towards(camera: dict, point, minutes: float = 0, **kwargs):
    return detection(camera["id"], at(minutes), box=box_towards(camera, *point), **kwargs)


def _incident_of(factory, alert_id: int) -> Incident:
    with factory() as session:
        return get_incident(session, session.get(Alert, alert_id).incident_id)


def test_two_cameras_make_one_incident_with_one_point(factory):
    _cameras(factory)
    [west] = ingest_detection(factory, _towards(WEST, FIRE), RULES).created
    alone = _incident_of(factory, west)
    assert [a.id for a in alone.alerts] == [west] and alone.latitude is None and alone.camera_ids == ["west"]
    [east] = ingest_detection(factory, _towards(EAST, FIRE, minutes=3), RULES).created
    incident = _incident_of(factory, east)
    assert incident.id == alone.id and sorted(a.id for a in incident.alerts) == [west, east]
    assert incident.camera_ids == ["east", "west"] and incident.location_camera_ids == ["east", "west"]
    assert geo.haversine_m(incident.latitude, incident.longitude, *FIRE) < incident.uncertainty_m < 1_500
    assert (incident.first_seen, incident.last_seen) == (at(0), at(3))
    with factory() as session:
        # West's alert now carries its incident's point (and was touched, so the live feed resends it).
        first = session.get(Alert, west)
        assert first.revision > 1 and alert_view(first)["incident"]["location"]["text"] == format_point(
            incident.latitude, incident.longitude, incident.uncertainty_m
        )
        # Notifications print the incident's one point, to the digits it supports.
        text = render(AlertSummary.of(alert_model(first), "new", "http://x/?alert=1"), "en").body
        assert f"Estimated location: {format_point(incident.latitude, incident.longitude, incident.uncertainty_m)}" in text
        assert session.scalar(select(func.count()).select_from(Incident)) == 1

    # More frames of the same alerts change nothing but the span; a later fire is a new incident.
    ingest_detection(factory, _towards(WEST, FIRE, minutes=5), RULES)
    assert _incident_of(factory, west).last_seen == at(5)
    [later] = ingest_detection(factory, _towards(EAST, FIRE, minutes=90), RULES).created
    assert _incident_of(factory, later).id != incident.id
    with factory() as session:
        rows, total = list_incidents(session, IncidentFilter())
        assert total == 2 and [r.id for r in rows] == [_incident_of(factory, later).id, incident.id]
        assert list_incidents(session, IncidentFilter(since=at(60)))[1] == 1


def test_an_alert_that_sees_two_incidents_joins_them(factory):
    """Two parallel cones never cross; a third camera on the line through both fires sees both."""
    north = {**EAST, "id": "north", "name": "North", "azimuth_deg": 45.0}
    fire_2 = geo.destination(11.90, 108.58, 45.0, 8_000)
    bridge_at = geo.destination(*FIRE, 270.0, 10_000)
    bridge = {"id": "bridge", "name": "Bridge", "source": "b.mp4", "latitude": bridge_at[0], "longitude": bridge_at[1], "azimuth_deg": 90.0, "fov_deg": 20.0}
    _cameras(factory, north, bridge)
    [a] = ingest_detection(factory, _towards(WEST, FIRE), RULES).created
    [b] = ingest_detection(factory, _towards(north, fire_2, minutes=1), RULES).created
    first, second = _incident_of(factory, a).id, _incident_of(factory, b).id
    assert first != second, "parallel cones: two incidents"
    [c] = ingest_detection(factory, detection("bridge", at(2), box=box_towards(bridge, *FIRE, half_width=0.02)), RULES).created
    merged = _incident_of(factory, c)
    assert merged.id == first and sorted(x.id for x in merged.alerts) == [a, b, c]
    assert merged.camera_ids == ["bridge", "north", "west"]
    with factory() as session:
        with pytest.raises(NotFound):
            get_incident(session, second)


def test_a_verdict_on_an_incident_goes_to_each_alert_that_can_take_it(factory):
    _cameras(factory)
    [west] = ingest_detection(factory, _towards(WEST, FIRE), RULES).created
    [east] = ingest_detection(factory, _towards(EAST, FIRE, minutes=1), RULES).created
    incident_id = _incident_of(factory, west).id
    from alerting.store.repository import apply_verdict

    apply_verdict(factory, west, "acknowledged", "olivia", "", False, list(RULES.recipients))
    acknowledged = apply_incident_verdict(factory, incident_id, "acknowledged", "olivia", "", False, list(RULES.recipients))
    assert acknowledged.applied == [east] and acknowledged.skipped == [west]
    confirmed = apply_incident_verdict(factory, incident_id, "confirmed", "olivia", "smoke column", False, list(RULES.recipients))
    assert confirmed.applied == [west, east]
    assert {a.status for a in confirmed.incident.alerts} == {"confirmed"}
    with factory() as session:
        kinds = session.execute(select(Notification.alert_id, Notification.kind)).all()
        assert sorted(k for _, k in kinds) == ["confirmed", "new", "new"], "one fire confirmed: one message"
    with pytest.raises(VerdictError, match="no alert of incident"):
        apply_incident_verdict(factory, incident_id, "dismissed", "olivia", "", False, list(RULES.recipients), reason="cloud")
    with pytest.raises(VerdictError, match="reason"):
        apply_incident_verdict(factory, incident_id, "out", "olivia", "", False, list(RULES.recipients), reason="cloud")
    with pytest.raises(NotFound):
        apply_incident_verdict(factory, 9999, "out", "olivia", "", False, [])
    out = apply_incident_verdict(factory, incident_id, "out", "olivia", "rain", False, [])
    assert out.applied == [west, east] and {a.status for a in out.incident.alerts} == {"out"}


def test_the_migration_gives_each_stored_alert_an_incident(engine):
    """Alerts stored before revision 0004 get an incident each (same id); new ones follow on."""
    migrate.downgrade(engine, "0003")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO cameras (id, name, enabled, status, status_detail, revision, updated_at) VALUES ('west', 'West', true, 'unknown', '', 0, CURRENT_TIMESTAMP)"))
        connection.execute(
            text(
                "INSERT INTO alerts (camera_id, label, score, first_seen, last_seen, status, status_by, frame_count, box,"
                " evidence_path, revision, created_at, updated_at) VALUES ('west', 'smoke', 0.8, :t, :t, 'new', '', 1,"
                " '[0.1, 0.1, 0.2, 0.2]', 'w/1.jpg', 1, :t, :t)"
            ),
            {"t": at(0).replace(tzinfo=None)},
        )
    migrate.upgrade(engine)
    from alerting.store.db import session_factory

    factory = session_factory(engine)
    with factory() as session:
        [(alert_id, incident_id)] = session.execute(select(Alert.id, Alert.incident_id)).all()
        assert incident_id == alert_id and get_incident(session, incident_id).camera_ids == ["west"]
    _cameras(factory)
    [new] = ingest_detection(factory, _towards(EAST, FIRE, minutes=600), RULES).created
    assert _incident_of(factory, new).id > incident_id, "the id sequence moved past the copied ids"


def test_a_fire_two_cameras_see_is_announced_to_the_district_once(factory):
    from alerting.escalation import Escalator, Routing
    from alerting.store.repository import apply_verdict
    from pinewatch.core.config import FireDangerConfig, NotifyConfig

    district = {"district": "Lạc Dương"}
    upsert_cameras(factory, [CameraConfig(**{**c, **district}) for c in (WEST, EAST)])
    notify = NotifyConfig(groups=[
        {"name": "rangers", "districts": ["Lạc Dương"], "recipients": [{"channel": "sms", "to": "+84900000001"}]},
        {"name": "district", "tier": None, "district_duty": True, "districts": ["Lạc Dương"],
         "recipients": [{"channel": "zalo", "to": "hat-kiem-lam"}]},
    ])  # fmt: skip
    routing = Routing.from_config(notify, FireDangerConfig())
    rules = Rules(WINDOW, WINDOW, 50_000, 0.5, (), routing=routing)
    [west] = ingest_detection(factory, _towards(WEST, FIRE), rules).created
    [east] = ingest_detection(factory, _towards(EAST, FIRE, minutes=1), rules).created
    incident_id = _incident_of(factory, west).id
    assert _incident_of(factory, east).id == incident_id
    apply_incident_verdict(factory, incident_id, "confirmed", "olivia", "smoke column", False, [])
    assert Escalator(factory, routing).run_once() == 2  # both alerts routed
    with factory() as session:
        rows = session.execute(select(Notification.alert_id, Notification.kind, Notification.recipient)).all()
    confirmed = sorted(to for _, kind, to in rows if kind == "confirmed")
    assert confirmed == ["+84900000001", "hat-kiem-lam"], "one message per address for the one fire"
    assert sorted(a for a, kind, _ in rows if kind == "new") == [west, east]  # each camera's alert was told as new
    # A fire elsewhere, later (its own incident), is announced again.
    [later] = ingest_detection(factory, _towards(WEST, FIRE, minutes=120), rules).created
    apply_verdict(factory, later, "confirmed", "olivia", "again", False, [])
    Escalator(factory, routing).run_once()
    with factory() as session:
        told = session.execute(select(Notification.recipient).where(Notification.alert_id == later, Notification.kind == "confirmed")).scalars().all()
    assert sorted(told) == ["+84900000001", "hat-kiem-lam"]
