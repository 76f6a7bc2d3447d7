"""Loose ends of issue 11 in a real headless Chromium against the real service: pictures that
retention deleted are explained instead of shown broken (and never requested); one acknowledge on
the wall screen acknowledges every camera's new alert of the fire; the ranger map draws every
active fire's point with its uncertainty circle."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from alerting import geo
from alerting.retention import sweep
from alerting.store.db import make_engine, session_factory
from alerting.store.repository import upsert_cameras
from pinewatch.core.config import CameraConfig
from tests.alerting.helpers import box_towards
from tests.web.conftest import SMOKE_FRAMES, requested_urls, script_errors, start_browser, wait_for

pytestmark = pytest.mark.slow
webdriver = pytest.importorskip("selenium.webdriver", reason="browser tests need selenium (pip install -e '.[dev]')")



def _pair(name: str, latitude: float, longitude: float) -> tuple[dict, dict, tuple[float, float]]:
    """Two towers 20 km apart whose cones cross on a fire 8 km north-east of the first."""
    west = {"id": f"{name}-west", "name": f"{name} W", "source": "rtsp://127.0.0.1:1/none", "latitude": latitude, "longitude": longitude, "azimuth_deg": 45.0, "fov_deg": 60.0}
    east = {**west, "id": f"{name}-east", "name": f"{name} E", "longitude": longitude + 0.18, "azimuth_deg": 315.0}
    return west, east, geo.destination(latitude, longitude, 45.0, 8_000)


# Two fires about 200 km apart, each seen by its own pair of towers.
NORTH = _pair("north", 12.60, 109.00)
SOUTH = _pair("south", 11.00, 107.50)


@pytest.fixture(scope="module")
def browser(tmp_path_factory, web_service):
    driver = start_browser(tmp_path_factory, "en-US")
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def factory(web_service):
    engine = make_engine(web_service.settings.alerting.database_url)
    yield session_factory(engine)
    engine.dispose()


def _css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _text(driver, selector) -> str:
    return driver.execute_script("return [...document.querySelectorAll(arguments[0])].map(e => e.innerText).join(' ')", selector)


def _verdict(service, alert_id: int, **body) -> dict:
    response = httpx.post(
        f"{service.base_url}/api/alerts/{alert_id}/verdict", json=body, headers={"Authorization": f"Bearer {service.operator_token}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def _close_all(service) -> None:
    """Dismiss what an earlier test left open, so each test sees its own alerts."""
    for status in ("new", "acknowledged"):
        for alert in service.get(f"/api/alerts?status={status}&limit=500").json()["items"]:
            _verdict(service, alert["id"], status="dismissed", reason="other")


def _open(driver, service, token: str, path: str) -> None:
    driver.get(f"{service.base_url}/healthz")
    driver.execute_script("localStorage.clear(); localStorage.setItem('pinewatch.token', arguments[0])", token)
    requested_urls(driver)  # forget what was requested so far
    driver.get(service.base_url + path)


def test_pictures_removed_by_retention_are_explained_not_broken(browser, web_service, factory):
    _close_all(web_service)
    now = datetime.now(timezone.utc)
    # A spot of its own: a later detection there would join this (dismissed) alert.
    relative = web_service.publish_detection("tower-1", now - timedelta(minutes=5), box=[0.05, 0.6, 0.2, 0.75], clip_frame=SMOKE_FRAMES[1])
    alert = web_service.wait_for_alert("tower-1", status="new")
    _verdict(web_service, alert["id"], status="dismissed", reason="cloud")
    evidence_dir = Path(web_service.settings.streams.evidence_dir)
    swept_at = datetime.fromisoformat(alert["last_seen"]) + timedelta(days=30, hours=2)
    assert sweep(factory, evidence_dir, 30, now=swept_at).alerts >= 1
    assert not (evidence_dir / relative).exists()
    assert web_service.get(f"/api/alerts/{alert['id']}").json()["evidence_deleted_at"]

    _open(browser, web_service, web_service.operator_token, f"/?alert={alert['id']}")
    wait_for(lambda: _css(browser, ".stage .evidence.removed"), 10, 0.1, "the removed-pictures note in the player")
    assert _text(browser, ".stage") == "Pictures removed after 30 days (retention)"
    assert not _css(browser, ".stage img") and not _css(browser, ".filmstrip img")
    wait_for(lambda: _css(browser, ".filmstrip .frame"), 10, 0.1, "the frames, still listed by time")
    assert not _css(browser, ".evidence.broken")
    # The list row (all statuses) says it too, with no thumbnail.
    browser.execute_script("const s = document.getElementById('filter-status'); s.value = ''; s.dispatchEvent(new Event('change'))")
    row = wait_for(lambda: _css(browser, f"#alert-{alert['id']} .thumb.removed"), 10, 0.1, "the row's note")[0]
    assert row.get_attribute("title") == "Pictures removed after 30 days (retention)"
    assert not _css(browser, f"#alert-{alert['id']} img")
    # In Vietnamese.
    browser.find_element("css selector", '[data-lang="vi"]').click()
    wait_for(lambda: _text(browser, ".stage") == "Ảnh đã được xóa sau 30 ngày (hết hạn lưu trữ)", 10, 0.1, "the note in Vietnamese")
    browser.find_element("css selector", '[data-lang="en"]').click()
    assert not [url for url in requested_urls(browser) if "/api/evidence/" in url and relative in url], "no request for a deleted picture"
    assert script_errors(browser) == []


def test_one_acknowledge_on_the_wall_clears_every_camera_of_the_fire(browser, web_service):
    _close_all(web_service)
    web_service.heartbeat("tower-1")
    web_service.heartbeat("tower-2")
    now = datetime.now(timezone.utc)
    web_service.publish_detection("tower-1", now - timedelta(minutes=4), clip_frame=SMOKE_FRAMES[1])
    one = web_service.wait_for_alert("tower-1", status="new")
    web_service.publish_detection("tower-2", now - timedelta(minutes=2), clip_frame=SMOKE_FRAMES[2])
    two = web_service.wait_for_alert("tower-2", status="new")
    wait_for(
        lambda: web_service.get(f"/api/alerts/{one['id']}").json()["incident"]["id"] == web_service.get(f"/api/alerts/{two['id']}").json()["incident"]["id"],
        15, 0.1, "one incident of both towers",
    )  # fmt: skip

    _open(browser, web_service, web_service.operator_token, "/?wall=1")
    wait_for(lambda: _css(browser, f'#wall .wall-alert[data-id="{two["id"]}"]'), 15, 0.1, "the newest alert on the wall")
    ack = wait_for(lambda: [b for b in _css(browser, "#wall .wall-ack") if b.is_displayed() and b.is_enabled()], 10, 0.1, "the acknowledge button")[0]
    ack.click()  # once
    wait_for(lambda: "No new alerts" in _text(browser, "#wall"), 10, 0.1, "the calm wall, without the other camera's alert")
    for alert in (one, two):
        shown = web_service.get(f"/api/alerts/{alert['id']}").json()
        assert shown["status"] == "acknowledged" and shown["verdicts"][-1]["by"] == "olivia"
    assert not _css(browser, "#wall .wall-alert")
    assert script_errors(browser) == []


def _drawn_points(driver) -> list[list[float]]:
    """Where each point marker of the ranger map is drawn, as latitude/longitude."""
    return driver.execute_script(
        """const box = document.querySelector('#ranger-map'), map = box._pinewatch.map, c = box.getBoundingClientRect();
        return [...box.querySelectorAll('.map-point')].map((el) => { const r = el.getBoundingClientRect();
          const p = map.containerPointToLatLng([r.left + r.width / 2 - c.left, r.top + r.height / 2 - c.top]); return [p.lat, p.lng]; });"""
    )


def test_the_ranger_map_draws_every_active_fire(browser, web_service, factory):
    _close_all(web_service)
    upsert_cameras(factory, [CameraConfig(**c) for west, east, _ in (NORTH, SOUTH) for c in (west, east)])
    now = datetime.now(timezone.utc)
    for minutes, (west, east, fire) in zip((5, 3), (NORTH, SOUTH)):
        web_service.publish_detection(west["id"], now - timedelta(minutes=minutes), box=box_towards(west, *fire))
        web_service.publish_detection(east["id"], now - timedelta(minutes=minutes - 1), box=box_towards(east, *fire))

    def two_fires():
        items = web_service.get("/api/incidents?status=new").json()["items"]
        points = [i["location"] for i in items if i["location"] and len(i["camera_ids"]) == 2]
        return points if len(points) == 2 else None

    points = wait_for(two_fires, 15, 0.1, "two incidents, each with one point")
    assert geo.haversine_m(points[0]["latitude"], points[0]["longitude"], points[1]["latitude"], points[1]["longitude"]) > 150_000

    _open(browser, web_service, web_service.ranger_token, "/ranger")
    wait_for(lambda: len(_css(browser, "#ranger-map .map-point")) == 2, 15, 0.1, "both fires' points on the map")
    assert len(_css(browser, "#ranger-map .map-uncertainty")) == 2, "each with its uncertainty circle"
    drawn = sorted(_drawn_points(browser))
    for (lat, lon), point in zip(drawn, sorted(points, key=lambda p: (p["latitude"], p["longitude"]))):
        assert lat == pytest.approx(point["latitude"], abs=0.02) and lon == pytest.approx(point["longitude"], abs=0.02)
    assert len(_css(browser, "#ranger-map .map-ray")) == 4, "every camera's bearing ray"
    assert script_errors(browser) == []
