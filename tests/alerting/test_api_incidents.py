"""The incidents API (issue 11) against a real store, SQLite and PostgreSQL: listed and shown with
their alerts, one point and its uncertainty; role-protected like the alerts; a verdict on an
incident goes to each of its alerts that can take it."""

from __future__ import annotations

import pytest

from alerting.coords import format_point
from alerting.store.repository import upsert_cameras
from pinewatch.core.config import CameraConfig
from tests.alerting.helpers import at, box_towards, detection
from tests.alerting.test_api import add, app, auth, client, tokens  # noqa: F401 - fixtures
from tests.alerting.test_incidents import EAST, FIRE, WEST


def _fire(app) -> tuple[int, int]:  # noqa: F811 - the fixture's value
    upsert_cameras(app.state.ctx.factory, [CameraConfig(**c) for c in (WEST, EAST)])
    [west] = add(app, detection("west", at(0), box=box_towards(WEST, *FIRE)))
    [east] = add(app, detection("east", at(2), box=box_towards(EAST, *FIRE)))
    return west, east


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("method,path", [("GET", "/api/incidents"), ("GET", "/api/incidents/1"), ("POST", "/api/incidents/1/verdict")])
def test_incident_routes_need_a_token(client, method, path):  # noqa: F811
    assert client.request(method, path, json={"status": "acknowledged"}).status_code == 401


def test_incidents_listed_and_shown_with_their_alerts_and_one_point(client, app, tokens):  # noqa: F811
    west, east = _fire(app)
    [lonely] = add(app, detection("tower-c", at(1)))  # a camera without a position: its own incident, no point
    headers = auth(tokens["ranger"])
    page = client.get("/api/incidents", headers=headers).json()
    assert page["total"] == 2
    fire = next(i for i in page["items"] if len(i["alerts"]) == 2)
    assert [a["id"] for a in fire["alerts"]] == [west, east] and fire["camera_ids"] == ["east", "west"]
    assert fire["status"] == "new" and fire["label"] == "smoke"
    point = fire["location"]
    assert point["camera_ids"] == ["east", "west"] and 0 < point["uncertainty_m"] < 1_500
    assert point["text"] == format_point(point["latitude"], point["longitude"], point["uncertainty_m"])
    assert point["text"].split(",")[0] == f"{point['latitude']:.3f}", "± about 400 m supports 3 decimals, not 5"
    # Each alert names its incident and carries the one point.
    alert = client.get(f"/api/alerts/{west}", headers=headers).json()
    assert alert["incident"] == {"id": fire["id"], "location": point, "camera_ids": ["east", "west"]}
    shown = client.get(f"/api/incidents/{fire['id']}", headers=headers).json()
    assert shown["id"] == fire["id"] and shown["location"] == point and len(shown["alerts"]) == 2
    lone = client.get(f"/api/alerts/{lonely}", headers=headers).json()["incident"]
    assert lone["location"] is None and lone["camera_ids"] == ["tower-c"]
    assert client.get("/api/incidents/9999", headers=headers).status_code == 404
    # Filters: statuses (repeatable), time.
    assert client.get("/api/incidents?status=confirmed", headers=headers).json()["total"] == 0
    assert client.get("/api/incidents?status=confirmed&status=new", headers=headers).json()["total"] == 2
    assert client.get("/api/incidents", params={"since": "2025-07-01T07:00:00Z"}, headers=headers).json()["total"] == 0
    assert client.get("/api/incidents?status=bogus", headers=headers).status_code == 422
    assert client.get("/api/incidents?limit=1", headers=headers).json()["items"][0]["id"] in (fire["id"], lone["id"])
    assert client.get("/api/incidents", headers=auth(tokens["worker"])).status_code == 403


def test_a_verdict_on_an_incident(client, app, tokens):  # noqa: F811
    west, east = _fire(app)
    incident_id = client.get(f"/api/alerts/{west}", headers=auth(tokens["operator"])).json()["incident"]["id"]
    url = f"/api/incidents/{incident_id}/verdict"
    assert client.post(url, json={"status": "confirmed"}, headers=auth(tokens["ranger"])).status_code == 403
    headers = auth(tokens["operator"])
    assert client.post(f"/api/alerts/{east}/verdict", json={"status": "acknowledged"}, headers=headers).status_code == 200
    acknowledged = client.post(url, json={"status": "acknowledged", "note": "looking"}, headers=headers).json()
    assert acknowledged["applied"] == [west] and acknowledged["skipped"] == [east]
    assert acknowledged["incident"]["status"] == "acknowledged"
    dismissed = client.post(url, json={"status": "dismissed", "reason": "cloud", "add_mask": True}, headers=headers)
    assert dismissed.status_code == 200 and dismissed.json()["applied"] == [west, east]
    assert dismissed.json()["incident"]["status"] == "dismissed"
    assert dismissed.json()["incident"]["location"] is None, "dismissed cones say nothing of where a fire is"
    verdicts = client.get(f"/api/alerts/{east}", headers=headers).json()["verdicts"]
    assert [(v["status"], v["reason"], v["by"]) for v in verdicts][-1] == ("dismissed", "cloud", "operator-user")
    masks = {c["id"]: c["masks"] for c in client.get("/api/cameras", headers=headers).json()["items"]}
    assert len(masks["west"]) == 1 and len(masks["east"]) == 1
    again = client.post(url, json={"status": "confirmed"}, headers=headers)
    assert again.status_code == 409 and "no alert of incident" in again.json()["detail"]
    assert client.post(url, json={"status": "out", "reason": "cloud"}, headers=headers).status_code == 409
    assert client.post("/api/incidents/9999/verdict", json={"status": "out"}, headers=headers).status_code == 404
    assert client.post(url, json={"status": "new"}, headers=headers).status_code == 422


def test_dismissing_one_cameras_alert_takes_its_cone_out_of_the_point(client, app, tokens):  # noqa: F811
    west, east = _fire(app)
    headers = auth(tokens["operator"])
    before = client.get(f"/api/alerts/{west}", headers=headers).json()["incident"]
    assert before["location"] is not None
    answer = client.post(f"/api/alerts/{east}/verdict", json={"status": "other_smoke"}, headers=headers).json()
    assert answer["status"] == "other_smoke" and answer["incident"]["id"] == before["id"]
    assert answer["incident"]["location"] is None, "one camera's cone is a bearing, not a point"
    incident = client.get(f"/api/incidents/{before['id']}", headers=headers).json()
    assert incident["location"] is None and incident["camera_ids"] == ["east", "west"] and incident["status"] == "new"
    assert client.get(f"/api/alerts/{west}", headers=headers).json()["incident"]["location"] is None
