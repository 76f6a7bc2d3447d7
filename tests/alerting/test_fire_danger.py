"""Fire-danger levels (issue 12): config, the admin API, the CSV feed from a local HTTP server,
the level stored on alerts and said in notifications."""

from __future__ import annotations

import threading
import unicodedata
import warnings
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alerting.api.app import create_app
from alerting.danger.feed import FeedPoller
from alerting.danger.levels import levels_on, local_day, set_level
from alerting.ingest import Rules, ingest_detection
from alerting.notify.texts import AlertSummary, render
from alerting.store.models import Camera
from alerting.store.repository import upsert_cameras
from alerting.store.tokens import create_token
from alerting.views import alert_model
from pinewatch.core.config import ConfigError, FireDangerConfig, Settings, load_settings
from pinewatch.embedded_redis import free_port
from tests.alerting.conftest import CAMERAS
from tests.alerting.helpers import T0, at, detection

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

DISTRICT_CAMERAS = [
    {**CAMERAS[0], "district": "Lạc Dương"},
    {**CAMERAS[1], "district": "Lạc Dương"},
    {**CAMERAS[2], "district": "Đam Rông"},
]
DAY = local_day(T0, FireDangerConfig())  # 2025-07-01 in Vietnam


# --- config ----------------------------------------------------------------------------


def test_levels_map_to_votes_and_bad_values_name_the_field(tmp_path):
    settings = Settings()
    votes = {n: (v.window, v.min_hits, v.alert_score) for n, v in settings.fire_danger.levels.items()}
    assert votes[3] == (None, None, None)  # level III: the temporal section as it is
    assert settings.fire_danger.levels[1].alert_score > settings.temporal.alert_score  # stricter on I
    assert settings.fire_danger.levels[5].min_hits < settings.temporal.min_hits  # looser on V
    partial = Settings(fire_danger={"levels": {5: {"escalate_after_min": 2}}})
    assert partial.fire_danger.levels[5].window == 1 and partial.fire_danger.levels[5].escalate_after_min == 2

    path = tmp_path / "bad.yaml"
    path.write_text("fire_danger:\n  levels:\n    4: {alert_score: 0.1}\n")
    with pytest.raises(ConfigError, match=r"fire_danger.levels.4.alert_score \(0.1\) is below detector.score_threshold"):
        load_settings(path)
    path.write_text("fire_danger:\n  timezone: Mars/Olympus\n")
    with pytest.raises(ConfigError, match="fire_danger.timezone: .*unknown time zone"):
        load_settings(path)
    path.write_text("fire_danger:\n  levels:\n    6: {window: 3}\n")
    with pytest.raises(ConfigError, match="level 6 is not one of 1, 2, 3, 4, 5"):
        load_settings(path)
    path.write_text(
        "cameras: [{id: a, source: a.mp4, district: X}]\n"
        "alerting:\n  notify:\n    groups: [{name: g, districts: [Y], recipients: [{channel: sms, to: '+84900000000'}]}]\n"
    )
    with pytest.raises(ConfigError, match="alerting.notify.groups.0.districts: no camera is in district Y"):
        load_settings(path)


# --- the store and the API --------------------------------------------------------------


@pytest.fixture
def app(make_settings, engine, redis_client, tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    settings = make_settings(cameras=DISTRICT_CAMERAS)
    app = create_app(settings, engine=engine, redis_client=redis_client, static_dir=static)
    upsert_cameras(app.state.ctx.factory, settings.cameras)
    return app


def auth(app, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(app.state.ctx.engine, f'{role}-user', role)}"}


def test_admin_sets_levels_camera_wins_over_district(app):
    with TestClient(app) as client:
        admin, ranger = auth(app, "admin"), auth(app, "ranger")
        day = "2026-03-15"
        assert client.put("/api/fire-danger", json={"day": day, "district": "Lạc Dương", "level": 5}, headers=ranger).status_code == 403
        set_district = client.put("/api/fire-danger", json={"day": day, "district": "Lạc Dương", "level": 5}, headers=admin)
        assert set_district.status_code == 200 and set_district.json()["source"] == "api"
        assert set_district.json()["set_by"] == "admin-user"
        camera = client.put("/api/fire-danger", json={"day": day, "camera_id": "tower-b", "level": 2}, headers=admin).json()
        assert client.put("/api/fire-danger", json={"day": day, "district": "Nowhere", "level": 2}, headers=admin).status_code == 404
        assert client.put("/api/fire-danger", json={"day": day, "level": 2}, headers=admin).status_code == 422
        assert client.put("/api/fire-danger", json={"day": day, "camera_id": "tower-a", "level": 6}, headers=admin).status_code == 422

        page = client.get(f"/api/fire-danger?day={day}", headers=ranger).json()
        levels = {c["camera_id"]: (c["level"], c["source"]) for c in page["cameras"]}
        assert levels == {"tower-a": (5, "district"), "tower-b": (2, "camera"), "tower-c": (3, "default")}
        assert page["districts"] == ["Lạc Dương", "Đam Rông"]
        assert [lvl["roman"] for lvl in page["levels"]] == ["I", "II", "III", "IV", "V"]
        assert page["levels"][0]["min_hits"] == 3 and page["levels"][4]["window"] == 1
        assert page["feed"] is None

        assert client.delete(f"/api/fire-danger/{camera['id']}", headers=admin).status_code == 204
        assert client.delete(f"/api/fire-danger/{camera['id']}", headers=admin).status_code == 404
        page = client.get(f"/api/fire-danger?day={day}", headers=ranger).json()
        assert {c["camera_id"]: c["level"] for c in page["cameras"]}["tower-b"] == 5
        other_day = client.get("/api/fire-danger?day=2026-03-16", headers=ranger).json()
        assert {c["level"] for c in other_day["cameras"]} == {3}  # a level holds for its day only


def test_alert_stores_the_days_level_and_notifications_say_it(app):
    factory = app.state.ctx.factory
    set_level(factory, DAY, "district", "Lạc Dương", 4, "api", "admin")
    rules = Rules.from_config(app.state.ctx.settings.alerting)
    [alert_id] = ingest_detection(factory, detection("tower-a", at(0)), rules).created
    [other] = ingest_detection(factory, detection("tower-c", at(1)), rules).created
    with factory() as session:
        from alerting.store.repository import get_alert

        alert, plain = get_alert(session, alert_id), get_alert(session, other)
        model = alert_model(alert)
        assert (alert.danger_level, plain.danger_level) == (4, 3)
    assert model.danger_level == 4
    summary = AlertSummary.of(model, "new", "http://x/?alert=1")
    assert "Cấp dự báo cháy rừng: cấp IV (nguy hiểm)" in render(summary, "vi").body
    assert "Fire-danger level: IV (dangerous)" in render(summary, "en").body


# --- the feed ----------------------------------------------------------------------------


class Feed:
    def __init__(self):
        self.status, self.body = 200, ""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/levels.csv"
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                payload = feed.body.encode()
                self.send_response(feed.status)
                self.send_header("Content-Type", "text/csv; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feed():
    server = Feed()
    yield server
    server.close()


def test_feed_is_polled_admin_levels_stand_and_its_state_is_visible(make_settings, engine, redis_client, tmp_path, feed):
    settings = make_settings(cameras=DISTRICT_CAMERAS, fire_danger={"feed_url": feed.url, "feed_poll_s": 3600})
    app = create_app(settings, engine=engine, redis_client=redis_client, static_dir=tmp_path)
    factory = app.state.ctx.factory
    upsert_cameras(factory, settings.cameras)
    set_level(factory, date(2026, 3, 15), "camera", "tower-c", 1, "api", "admin")  # an admin's call for that day
    feed.body = (
        "\ufeffday,district,camera_id,level\n"
        "2026-03-15,Lạc Dương,,IV\n"
        "2026-03-15,,tower-c,5\n"
        "2026-03-15,Nowhere,,2\n"
        "2026-03-16,Đam Rông,,V\n"
        "bad-day,Đam Rông,,2\n"
        f"2026-03-17,{unicodedata.normalize('NFD', 'Lạc Dương')},,2\n"  # decomposed accents: the same district
    )
    poller = FeedPoller(factory, settings.fire_danger)
    state = poller.poll_once()
    assert (state.rows_applied, state.rows_rejected) == (4, 2)  # tower-c's row counts as read; the admin's level stays
    assert "line 4: no camera is in district 'Nowhere'" in state.last_error and "(and 1 more)" in state.last_error
    with factory() as session:
        cameras = list(session.query(Camera).order_by(Camera.id))
        first = {k: v.level for k, v in levels_on(session, date(2026, 3, 15), settings.fire_danger, cameras).items()}
        second = {k: v.level for k, v in levels_on(session, date(2026, 3, 16), settings.fire_danger, cameras).items()}
    assert first == {"tower-a": 4, "tower-b": 4, "tower-c": 1}
    assert second == {"tower-a": 3, "tower-b": 3, "tower-c": 5}
    with factory() as session:
        assert levels_on(session, date(2026, 3, 17), settings.fire_danger)["tower-a"].level == 2

    feed.status = 503
    failed = poller.poll_once()
    assert failed.last_error == "HTTP 503" and failed.last_success_at == state.last_success_at
    feed.status, feed.body = 200, "when,where\n1,2\n"
    assert "the header must name day, level" in poller.poll_once().last_error
    with TestClient(app) as client:
        shown = client.get("/api/fire-danger/feed", headers=auth(app, "ranger")).json()
        assert shown["url"] == feed.url and shown["last_fetch_at"] > shown["last_success_at"]
        assert "the header must name" in shown["last_error"] and shown["rows_applied"] == 4
        assert client.get("/api/fire-danger?day=2026-03-15", headers=auth(app, "operator")).json()["feed"]["poll_s"] == 3600


def test_local_day_follows_the_configured_zone():
    config = FireDangerConfig()
    late_utc = T0.replace(hour=18)  # 01:00 the next day in Vietnam (UTC+7)
    assert local_day(late_utc, config) == T0.date() + timedelta(days=1)
    assert local_day(late_utc, FireDangerConfig(timezone="UTC")) == T0.date()
