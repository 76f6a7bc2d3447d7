"""Incidents in a real headless Chromium (issue 11, points 3, 4 and 12): two towers' detections go
through the real stream, consumer and store and make ONE incident; the operator page shows each
camera's view and the one point, the map draws both cones, both rays and the point with its
uncertainty circle; the wall screen and the ranger page show the same point, printed to the
precision its uncertainty supports (the pages' rule agrees with alerting/coords.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from alerting.coords import decimals_for
from tests.web.conftest import SMOKE_FRAMES, script_errors, start_browser, wait_for

pytestmark = pytest.mark.slow
webdriver = pytest.importorskip("selenium.webdriver", reason="browser tests need selenium (pip install -e '.[dev]')")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402


@pytest.fixture(scope="module")
def browser(tmp_path_factory, web_service):
    driver = start_browser(tmp_path_factory, "en-US")
    yield driver
    driver.quit()


def _css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _text(driver, selector) -> str:
    return driver.execute_script("return [...document.querySelectorAll(arguments[0])].map(e => e.innerText).join(' ')", selector)


def _sign_in(driver, service, token: str) -> None:
    driver.get(f"{service.base_url}/healthz")
    driver.execute_script("localStorage.clear(); localStorage.setItem('pinewatch.token', arguments[0])", token)


def _drawn_at(driver, container: str) -> list[list[float]]:
    """Where the point marker and the uncertainty circle are drawn, as latitude/longitude."""
    return driver.execute_script(
        """const box = document.querySelector(arguments[0]), map = box._pinewatch.map, c = box.getBoundingClientRect();
        const at = (el) => { const r = el.getBoundingClientRect();
          const p = map.containerPointToLatLng([r.left + r.width / 2 - c.left, r.top + r.height / 2 - c.top]); return [p.lat, p.lng]; };
        return [at(box.querySelector('.map-point')), at(box.querySelector('.map-uncertainty'))];""",
        container,
    )


def test_two_cameras_make_one_incident_on_the_pages_and_the_map(browser, web_service, screenshot_dir):
    web_service.heartbeat("tower-1")
    web_service.heartbeat("tower-2")
    now = datetime.now(timezone.utc)
    web_service.publish_detection("tower-1", now - timedelta(minutes=6), clip_frame=SMOKE_FRAMES[1])
    web_service.publish_detection("tower-2", now - timedelta(minutes=3), clip_frame=SMOKE_FRAMES[2])
    one = web_service.wait_for_alert("tower-1")
    two = web_service.wait_for_alert("tower-2")

    # The store made one incident of the two alerts, with one point.
    def one_incident():
        page = web_service.get("/api/incidents").json()
        return page if page["total"] == 1 and len(page["items"][0]["alerts"]) == 2 and page["items"][0]["location"] else None

    incident = wait_for(one_incident, 15, 0.1, "one incident of both towers")["items"][0]
    assert sorted(a["id"] for a in incident["alerts"]) == sorted([one["id"], two["id"]])
    assert incident["camera_ids"] == ["tower-1", "tower-2"]
    point = incident["location"]
    assert sorted(point["camera_ids"]) == ["tower-1", "tower-2"] and point["uncertainty_m"] > 0
    assert web_service.get(f"/api/alerts/{one['id']}").json()["incident"]["location"] == point

    # The operator page: the incident with each camera's view, its one point, and the map.
    _sign_in(browser, web_service, web_service.operator_token)
    browser.get(f"{web_service.base_url}/?alert={one['id']}")
    wait_for(lambda: len(_css(browser, ".incident .incident-view")) == 2, 15, 0.1, "both cameras' views of the incident")
    assert _text(browser, ".incident h3").startswith(f"Incident #{incident['id']}")
    wait_for(lambda: "Seen by 2 cameras: Tháp 1, Tháp 2" in _text(browser, ".incident h3"), 10, 0.1, "the cameras' names")
    views = {v.get_attribute("data-camera-id"): v for v in _css(browser, ".incident-view")}
    assert set(views) == {"tower-1", "tower-2"}
    assert "Smoke at 319° (NW) from Tháp 2" in views["tower-2"].text
    wait_for(
        lambda: browser.execute_script("return [...document.querySelectorAll('.incident-view img')].every(i => i.complete && i.naturalWidth === 640)"),
        10, 0.1, "each camera's picture",
    )  # fmt: skip
    # The one point, to the digits its uncertainty supports: the same text as the API's.
    assert point["text"] in _text(browser, ".facts .point")
    assert "One point from 2 cameras" in _text(browser, ".facts")
    assert f"{point['latitude']:.{decimals_for(point['uncertainty_m']) + 1}f}" not in _text(browser, ".facts")
    wait_for(lambda: len(_css(browser, "#alert-list .row-incident")) == 2, 10, 0.1, "both rows name the incident")
    assert {r.get_attribute("data-incident") for r in _css(browser, "#alert-list .row-incident")} == {str(incident["id"])}

    # The map: both cameras, both cones, both rays, one point with its circle where the API puts it.
    wait_for(lambda: len(_css(browser, "#alert-map .map-ray")) == 2, 10, 0.1, "both bearing rays")
    assert len(_css(browser, "#alert-map .map-camera")) == 2 and len(_css(browser, "#alert-map .map-cone")) == 2
    assert len(_css(browser, "#alert-map .map-wedge")) == 2, "each camera's cone towards the smoke"
    assert len(_css(browser, "#alert-map .map-point")) == 1 and len(_css(browser, "#alert-map .map-uncertainty")) == 1
    for lat, lon in _drawn_at(browser, "#alert-map"):
        assert lat == pytest.approx(point["latitude"], abs=0.01) and lon == pytest.approx(point["longitude"], abs=0.01)
    radius_px = browser.execute_script("return document.querySelector('#alert-map .map-uncertainty').getBoundingClientRect().width / 2")
    metres_per_px = browser.execute_script(
        """const map = document.querySelector('#alert-map')._pinewatch.map, size = map.getSize();
        return map.containerPointToLatLng([0, size.y / 2]).distanceTo(map.containerPointToLatLng([100, size.y / 2])) / 100;"""
    )
    assert radius_px * metres_per_px == pytest.approx(point["uncertainty_m"], rel=0.15), "the circle is the uncertainty"
    browser.execute_script("document.querySelector('.incident').scrollIntoView({ block: 'start' })")  # the views and the map
    browser.save_screenshot(str(screenshot_dir / "operator-incident.png"))

    # Another camera's view opens its alert: the same incident and point.
    # Quiet the alarm first: its banner leaves on the first touch, and the page moves up under the pointer.
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    wait_for(lambda: not browser.find_element("css selector", "#alarm-banner").is_displayed(), 5, 0.1, "the alarm banner to go")
    browser.find_element("css selector", '.incident-view[data-camera-id="tower-2"] .incident-open').click()
    wait_for(lambda: f"#{two['id']}" in _text(browser, ".detail-header"), 10, 0.1, "Tháp 2's alert")
    wait_for(lambda: _css(browser, f'.incident-view.current[data-alert-id="{two["id"]}"]'), 10, 0.1, "its view marked")
    assert point["text"] in _text(browser, ".facts .point")

    # The same rule in the pages as in the API and notifications (alerting/coords.py).
    table = [None, 0, 0.5, 1, 50, 640, 1_110, 1_111, 2_600, 7_400, 11_100, 200_000]
    decimals = browser.execute_async_script(
        "const done = arguments[1]; import('/static/format.js').then(m => done(arguments[0].map(m.coordinateDecimals)));", table
    )
    assert decimals == [decimals_for(m) for m in table]

    # In Vietnamese.
    browser.find_element("css selector", 'button[data-lang="vi"]').click()
    wait_for(lambda: _text(browser, ".incident h3").startswith(f"Sự cố #{incident['id']}"), 10, 0.1, "the Vietnamese heading")
    assert "2 camera cùng thấy: Tháp 1, Tháp 2" in _text(browser, ".incident h3")
    browser.find_element("css selector", 'button[data-lang="en"]').click()

    # The wall screen: the newest new alert, with the incident's point and cameras.
    browser.get(f"{web_service.base_url}/?wall=1")
    wait_for(lambda: _css(browser, f'#wall .wall-alert[data-id="{two["id"]}"]'), 10, 0.1, "the wall")
    wait_for(lambda: point["text"].split(" (")[0] in _text(browser, ".wall-location"), 10, 0.1, "the wall's point")
    assert "Seen by 2 cameras" in _text(browser, ".wall-incident")
    wait_for(lambda: len(_css(browser, "#wall-map .map-ray")) == 2 and _css(browser, "#wall-map .map-point"), 10, 0.1, "the wall map")
    for lat, lon in _drawn_at(browser, "#wall-map"):
        assert lat == pytest.approx(point["latitude"], abs=0.01) and lon == pytest.approx(point["longitude"], abs=0.01)

    # The ranger page: each card names the cameras and prints the incident's one point.
    _sign_in(browser, web_service, web_service.ranger_token)
    browser.get(f"{web_service.base_url}/ranger")
    wait_for(lambda: len(_css(browser, ".card .incident")) == 2, 10, 0.1, "the cards' incident line")
    assert _text(browser, ".card .where strong").split() == [*point["text"].split(" (")[0].split()] * 2
    wait_for(lambda: len(_css(browser, "#ranger-map .map-point")) == 1 and len(_css(browser, "#ranger-map .map-cone")) == 2, 10, 0.1, "the ranger map")
    for lat, lon in _drawn_at(browser, "#ranger-map"):
        assert lat == pytest.approx(point["latitude"], abs=0.01) and lon == pytest.approx(point["longitude"], abs=0.01)
    assert script_errors(browser) == []

    # An operator confirms the fire once for the whole incident: both cameras' alerts take it.
    _sign_in(browser, web_service, web_service.operator_token)
    browser.get(f"{web_service.base_url}/?alert={two['id']}")
    whole = wait_for(lambda: (_css(browser, "#whole-incident") or [None])[0], 15, 0.1, "the whole-incident box")
    assert "Verdicts apply to all 2 alerts of this fire" in _text(browser, ".incident-whole")
    assert not whole.is_selected(), "off until the operator ticks it"
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    whole.click()
    ActionChains(browser).send_keys(Keys.ESCAPE).send_keys("c").send_keys("c").perform()  # Esc leaves the box: keys are shortcuts again
    wait_for(
        lambda: {a["status"] for a in web_service.get(f"/api/incidents/{incident['id']}").json()["alerts"]} == {"confirmed"},
        10, 0.1, "both alerts confirmed",
    )  # fmt: skip
    verdicts = web_service.get(f"/api/alerts/{one['id']}").json()["verdicts"]
    assert [(v["status"], v["by"]) for v in verdicts] == [("confirmed", "olivia")]
    wait_for(lambda: _text(browser, ".incident-view .badge").split() == ["Confirmed", "Confirmed"], 10, 0.1, "the views confirmed")
    assert script_errors(browser) == []
