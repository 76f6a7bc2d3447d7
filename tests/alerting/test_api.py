"""The HTTP API against a real store; the live feed through a real uvicorn server."""

from __future__ import annotations

import json
import threading
import time
import warnings
from datetime import timedelta

import httpx
import pytest
import uvicorn

from alerting.api.app import create_app
from alerting.ingest import Rules, apply_health, ingest_detection
from alerting.notify.outbox import Recipient
from alerting.store.repository import upsert_cameras
from alerting.store.tokens import create_token
from tests.alerting.conftest import free_port
from tests.alerting.helpers import at, detection, health, write_jpeg

with warnings.catch_warnings():
    # Starlette would rather have httpx2; the httpx we pin works.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

RULES = Rules(timedelta(minutes=30), timedelta(minutes=30), 50_000, 0.5, (Recipient("webhook", "http://h/1", "en"),))


@pytest.fixture
def app(make_settings, engine, tmp_path, redis_client):
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<h1>operator</h1>")
    (static / "ranger.html").write_text("<h1>ranger</h1>")
    (static / "app.js").write_text("console.log('hi')")
    (tmp_path / "outside.txt").write_text("not to be served")
    settings = make_settings(alerting={"sse_poll_s": 0.1})
    app = create_app(settings, engine=engine, redis_client=redis_client, static_dir=static)
    upsert_cameras(app.state.ctx.factory, settings.cameras)
    return app


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


@pytest.fixture
def tokens(app) -> dict[str, str]:
    engine = app.state.ctx.engine
    return {role: create_token(engine, f"{role}-user", role) for role in ("ranger", "operator", "admin", "worker")}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add(app, *events) -> list[int]:
    ids = []
    for event in events:
        ids += ingest_detection(app.state.ctx.factory, event, RULES).created
    return ids


# --- authentication ------------------------------------------------------------------


PROTECTED = [
    ("GET", "/api/alerts"),
    ("GET", "/api/alerts/1"),
    ("POST", "/api/alerts/1/verdict"),
    ("GET", "/api/cameras"),
    ("GET", "/api/notifications"),
    ("GET", "/api/evidence/tower-a/x.jpg"),
    ("GET", "/api/events"),
    ("GET", "/api/me"),
    ("GET", "/api/tokens"),
    ("GET", "/metrics"),
]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("method,path", PROTECTED)
def test_every_route_needs_a_token(client, method, path):
    response = client.request(method, path, json={"status": "acknowledged"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.request(method, path, headers=auth("pw_wrong"), json={"status": "acknowledged"}).status_code == 401


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_public_routes(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/").text == "<h1>operator</h1>"
    assert client.get("/ranger").text == "<h1>ranger</h1>"
    assert client.get("/static/app.js").text == "console.log('hi')"
    assert client.get("/static/..%2Foutside.txt").status_code == 404
    assert client.get("/static/missing.js").status_code == 404
    schema = client.get("/openapi.json").json()
    assert {"/api/alerts", "/api/alerts/{alert_id}/verdict", "/api/events", "/metrics"} <= set(schema["paths"])


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_roles(client, app, tokens):
    [alert_id] = add(app, detection("tower-a", at(0)))
    assert client.get("/api/me", headers=auth(tokens["ranger"])).json() == {"name": "ranger-user", "role": "ranger"}
    assert client.get("/api/alerts", headers=auth(tokens["worker"])).status_code == 403
    assert client.get("/api/me", headers=auth(tokens["worker"])).status_code == 200
    verdict = {"status": "acknowledged"}
    assert (
        client.post(f"/api/alerts/{alert_id}/verdict", json=verdict, headers=auth(tokens["ranger"])).status_code == 403
    )
    assert (
        client.post(f"/api/alerts/{alert_id}/verdict", json=verdict, headers=auth(tokens["operator"])).status_code
        == 200
    )
    assert client.get("/api/tokens", headers=auth(tokens["operator"])).status_code == 403


# --- alerts --------------------------------------------------------------------------


def test_alert_list_and_detail(client, app, tokens, evidence_dir):
    first, second = add(app, detection("tower-a", at(0), evidence_path="tower-a/1.jpg"), detection("tower-c", at(5)))
    add(app, detection("tower-a", at(2), score=0.95, evidence_path="tower-a/2 b.jpg"))
    headers = auth(tokens["ranger"])
    page = client.get("/api/alerts", headers=headers).json()
    assert page["total"] == 2 and [a["id"] for a in page["items"]] == [second, first]
    item = page["items"][1]
    assert item["camera_name"] == "Tower A" and item["frame_count"] == 2 and item["score"] == 0.95
    assert item["evidence_url"] == "/api/evidence/tower-a/2%20b.jpg"
    assert item["first_seen"].startswith("2025-07-01T06:00:00") and item["last_seen"].startswith("2025-07-01T06:02:00")
    assert item["bearing_deg"] is not None and item["location"] is None
    assert item["status"] == "new" and len(item["box"]) == 4

    assert [a["id"] for a in client.get("/api/alerts?camera_id=tower-c", headers=headers).json()["items"]] == [second]
    assert client.get("/api/alerts?status=confirmed", headers=headers).json() == {"items": [], "total": 0}
    window = client.get("/api/alerts", params={"since": "2025-07-01T06:03:00Z"}, headers=headers).json()
    assert [a["id"] for a in window["items"]] == [second]
    assert [a["id"] for a in client.get("/api/alerts?limit=1&offset=1", headers=headers).json()["items"]] == [first]
    assert client.get("/api/alerts?status=bogus", headers=headers).status_code == 422

    detail = client.get(f"/api/alerts/{first}", headers=headers).json()
    assert [f["evidence_url"] for f in detail["frames"]] == [
        "/api/evidence/tower-a/1.jpg",
        "/api/evidence/tower-a/2%20b.jpg",
    ]
    assert detail["verdicts"] == []
    assert client.get("/api/alerts/9999", headers=headers).status_code == 404


def test_verdicts_and_masks(client, app, tokens):
    [alert_id] = add(app, detection("tower-a", at(0), box=[0.1, 0.2, 0.3, 0.4]))
    headers = auth(tokens["operator"])
    url = f"/api/alerts/{alert_id}/verdict"
    acknowledged = client.post(url, json={"status": "acknowledged", "note": "checking"}, headers=headers)
    assert acknowledged.status_code == 200 and acknowledged.json()["status"] == "acknowledged"
    dismissed = client.post(url, json={"status": "dismissed", "note": "cloud", "add_mask": True}, headers=headers)
    assert dismissed.json()["status"] == "dismissed"
    again = client.post(url, json={"status": "confirmed"}, headers=headers)
    assert again.status_code == 409 and "dismissed" in again.json()["detail"]
    assert client.post(url, json={"status": "new"}, headers=headers).status_code == 422
    assert client.post("/api/alerts/9999/verdict", json={"status": "dismissed"}, headers=headers).status_code == 404

    verdicts = client.get(f"/api/alerts/{alert_id}", headers=headers).json()["verdicts"]
    assert [(v["status"], v["by"], v["note"]) for v in verdicts] == [
        ("acknowledged", "operator-user", "checking"),
        ("dismissed", "operator-user", "cloud"),
    ]
    cameras = {c["id"]: c for c in client.get("/api/cameras", headers=headers).json()["items"]}
    assert cameras["tower-a"]["masks"] == [[[0.1, 0.2], [0.3, 0.2], [0.3, 0.4], [0.1, 0.4]]]
    assert cameras["tower-a"]["status"] == "unknown" and cameras["tower-a"]["azimuth_deg"] == 45.0


def test_cameras_with_health(client, app, tokens):
    apply_health(app.state.ctx.factory, health("tower-b", "frozen", at(1), "6 identical frames"))
    cameras = {c["id"]: c for c in client.get("/api/cameras", headers=auth(tokens["ranger"])).json()["items"]}
    assert set(cameras) == {"tower-a", "tower-b", "tower-c"}
    assert (cameras["tower-b"]["status"], cameras["tower-b"]["status_detail"]) == ("frozen", "6 identical frames")
    assert cameras["tower-b"]["last_seen"].startswith("2025-07-01T06:01:00")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_evidence_images(client, app, tokens, evidence_dir):
    write_jpeg(evidence_dir, "tower-a/frame 1.jpg")
    (evidence_dir.parent / "secret.jpg").write_bytes(b"\xff\xd8 not yours")
    headers = auth(tokens["ranger"])
    response = client.get("/api/evidence/tower-a/frame%201.jpg", headers=headers)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content[:2] == b"\xff\xd8"
    by_query = client.get(f"/api/evidence/tower-a/frame%201.jpg?token={tokens['ranger']}")
    assert by_query.status_code == 200
    assert client.get("/api/evidence/../secret.jpg", headers=headers).status_code == 404
    assert client.get("/api/evidence/..%2Fsecret.jpg", headers=headers).status_code == 404
    assert client.get("/api/evidence/tower-a/missing.jpg", headers=headers).status_code == 404
    # ?token= is only for the routes a browser cannot add headers to.
    assert client.get(f"/api/alerts?token={tokens['ranger']}").status_code == 401


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_notification_log(client, app, tokens):
    [alert_id] = add(app, detection("tower-a", at(0)))
    items = client.get(f"/api/notifications?alert_id={alert_id}", headers=auth(tokens["ranger"])).json()["items"]
    assert [(n["channel"], n["recipient"], n["status"], n["attempts"]) for n in items] == [
        ("webhook", "http://h/1", "pending", 0)
    ]
    assert items[0]["next_attempt_at"] is not None and items[0]["sent_at"] is None
    assert client.get("/api/notifications?alert_id=999", headers=auth(tokens["ranger"])).json() == {"items": []}


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_token_management(client, tokens):
    admin = auth(tokens["admin"])
    created = client.post("/api/tokens", json={"name": "field-1", "role": "ranger"}, headers=admin)
    assert created.status_code == 201
    new = created.json()["token"]
    assert client.get("/api/me", headers=auth(new)).json() == {"name": "field-1", "role": "ranger"}
    assert client.post("/api/tokens", json={"name": "field-1", "role": "admin"}, headers=admin).status_code == 409
    listed = client.get("/api/tokens", headers=admin).json()["items"]
    token_id = next(t["id"] for t in listed if t["name"] == "field-1")
    assert all("hash" not in json.dumps(t) for t in listed)
    assert client.delete(f"/api/tokens/{token_id}", headers=admin).status_code == 204
    assert client.get("/api/me", headers=auth(new)).status_code == 401
    assert client.delete("/api/tokens/9999", headers=admin).status_code == 404


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_metrics(client, app, tokens, redis_client):
    settings = app.state.ctx.settings
    from alerting.consumer import StreamConsumer
    from pinewatch.core.messages import encode

    consumer = StreamConsumer(
        redis_client, app.state.ctx.factory, settings.redis, settings.alerting, RULES, app.state.ctx.metrics, "m1"
    )
    consumer.ensure_groups()
    for minute in (0, 1, 2):
        redis_client.xadd(settings.redis.detections_stream, encode(detection("tower-a", at(minute))))
    redis_client.xreadgroup(consumer.group, "m1", {settings.redis.detections_stream: ">"}, count=1)  # one pending
    text = client.get("/metrics", headers=auth(tokens["worker"])).text
    assert f'pinewatch_consumer_lag{{stream="{settings.redis.detections_stream}"}} 2.0' in text
    assert f'pinewatch_consumer_pending{{stream="{settings.redis.detections_stream}"}} 1.0' in text
    consumer._read_own_backlog = True
    while consumer.poll_once(block_ms=10) > 0:
        pass
    text = client.get("/metrics", headers=auth(tokens["worker"])).text
    assert 'pinewatch_alerts{status="new"} 1.0' in text
    assert 'pinewatch_alerts{status="confirmed"} 0.0' in text
    assert f'pinewatch_messages_total{{outcome="processed",stream="{settings.redis.detections_stream}"}} 3.0' in text
    assert 'pinewatch_notifications{channel="webhook",status="pending"} 1.0' in text
    assert f'pinewatch_consumer_lag{{stream="{settings.redis.detections_stream}"}} 0.0' in text
    assert "pinewatch_deliveries_total" in text


# --- live feed -------------------------------------------------------------------------


@pytest.fixture
def live_url(app):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def read_events(lines, wanted: int, timeout_s: float) -> list[tuple[str, dict]]:
    events, name = [], None
    deadline = time.monotonic() + timeout_s
    for line in lines:
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: ") and name:
            events.append((name, json.loads(line[len("data: ") :])))
            name = None
            if len(events) >= wanted:
                break
        assert time.monotonic() < deadline, f"only {events} in {timeout_s} s"
    return events


def test_live_feed_of_alerts_and_cameras(app, live_url, tokens):
    factory = app.state.ctx.factory
    [old] = add(app, detection("tower-c", at(0)))  # before connecting: not replayed
    with httpx.stream("GET", f"{live_url}/api/events?token={tokens['ranger']}", timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines) == ": connected"
        time.sleep(0.3)  # the feed's baseline
        [new] = add(app, detection("tower-a", at(1)))
        events = read_events(lines, 1, 5)
        assert events[0][0] == "alert" and events[0][1]["id"] == new and events[0][1]["frame_count"] == 1
        add(app, detection("tower-a", at(2)))
        apply_health(factory, health("tower-a", "offline", at(3)))
        events = read_events(lines, 2, 5)
        kinds = {name: data for name, data in events}
        assert kinds["alert"]["id"] == new and kinds["alert"]["frame_count"] == 2
        assert kinds["camera"]["id"] == "tower-a" and kinds["camera"]["status"] == "offline"
        assert old not in [data["id"] for name, data in events if name == "alert"]
