"""Escalation and areas (issue 12), in real time with short timeouts and the real outbox: the
dispatcher and the escalator run in their own threads against a local HTTP server standing in
for the SMS gateway, Zalo and a webhook."""

from __future__ import annotations

import threading
import time
import warnings

import pytest

from alerting.api.app import create_app
from alerting.danger.levels import set_level, today
from alerting.escalation import Escalator, Routing, inside
from alerting.ingest import Rules, ingest_detection
from alerting.notify.dispatcher import Dispatcher
from alerting.store.models import Notification, utcnow
from alerting.store.repository import apply_verdict, upsert_cameras
from alerting.store.tokens import create_token
from tests.alerting.helpers import detection
from tests.alerting.test_fire_danger import DISTRICT_CAMERAS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LEVEL_V_S, LEVEL_III_S = 0.6, 1.6  # escalate_after_min of the two levels used, in seconds
# A square around tower-b (11.90, 108.58): its alerts are inside, tower-a's are not.
AROUND_B = [[11.85, 108.53], [11.85, 108.63], [11.95, 108.63], [11.95, 108.53]]


def groups(sms: str, hook: str) -> list[dict]:
    return [
        {"name": "rangers-a", "cameras": ["tower-a"], "recipients": [{"channel": "sms", "to": "+84900000001"}]},
        {"name": "rangers-ridge-b", "polygon": AROUND_B, "recipients": [{"channel": "sms", "to": "+84900000002"}]},
        {"name": "station-lac-duong", "tier": 1, "districts": ["Lạc Dương"], "recipients": [{"channel": "sms", "to": "+84900000003"}]},
        {"name": "province", "tier": 2, "recipients": [{"channel": "webhook", "to": hook, "language": "en"}]},
        {"name": "district-lac-duong", "tier": None, "district_duty": True, "districts": ["Lạc Dương"],
         "recipients": [{"channel": "zalo", "to": "zalo-hat-kiem-lam"}]},
    ]  # fmt: skip


@pytest.fixture
def setup(make_settings, engine, redis_client, http_recorder, evidence_dir, tmp_path):
    levels = {5: {"escalate_after_min": LEVEL_V_S / 60}, 3: {"escalate_after_min": LEVEL_III_S / 60}}
    settings = make_settings(
        cameras=DISTRICT_CAMERAS,
        fire_danger={"levels": levels},
        alerting={
            "notify": {
                "sms_url": http_recorder.url + "/sms", "zalo_base_url": http_recorder.url, "zalo_access_token": "t",
                "groups": groups(http_recorder.url + "/sms", http_recorder.url + "/province"),
                "language": "vi", "poll_s": 0.05, "retry_base_s": 0.2, "timeout_s": 2,
            }
        },
    )  # fmt: skip
    http_recorder.respond("/v3.0/oa/message/cs", (200, {"error": 0, "data": {"message_id": "m"}}, 0.0))
    app = create_app(settings, engine=engine, redis_client=redis_client, static_dir=tmp_path)
    factory = app.state.ctx.factory
    upsert_cameras(factory, settings.cameras)
    set_level(factory, today(settings.fire_danger), "district", "Lạc Dương", 5, "api", "admin")
    notify = settings.alerting.notify
    dispatcher = Dispatcher(factory, notify, evidence_dir, "http://pinewatch.example", timezone=settings.fire_danger.timezone)
    escalator = Escalator(factory, Routing.from_config(notify, settings.fire_danger), poll_s=0.05)
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in (dispatcher, escalator)]
    for thread in threads:
        thread.start()
    yield app, settings, Rules.from_config(settings.alerting, settings.fire_danger)
    stop.set()
    for thread in threads:
        thread.join(10)


def sms_to(http_recorder, phone: str) -> list[str]:
    return [r.json()["text"] for r in http_recorder.to("/sms") if r.json()["to"] == phone]


def wait_until(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout_s}s: {what}")


@pytest.mark.slow
def test_unacknowledged_alerts_climb_the_tiers_at_their_levels_pace(setup, http_recorder):
    app, settings, rules = setup
    factory = app.state.ctx.factory
    now = utcnow()
    started = time.monotonic()
    [on_a] = ingest_detection(factory, detection("tower-a", now), rules).created  # Lạc Dương: level V today
    [on_c] = ingest_detection(factory, detection("tower-c", now), rules).created  # Đam Rông: the default III
    [on_b] = ingest_detection(factory, detection("tower-b", now), rules).created
    apply_verdict(factory, on_b, "acknowledged", "olga", "", False, [])  # someone took it: it never escalates

    # Tier 0 by area: tower-a's rangers by camera, the ridge group by polygon around tower-b.
    wait_until(lambda: sms_to(http_recorder, "+84900000001") and sms_to(http_recorder, "+84900000002"), 5, "tier-0 SMS")
    assert sms_to(http_recorder, "+84900000001")[0].startswith(f"CANH BAO KHOI #{on_a} cap V tai Tower A,")
    assert sms_to(http_recorder, "+84900000002")[0].startswith(f"CANH BAO KHOI #{on_b} cap V tai Tower B")

    # Level V: the district station after ~0.6 s, then the province after another ~0.6 s.
    station_at = wait_until(lambda: sms_to(http_recorder, "+84900000003"), 5, "the station told of tower-a")
    assert station_at - started >= LEVEL_V_S - 0.05
    assert sms_to(http_recorder, "+84900000003") == [sms_to(http_recorder, "+84900000003")[0]]
    assert sms_to(http_recorder, "+84900000003")[0].startswith(f"CHUA XU LY KHOI #{on_a} cap V")
    province = lambda: [r.json() for r in http_recorder.to("/province")]  # noqa: E731
    wait_until(lambda: any(p["alert"]["id"] == on_a for p in province()), 5, "the province told of tower-a")
    # Level III (tower-c, no tier-0 or tier-1 group covers it): straight to the province, later.
    c_at = wait_until(lambda: any(p["alert"]["id"] == on_c for p in province()), 6, "the province told of tower-c")
    assert c_at - started >= LEVEL_III_S - 0.05
    escalated = next(p for p in province() if p["alert"]["id"] == on_c)
    assert escalated["event"] == "alert.escalated" and escalated["subject"].startswith("[pinewatch] NOT ACKNOWLEDGED")
    assert escalated["alert"]["danger_level"] == 3 and escalated["alert"]["escalation_tier"] == 2

    with factory() as session:
        log = [(n.alert_id, n.kind, n.group_name, n.tier, n.status) for n in session.query(Notification).order_by(Notification.id)]
    assert {(a, k, g, t) for a, k, g, t, _ in log} == {
        (on_a, "new", "rangers-a", 0),
        (on_c, "escalated", "province", 2),
        (on_b, "new", "rangers-ridge-b", 0),
        (on_a, "escalated", "station-lac-duong", 1),
        (on_a, "escalated", "province", 2),
    }
    time.sleep(LEVEL_V_S)
    with factory() as session:
        assert session.query(Notification).count() == len(log)  # nothing beyond the last tier, nothing for the acknowledged

    # A confirmed fire: the groups told so far, and the district group (Zalo) that hears only of confirmed fires.
    apply_verdict(factory, on_a, "confirmed", "olga", "fire on the ridge", False, [])
    wait_until(lambda: http_recorder.to("/v3.0/oa/message/cs"), 5, "the district group told by Zalo")
    zalo = http_recorder.to("/v3.0/oa/message/cs")[0].json()
    assert zalo["recipient"] == {"user_id": "zalo-hat-kiem-lam"}
    assert zalo["message"]["text"].startswith("Nhân viên trực đã XÁC NHẬN khói do camera Tower A phát hiện.")
    assert "Cấp dự báo cháy rừng: cấp V (cực kỳ nguy hiểm)" in zalo["message"]["text"]
    wait_until(lambda: any(t.startswith(f"DA XAC NHAN KHOI #{on_a}") for t in sms_to(http_recorder, "+84900000003")), 5, "station told")
    with TestClient(app) as client:
        token = create_token(app.state.ctx.engine, "ron", "ranger")
        items = client.get(f"/api/notifications?alert_id={on_a}", headers={"Authorization": f"Bearer {token}"}).json()["items"]
    confirmed = {(i["group"], i["tier"], i["channel"]) for i in items if i["kind"] == "confirmed"}
    assert confirmed == {
        ("rangers-a", 0, "sms"), ("station-lac-duong", 1, "sms"), ("province", 2, "webhook"), ("district-lac-duong", None, "zalo"),
    }  # fmt: skip
    wait_until(lambda: set(statuses(app, on_a)) == {"sent"}, 5, "every row of the fire sent")


def statuses(app, alert_id: int) -> list[str]:
    with app.state.ctx.factory() as session:
        return [n.status for n in session.query(Notification).filter(Notification.alert_id == alert_id)]


def test_polygon_areas():
    assert inside(11.90, 108.58, [tuple(p) for p in AROUND_B])
    assert not inside(11.90, 108.40, [tuple(p) for p in AROUND_B])


def test_migration_does_not_announce_old_confirmed_fires_and_goes_back_with_rows(tmp_path):
    from sqlalchemy import text

    from alerting.store import migrate
    from alerting.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        migrate.upgrade(engine, "0005")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO cameras (id, name, enabled, status, status_detail, revision, updated_at) "
                                    "VALUES ('a', 'a', 1, 'unknown', '', 0, '2026-01-01 00:00:00')"))  # fmt: skip
            for status in ("confirmed", "new"):
                connection.execute(
                    text("INSERT INTO alerts (camera_id, label, score, first_seen, last_seen, status, status_by, frame_count, box, "
                         "evidence_path, revision, created_at, updated_at) VALUES ('a', 'smoke', 0.5, '2026-01-01 00:00:00', "
                         "'2026-01-01 00:00:00', :status, '', 1, '[0, 0, 1, 1]', 'x.jpg', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
                    {"status": status},
                )  # fmt: skip
        migrate.upgrade(engine, "0006")
        with engine.begin() as connection:
            rows = connection.execute(text("SELECT status, confirmed_routed_at IS NOT NULL, escalation_tier FROM alerts ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("confirmed", 1, 0), ("new", 0, 0)]  # the escalator leaves the old fire alone
        migrate.upgrade(engine)
        migrate.downgrade(engine, "0005")  # in place: rows pointing at cameras and alerts do not block it
        with engine.begin() as connection:
            assert connection.execute(text("SELECT count(*) FROM alerts")).scalar() == 2
    finally:
        engine.dispose()
