"""Loose ends of issue 11 in the API, on SQLite and PostgreSQL: an alert whose pictures retention
deleted says so (`evidence_deleted_at`), and the alerts CSV names each alert's incident and the
incident's point, printed as the API prints it (alerting/coords.py)."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from alerting.coords import format_point
from alerting.retention import sweep
from alerting.store.repository import apply_verdict
from tests.alerting.helpers import at, detection
from tests.alerting.test_api import add, app, auth, client, tokens  # noqa: F401 - fixtures
from tests.alerting.test_api_incidents import _fire


def test_swept_alerts_say_when_their_pictures_were_removed(client, app, tmp_path, tokens):  # noqa: F811
    [kept, swept] = add(app, detection("tower-a", at(0)), detection("tower-b", at(1)))
    factory = app.state.ctx.factory
    apply_verdict(factory, swept, "dismissed", "olivia", "", False, [], reason="cloud")
    now = at(40 * 24 * 60)
    assert sweep(factory, tmp_path / "evidence", 30, now=now).alerts == 1
    headers = auth(tokens["ranger"])
    detail = client.get(f"/api/alerts/{swept}", headers=headers).json()
    assert datetime.fromisoformat(detail["evidence_deleted_at"]) == now
    assert client.get(f"/api/alerts/{kept}", headers=headers).json()["evidence_deleted_at"] is None
    listed = {a["id"]: a["evidence_deleted_at"] for a in client.get("/api/alerts", headers=headers).json()["items"]}
    assert listed[kept] is None and datetime.fromisoformat(listed[swept]) == now


def test_the_csv_names_each_alerts_incident_and_its_point(client, app, tokens):  # noqa: F811
    west, east = _fire(app)
    [lonely] = add(app, detection("tower-c", at(1)))  # no position: its own incident, no point
    headers = auth(tokens["operator"])
    incident = client.get(f"/api/alerts/{west}", headers=headers).json()["incident"]
    point = incident["location"]
    response = client.get("/api/alerts.csv", headers=headers)
    assert response.status_code == 200
    rows = {int(r["alert_id"]): r for r in csv.DictReader(io.StringIO(response.text.lstrip("\ufeff")))}
    assert set(rows) == {west, east, lonely}
    for alert_id in (west, east):
        assert rows[alert_id]["incident_id"] == str(incident["id"])
        assert rows[alert_id]["incident_point"] == point["text"]
    assert point["text"] == format_point(point["latitude"], point["longitude"], point["uncertainty_m"])
    assert point["text"].split(",")[0] == f"{point['latitude']:.3f}", "to the precision the uncertainty supports"
    lone = client.get(f"/api/alerts/{lonely}", headers=headers).json()["incident"]
    assert rows[lonely]["incident_id"] == str(lone["id"]) != str(incident["id"])
    assert rows[lonely]["incident_point"] == ""
    # The same filter as the list: one camera's alerts only.
    only = list(csv.DictReader(io.StringIO(client.get("/api/alerts.csv?camera_id=east", headers=headers).text.lstrip("\ufeff"))))
    assert [(int(r["alert_id"]), r["incident_id"]) for r in only] == [(east, str(incident["id"]))]


def test_csv_cells_defuse_formulas_but_keep_points_south_of_the_equator():
    from alerting.api.routes_alerts import _cell

    assert _cell('=HYPERLINK("http://x","y")') == "'=HYPERLINK(\"http://x\",\"y\")"
    assert _cell("-2+3") == "'-2+3" and _cell("@SUM(A1)") == "'@SUM(A1)" and _cell("+1 cloud") == "'+1 cloud"
    assert _cell("-12.3456, 108.4900") == "-12.3456, 108.4900"  # a point as the API prints it
    assert _cell("-33.9, -70.12") == "-33.9, -70.12" and _cell("-4.5") == "-4.5"
    assert _cell(None) == "" and _cell(-12.5) == -12.5
