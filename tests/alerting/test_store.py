"""The store on SQLite and PostgreSQL: migrations, alert lifecycle, location, tokens."""

import threading
import time
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from alerting.ingest import Rules, apply_health, ingest_detection
from alerting.notify.outbox import Recipient
from alerting.store import migrate
from alerting.store.db import make_engine, session_factory, write_session
from alerting.store.models import Alert, AlertFrame, Base, Camera, CameraMask, Notification, Token, Verdict
from alerting.store.repository import (
    AlertFilter,
    NotFound,
    VerdictError,
    apply_verdict,
    get_alert,
    list_alerts,
    list_cameras,
    upsert_cameras,
)
from alerting.store.tokens import authenticate, create_token, ensure_token, revoke_token
from pinewatch.core.config import CameraConfig
from tests.alerting.conftest import CAMERAS
from tests.alerting.helpers import at, box_towards, detection, health

RECIPIENTS = (Recipient("webhook", "http://hooks.example/a", "en"), Recipient("telegram", "42", "vi"))
RULES = Rules(
    alert_window=timedelta(minutes=30),
    triangulation_window=timedelta(minutes=30),
    max_range_m=50_000,
    bearing_error_deg=0.5,
    recipients=RECIPIENTS,
)


@pytest.fixture
def cameras(factory):
    upsert_cameras(factory, [CameraConfig(**c) for c in CAMERAS])


def count(factory, model) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model))


# --- migrations ------------------------------------------------------------------


def test_migrations_match_models_and_go_both_ways(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(engine).get_table_names())


def test_a_downgrade_and_upgrade_keep_stored_alerts_and_frames(engine):
    """Rebuilding a table on SQLite must not cascade-delete the rows that point at it."""
    from sqlalchemy import text

    with engine.begin() as connection:
        connection.execute(text("INSERT INTO cameras (id, name, enabled, status, status_detail, revision, updated_at)"
                                " VALUES ('w', 'W', true, 'unknown', '', 0, CURRENT_TIMESTAMP)"))
        alert_id = connection.execute(text(
            "INSERT INTO alerts (camera_id, label, score, first_seen, last_seen, status, status_by, frame_count, box,"
            " evidence_path, revision, created_at, updated_at) VALUES ('w', 'smoke', 0.8, CURRENT_TIMESTAMP,"
            " CURRENT_TIMESTAMP, 'new', '', 1, '[0.1, 0.1, 0.2, 0.2]', 'w/1.jpg', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            " RETURNING id")).scalar()
        connection.execute(text(
            "INSERT INTO alert_frames (alert_id, event_id, captured_at, label, score, box, evidence_path, frame_width,"
            " frame_height, model) VALUES (:a, 'e1', CURRENT_TIMESTAMP, 'smoke', 0.8, '[0.1, 0.1, 0.2, 0.2]', 'w/1.jpg',"
            " 640, 480, 'm')"), {"a": alert_id})
    migrate.downgrade(engine, "0003")
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alerts")).scalar() == 1
        assert connection.execute(text("SELECT count(*) FROM alert_frames")).scalar() == 1
        assert connection.execute(text("SELECT count(*) FROM cameras")).scalar() == 1


@pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
def test_replicas_starting_together_migrate_in_turn(empty_database_url):
    engines = [make_engine(empty_database_url) for _ in range(3)]
    errors: list[BaseException] = []

    def start(engine):
        try:
            migrate.upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert "alerts" in inspect(engines[0]).get_table_names()
    for engine in engines:
        engine.dispose()


def test_writers_that_group_take_turns(engine):
    """The lock behind "two replicas never both open an alert for the same smoke"."""
    factory = session_factory(engine)
    order: list[str] = []
    first_inside = threading.Event()

    def first():
        with write_session(factory) as session:
            session.execute(select(func.count()).select_from(Alert))
            order.append("first in")
            first_inside.set()
            time.sleep(0.3)
            order.append("first out")

    def second():
        first_inside.wait(5)
        with write_session(factory) as session:
            order.append("second in")
            session.execute(select(func.count()).select_from(Alert))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == ["first in", "first out", "second in"]


# --- detections -> alerts ---------------------------------------------------------


def test_first_detection_opens_alert_with_frame_bearing_and_outbox(factory, cameras):
    event = detection("tower-a", at(0), box=[0.45, 0.3, 0.55, 0.4], score=0.7)
    result = ingest_detection(factory, event, RULES)
    assert not result.duplicate and len(result.created) == 1 and result.updated == []
    with factory() as session:
        alert = get_alert(session, result.created[0])
        assert (alert.camera_id, alert.label, alert.status, alert.frame_count) == ("tower-a", "smoke", "new", 1)
        assert alert.first_seen == alert.last_seen == at(0)
        assert alert.first_seen.tzinfo is not None
        assert alert.bearing_deg == pytest.approx(45.0)
        assert alert.bearing_min_deg < 45.0 < alert.bearing_max_deg
        assert [f.event_id for f in alert.frames] == [event.event_id]
        outbox = session.scalars(select(Notification).where(Notification.alert_id == alert.id)).all()
        assert {(n.channel, n.recipient, n.language, n.kind, n.status) for n in outbox} == {
            ("webhook", "http://hooks.example/a", "en", "new", "pending"),
            ("telegram", "42", "vi", "new", "pending"),
        }


def test_same_place_within_window_updates_not_new(factory, cameras):
    first = ingest_detection(factory, detection("tower-a", at(0), score=0.6), RULES)
    moved = [0.42, 0.28, 0.55, 0.47]
    second = ingest_detection(
        factory, detection("tower-a", at(5), box=moved, score=0.9, evidence_path="a/late.jpg"), RULES
    )
    late = ingest_detection(factory, detection("tower-a", at(-2), score=0.5, evidence_path="a/early.jpg"), RULES)
    assert second.created == [] and second.updated == first.created
    assert late.updated == first.created
    with factory() as session:
        alert = get_alert(session, first.created[0])
        assert alert.frame_count == 3 and len(alert.frames) == 3
        assert alert.score == pytest.approx(0.9)
        assert (alert.first_seen, alert.last_seen) == (at(-2), at(5))
        assert alert.box == moved and alert.evidence_path == "a/late.jpg"  # the latest frame, not the late one
        assert alert.revision == 3
    assert count(factory, Alert) == 1
    assert count(factory, Notification) == 2  # updates notify nobody


def test_other_place_other_camera_or_later_open_new_alerts(factory, cameras):
    ingest_detection(factory, detection("tower-a", at(0)), RULES)
    assert ingest_detection(factory, detection("tower-a", at(1), box=[0.8, 0.1, 0.9, 0.2]), RULES).created
    assert ingest_detection(factory, detection("tower-c", at(1)), RULES).created
    assert ingest_detection(factory, detection("tower-a", at(45)), RULES).created
    assert count(factory, Alert) == 4


def test_redelivered_event_changes_nothing(factory, cameras):
    event = detection("tower-a", at(0))
    ingest_detection(factory, event, RULES)
    again = ingest_detection(factory, event, RULES)
    assert again.duplicate and again.created == again.updated == []
    assert (count(factory, Alert), count(factory, AlertFrame), count(factory, Notification)) == (1, 1, 2)


def test_fire_frame_turns_alert_into_fire(factory, cameras):
    first = ingest_detection(factory, detection("tower-a", at(0), label="smoke"), RULES)
    ingest_detection(factory, detection("tower-a", at(1), label="fire", score=0.5), RULES)
    with factory() as session:
        assert get_alert(session, first.created[0]).label == "fire"


def test_unknown_camera_is_recorded_not_dropped(factory):
    result = ingest_detection(factory, detection("tower-x", at(0)), RULES)
    with factory() as session:
        alert = get_alert(session, result.created[0])
        assert alert.camera.name == "tower-x" and alert.bearing_deg is None


# --- location ----------------------------------------------------------------------


def test_two_cameras_within_window_get_a_located_point(factory, cameras):
    from alerting import geo

    target = (11.985, 108.49)
    a = ingest_detection(factory, detection("tower-a", at(0), box=box_towards(CAMERAS[0], *target)), RULES).created[0]
    with factory() as session:
        assert session.get(Alert, a).latitude is None  # one camera: a bearing only
    b = ingest_detection(factory, detection("tower-b", at(12), box=box_towards(CAMERAS[1], *target)), RULES).created[0]
    with factory() as session:
        first, second = session.get(Alert, a), session.get(Alert, b)
        for alert in (first, second):
            assert alert.location_camera_ids == ["tower-a", "tower-b"]
            assert geo.haversine_m(alert.latitude, alert.longitude, *target) < alert.uncertainty_m
        assert (first.latitude, first.longitude) == (second.latitude, second.longitude)


def test_cameras_further_apart_in_time_are_not_combined(factory, cameras):
    target = (11.985, 108.49)
    ingest_detection(factory, detection("tower-a", at(0), box=box_towards(CAMERAS[0], *target)), RULES)
    b = ingest_detection(factory, detection("tower-b", at(31), box=box_towards(CAMERAS[1], *target)), RULES).created[0]
    with factory() as session:
        assert session.get(Alert, b).latitude is None


def test_dismissed_alert_does_not_locate_others(factory, cameras):
    target = (11.985, 108.49)
    a = ingest_detection(factory, detection("tower-a", at(0), box=box_towards(CAMERAS[0], *target)), RULES).created[0]
    apply_verdict(factory, a, "dismissed", "op", "", False, [])
    b = ingest_detection(factory, detection("tower-b", at(5), box=box_towards(CAMERAS[1], *target)), RULES).created[0]
    with factory() as session:
        assert session.get(Alert, b).latitude is None


# --- health --------------------------------------------------------------------------


def test_health_changes_apply_in_time_order(factory, cameras):
    assert apply_health(factory, health("tower-a", "online", at(0)))
    assert apply_health(factory, health("tower-a", "frozen", at(5), "6 identical frames"))
    assert not apply_health(factory, health("tower-a", "online", at(3)))  # older, arrived late
    with factory() as session:
        camera = session.get(Camera, "tower-a")
        assert (camera.status, camera.status_detail, camera.status_at, camera.last_seen) == (
            "frozen",
            "6 identical frames",
            at(5),
            at(5),
        )
        assert camera.revision == 2


# --- verdicts ------------------------------------------------------------------------


def test_lifecycle_records_who_when_and_why(factory, cameras):
    alert_id = ingest_detection(factory, detection("tower-a", at(0)), RULES).created[0]
    apply_verdict(factory, alert_id, "acknowledged", "lan", "looking", False, list(RECIPIENTS))
    confirmed = apply_verdict(factory, alert_id, "confirmed", "minh", "ranger on site", False, list(RECIPIENTS))
    assert (confirmed.status, confirmed.status_by) == ("confirmed", "minh")
    assert [(v.status, v.by, v.note) for v in confirmed.verdicts] == [
        ("acknowledged", "lan", "looking"),
        ("confirmed", "minh", "ranger on site"),
    ]
    assert all(v.at.tzinfo is not None for v in confirmed.verdicts)
    with factory() as session:
        kinds = session.scalars(select(Notification.kind).where(Notification.alert_id == alert_id)).all()
    assert sorted(kinds) == ["confirmed", "confirmed", "new", "new"]  # confirmation notifies again
    with pytest.raises(VerdictError):
        apply_verdict(factory, alert_id, "dismissed", "lan", "", False, [])


def test_dismiss_with_mask_adds_the_box_to_the_camera(factory, cameras):
    box = [0.1, 0.2, 0.3, 0.4]
    alert_id = ingest_detection(factory, detection("tower-a", at(0), box=box), RULES).created[0]
    with pytest.raises(VerdictError):
        apply_verdict(factory, alert_id, "acknowledged", "lan", "", True, [])
    apply_verdict(factory, alert_id, "dismissed", "lan", "dust from the quarry", True, [])
    with factory() as session:
        masks = session.scalars(select(CameraMask).where(CameraMask.camera_id == "tower-a")).all()
        assert [(m.polygon, m.source, m.alert_id, m.created_by) for m in masks] == [
            ([[0.1, 0.2], [0.3, 0.2], [0.3, 0.4], [0.1, 0.4]], "verdict", alert_id, "lan")
        ]
        assert session.scalars(select(Verdict.added_mask)).all() == [True]
    # Restarting with the configuration keeps verdict masks and replaces config masks.
    configured = dict(CAMERAS[0], masks=[[[0, 0], [0.1, 0], [0.1, 0.1]]])
    upsert_cameras(factory, [CameraConfig(**configured)])
    upsert_cameras(factory, [CameraConfig(**configured)])
    with factory() as session:
        camera = next(c for c in list_cameras(session) if c.id == "tower-a")
        assert sorted(m.source for m in camera.masks) == ["config", "verdict"]


def test_verdict_on_unknown_alert(factory, cameras):
    with pytest.raises(NotFound):
        apply_verdict(factory, 999, "acknowledged", "lan", "", False, [])


def test_list_filters_and_order(factory, cameras):
    a = ingest_detection(factory, detection("tower-a", at(0)), RULES).created[0]
    b = ingest_detection(factory, detection("tower-c", at(10)), RULES).created[0]
    c = ingest_detection(factory, detection("tower-a", at(50)), RULES).created[0]
    apply_verdict(factory, b, "acknowledged", "lan", "", False, [])
    with factory() as session:
        rows, total = list_alerts(session, AlertFilter())
        assert [r.id for r in rows] == [c, b, a] and total == 3
        assert [r.id for r in list_alerts(session, AlertFilter(status="acknowledged"))[0]] == [b]
        assert [r.id for r in list_alerts(session, AlertFilter(camera_id="tower-a"))[0]] == [c, a]
        assert [r.id for r in list_alerts(session, AlertFilter(since=at(5), until=at(20)))[0]] == [b]
        page, total = list_alerts(session, AlertFilter(limit=1, offset=1))
        assert [r.id for r in page] == [b] and total == 3


# --- tokens ----------------------------------------------------------------------------


def test_tokens(engine, factory):
    value = create_token(engine, "lan", "operator")
    with factory() as session:
        principal = authenticate(session, value)
        assert (principal.name, principal.role) == ("lan", "operator")
        assert authenticate(session, value + "x") is None
        stored = session.scalars(select(Token.token_hash)).all()
        assert value not in stored  # only the hash is kept
    with pytest.raises(ValueError):
        create_token(engine, "lan", "admin")  # one user, one role
    with pytest.raises(ValueError):
        create_token(engine, "eve", "superuser")
    ensure_token(engine, "boot", "admin", "fixed-secret")
    ensure_token(engine, "boot", "admin", "fixed-secret")
    with factory() as session:
        assert authenticate(session, "fixed-secret").role == "admin"
        assert revoke_token(session, principal.token_id)
    with factory() as session:
        assert authenticate(session, value) is None
