"""The 3 a.m. console (issue 11) in a real browser against the real service, Redis and store:
the alarm, the wall screen, the night theme, a stable order, honest live state with queued
verdicts, the session cookie instead of ?token=, active fires, verdicts with reasons, the
sequence player and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.web.conftest import SMOKE_FRAMES, requested_urls, script_errors, start_browser, wait_for

pytestmark = pytest.mark.slow

# Records what the page asks of the browser's WebAudio and Notification APIs (the real ones still run).
SPY = """
window.__alarm = { oscillators: 0, contextStates: [], notifications: [] };
const createOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.__alarm.oscillators += 1;
  window.__alarm.contextStates.push(this.state);
  return createOscillator.call(this);
};
if (window.Notification) {
  const Original = window.Notification;
  window.Notification = class extends Original {
    constructor(title, options) {
      super(title, options);
      window.__alarm.notifications.push({ title, body: options && options.body });
    }
  };
}
"""
OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


@pytest.fixture(scope="module")
def browser(tmp_path_factory, web_service):
    driver = start_browser(tmp_path_factory, "en-US")
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SPY})
    driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": web_service.base_url, "permissions": ["notifications"]})
    driver.execute_cdp_cmd("Network.enable", {})
    yield driver
    driver.quit()


def _by_css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _one(driver, selector, timeout_s: float = 10.0):
    return wait_for(lambda: (_by_css(driver, selector) or [None])[0], timeout_s, 0.1, selector)


def _text(driver, selector) -> str:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText).join(' ')", selector
    )


def _press(driver, keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    for key in keys:
        ActionChains(driver).send_keys(key).perform()


def _row_ids(driver) -> list[int]:
    return driver.execute_script("return [...document.querySelectorAll('#alert-list .alert-row')].map(r => Number(r.dataset.id))")


def _open_console(driver, service, query: str = "") -> None:
    driver.get(f"{service.base_url}/healthz")
    driver.execute_script("localStorage.clear(); localStorage.setItem('pinewatch.token', arguments[0])", service.operator_token)
    driver.get(f"{service.base_url}/{query}")
    wait_for(lambda: _one(driver, "#connection").get_attribute("data-state") == "live", 10, 0.1, "the live feed")


def _verdict(service, alert_id: int, **body) -> dict:
    response = httpx.post(
        f"{service.base_url}/api/alerts/{alert_id}/verdict",
        json=body,
        headers={"Authorization": f"Bearer {service.operator_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _close_all(service) -> None:
    """Acknowledge-and-dismiss what earlier tests left open, so each test sees its own alerts."""
    for status in ("new", "acknowledged"):
        for alert in service.get(f"/api/alerts?status={status}&limit=500").json()["items"]:
            _verdict(service, alert["id"], status="dismissed", reason="other")
    for alert in service.get("/api/alerts?status=confirmed&limit=500").json()["items"]:
        _verdict(service, alert["id"], status="out")


def _session_cookie(driver, service) -> dict | None:
    """The cookie as the browser holds it (its path is /api/, so the page's own cookie list lacks it)."""
    cookies = driver.execute_cdp_cmd("Network.getCookies", {"urls": [f"{service.base_url}/api/"]})["cookies"]
    return next((c for c in cookies if c["name"] == "pinewatch_session"), None)


def _offline(driver, on: bool) -> None:
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {**OFFLINE, "offline": on})


def test_map_draws_cameras_cones_rays_and_the_point(browser, web_service, screenshot_dir):
    """First in the module, on an empty store: the two towers' alerts cross only each other."""
    web_service.heartbeat("tower-1")
    web_service.heartbeat("tower-2")
    now = datetime.now(timezone.utc)
    web_service.publish_detection("tower-1", now - timedelta(minutes=6), clip_frame=SMOKE_FRAMES[1])
    web_service.publish_detection("tower-2", now - timedelta(minutes=3), clip_frame=SMOKE_FRAMES[2])
    one = web_service.wait_for_alert("tower-1")
    location = wait_for(lambda: web_service.get(f"/api/alerts/{one['id']}").json()["location"], 15, 0.1, "the point")
    _open_console(browser, web_service, f"?alert={one['id']}")
    wait_for(lambda: len(_by_css(browser, "#alert-map .map-camera")) == 2, 10, 0.1, "both cameras on the map")
    assert _by_css(browser, "#alert-map .map-camera.blind") == [], "both send frames"
    assert _text(browser, '.camera[data-id="tower-1"] .camera-status') == "Online"
    assert len(_by_css(browser, "#alert-map .map-cone")) == 2
    wait_for(lambda: len(_by_css(browser, "#alert-map .map-ray")) == 2, 10, 0.1, "both bearing rays")
    assert len(_by_css(browser, "#alert-map .map-uncertainty")) == 1
    # The point is drawn where the API puts it, the circle around it.
    drawn = browser.execute_script(
        """const box = document.querySelector('#alert-map'), map = box._pinewatch.map;
        const centre = (selector) => { const r = box.querySelector(selector).getBoundingClientRect(), c = box.getBoundingClientRect();
          const p = map.containerPointToLatLng([r.left + r.width / 2 - c.left, r.top + r.height / 2 - c.top]); return [p.lat, p.lng]; };
        return [centre('.map-point'), centre('.map-uncertainty')];"""
    )
    for lat, lon in drawn:
        assert lat == pytest.approx(location["latitude"], abs=0.01) and lon == pytest.approx(location["longitude"], abs=0.01)
    assert "leaflet-container" in _one(browser, "#alert-map").get_attribute("class")
    assert "no-tiles" in _one(browser, "#alert-map").get_attribute("class")
    # Coordinates only to the precision the uncertainty supports (km: two decimals).
    radius_km = location["uncertainty_m"] / 1000
    assert radius_km > 1
    assert f"{location['latitude']:.2f}, {location['longitude']:.2f} (± {radius_km:.1f} km)" in _text(browser, ".facts")
    browser.save_screenshot(str(screenshot_dir / "operator-map.png"))

    # A camera whose heartbeat stops turns red (no health event needed), and the ranger page names it as blind.
    web_service.silence("tower-2")
    wait_for(lambda: _text(browser, '.camera[data-id="tower-2"] .camera-status') == "Offline", 10, 0.1, "Tháp 2 offline in the list")
    assert "status-offline" in _one(browser, '.camera[data-id="tower-2"]').get_attribute("class")
    wait_for(lambda: len(_by_css(browser, "#alert-map .map-camera.blind")) == 1, 10, 0.1, "the offline camera in red")
    colour = browser.execute_script("return getComputedStyle(document.querySelector('#alert-map .map-camera.blind')).fill")
    assert colour == "rgb(185, 28, 28)"
    browser.get(f"{web_service.base_url}/ranger")
    wait_for(lambda: "Cameras not watching: Tháp 2 (Offline)" in _text(browser, "#blind"), 10, 0.1, "the blind camera")
    wait_for(lambda: len(_by_css(browser, "#ranger-map .map-ray")) == 2 and _by_css(browser, "#ranger-map .map-point"), 10, 0.1, "the ranger map")
    web_service.heartbeat("tower-2")
    wait_for(lambda: _by_css(browser, "#blind") and not _one(browser, "#blind").is_displayed(), 10, 0.1, "no blind camera")
    assert script_errors(browser) == []


def test_a_new_alert_sounds_blinks_and_notifies(browser, web_service, screenshot_dir):
    _close_all(web_service)
    _open_console(browser, web_service)
    wait_for(lambda: _text(browser, "#notify-toggle") == "Desktop alerts on", 5, 0.1, "notification permission shown")
    assert browser.execute_script("return window.__alarm.oscillators") == 0, "nothing waits: no alarm at start"

    web_service.publish_detection("tower-1", datetime.now(timezone.utc), box=[0.1, 0.1, 0.3, 0.3])
    alert = web_service.wait_for_alert("tower-1", status="new")
    wait_for(lambda: browser.execute_script("return window.__alarm.oscillators") > 0, 5, 0.1, "the alarm tone")
    assert set(browser.execute_script("return window.__alarm.contextStates")) == {"running"}, "the tone plays on a running AudioContext"
    notifications = wait_for(lambda: browser.execute_script("return window.__alarm.notifications"), 5, 0.1, "a desktop notification")
    assert notifications[-1]["body"] == "New alert: Smoke · Tháp 1"
    banner = _one(browser, "#alarm-banner")
    assert banner.is_displayed() and "blink" in banner.get_attribute("class")
    assert "New alert: Smoke · Tháp 1" in banner.text
    titles = set()
    wait_for(lambda: titles.add(browser.title) or len(titles) >= 2, 5, 0.1, "the title to blink")
    assert any(title.startswith("🔥 New alert") for title in titles)
    assert _by_css(browser, f"#alert-{alert['id']}"), "the alert is in the list"
    assert f"#{alert['id']}" in _text(browser, ".detail-header"), "nothing else was selected, so the page selects it"

    _one(browser, "#alarm-banner .alarm-silence").click()
    wait_for(lambda: not banner.is_displayed(), 5, 0.1, "the banner to go when silenced")
    title = browser.title
    assert not title.startswith("🔥") and title == browser.execute_script("return document.title")
    assert script_errors(browser) == []


def test_wall_screen_shows_the_newest_new_alert_until_acknowledged(browser, web_service, screenshot_dir):
    _close_all(web_service)
    now = datetime.now(timezone.utc)
    web_service.publish_detection("tower-1", now - timedelta(minutes=3), box=[0.4, 0.1, 0.6, 0.3], clip_frame=SMOKE_FRAMES[1])
    older = web_service.wait_for_alert("tower-1", status="new")
    web_service.publish_detection("tower-2", now - timedelta(minutes=1), box=[0.4, 0.1, 0.6, 0.3], clip_frame=SMOKE_FRAMES[2])
    newer = web_service.wait_for_alert("tower-2", status="new")

    _open_console(browser, web_service, "?wall=1")
    wall = _one(browser, f'#wall .wall-alert[data-id="{newer["id"]}"]')
    assert not _one(browser, ".console").is_displayed(), "the wall shows only the alert"
    assert wall.size["width"] > 1300, "full screen"
    assert browser.execute_script("return getComputedStyle(document.querySelector('.wall-alert')).animationName") == "alarm-blink"
    assert "NEW ALERT" in wall.text and "Tháp 2" in wall.text and "1 more new alerts waiting" in wall.text
    wait_for(lambda: browser.execute_script("return window.__alarm.oscillators") > 0, 5, 0.1, "the wall's alarm tone")
    wait_for(lambda: browser.execute_script("return document.querySelector('.wall-picture img').naturalWidth") == 640, 10, 0.1, "the picture")
    wait_for(lambda: len(_by_css(browser, "#wall-map .map-ray")) >= 1 and len(_by_css(browser, "#wall-map .map-camera")) == 2, 10, 0.1, "the wall map")
    browser.save_screenshot(str(screenshot_dir / "wall.png"))
    # Nothing overlaps: picture and map sit above the waiting line and the button, inside the frame.
    boxes = browser.execute_script(
        "const r = (s) => document.querySelector(s).getBoundingClientRect();"
        "return {img: r('.wall-picture img'), map: r('#wall-map'), waiting: r('.wall-waiting'), ack: r('.wall-ack'), alert: r('.wall-alert')};"
    )
    assert max(boxes["img"]["bottom"], boxes["map"]["bottom"]) <= boxes["waiting"]["top"] + 1, boxes
    assert boxes["ack"]["bottom"] <= boxes["alert"]["bottom"] + 1, boxes

    _press(browser, "a")  # acknowledges the alert on the wall; the next new one takes its place
    wait_for(lambda: web_service.get(f"/api/alerts/{newer['id']}").json()["status"] == "acknowledged", 10, 0.1, "the acknowledgement")
    _one(browser, f'#wall .wall-alert[data-id="{older["id"]}"]')
    _one(browser, "#wall .wall-ack").click()
    wait_for(lambda: "No new alerts" in _text(browser, "#wall"), 10, 0.1, "the calm wall")
    assert web_service.get(f"/api/alerts/{older['id']}").json()["status"] == "acknowledged"
    assert script_errors(browser) == []


def test_night_theme_is_remembered(browser, web_service, screenshot_dir):
    _open_console(browser, web_service)
    background = "return getComputedStyle(document.body).backgroundColor"
    day = browser.execute_script(background)
    _one(browser, "#theme-toggle").click()
    wait_for(lambda: browser.execute_script(background) != day, 5, 0.1, "the dark background")
    assert browser.execute_script("return document.documentElement.dataset.theme") == "dark"
    browser.refresh()
    wait_for(lambda: browser.execute_script("return document.documentElement.dataset.theme") == "dark", 5, 0.1, "dark after a reload")
    assert browser.execute_script(background) == "rgb(12, 18, 16)"
    _one(browser, ".alert-row").click()
    wait_for(lambda: browser.execute_script("return [...document.querySelectorAll('.stage img')].every(i => i.complete && i.naturalWidth)"), 10, 0.1, "the picture")
    browser.save_screenshot(str(screenshot_dir / "operator-night.png"))
    browser.get(f"{web_service.base_url}/ranger")
    wait_for(lambda: browser.execute_script(background) == "rgb(12, 18, 16)", 5, 0.1, "the ranger page dark too")
    _one(browser, "#theme-toggle").click()
    wait_for(lambda: browser.execute_script(background) == day, 5, 0.1, "back to day")


def test_the_list_keeps_its_order_while_alerts_change(browser, web_service):
    _close_all(web_service)
    now = datetime.now(timezone.utc)
    boxes = [[0.05, 0.6, 0.15, 0.7], [0.25, 0.6, 0.35, 0.7], [0.45, 0.6, 0.55, 0.7]]
    ids = []
    for minutes, box in zip((9, 6, 3), boxes):
        web_service.publish_detection("tower-1", now - timedelta(minutes=minutes), box=box)
        ids.append(wait_for(lambda: [a["id"] for a in web_service.get("/api/alerts?status=new").json()["items"] if a["id"] not in ids], 15, 0.1, "the alert")[0])
    _open_console(browser, web_service)
    wait_for(lambda: _row_ids(browser) == ids, 10, 0.1, "first seen, oldest first")
    _press(browser, "j")
    assert _one(browser, f"#alert-{ids[1]}").get_attribute("aria-selected") == "true"

    # The oldest alert gets a new frame (its last seen becomes the newest), and a new alert comes.
    web_service.publish_detection("tower-1", now, box=boxes[0])
    wait_for(lambda: "2 frames" in _text(browser, f"#alert-{ids[0]}"), 10, 0.1, "the update on the page")
    web_service.publish_detection("tower-2", now, box=boxes[1])
    newest = web_service.wait_for_alert("tower-2", status="new")["id"]
    wait_for(lambda: newest in _row_ids(browser), 10, 0.1, "the new alert")
    assert _row_ids(browser) == [*ids, newest], "rows shown stay where they were; the arrival goes below"
    assert _one(browser, f"#alert-{ids[1]}").get_attribute("aria-selected") == "true"
    _press(browser, "j")
    assert _one(browser, f"#alert-{ids[2]}").get_attribute("aria-selected") == "true", "j moves to the row below"

    from selenium.webdriver.support.ui import Select

    Select(_one(browser, "#sort")).select_by_value("first_desc")
    wait_for(lambda: _row_ids(browser) == [newest, *reversed(ids)], 5, 0.1, "the operator's sort")
    browser.refresh()
    wait_for(lambda: _row_ids(browser) == [newest, *reversed(ids)], 10, 0.1, "the sort remembered")
    Select(_one(browser, "#sort")).select_by_value("first_asc")


def test_outage_shows_disconnected_and_queues_the_verdict(browser, web_service):
    _close_all(web_service)
    # Seen just now: its age reads in seconds ("just now", "12 s ago") for the next minute.
    web_service.publish_detection("tower-2", datetime.now(timezone.utc), box=[0.7, 0.7, 0.9, 0.9])
    alert = web_service.wait_for_alert("tower-2", status="new")
    _open_console(browser, web_service, f"?alert={alert['id']}")
    wait_for(lambda: not _one(browser, ".verdict-acknowledged").get_attribute("disabled"), 10, 0.1, "the detail")
    age = f"#alert-{alert['id']} time"
    try:
        _offline(browser, True)
        began = datetime.now()
        wait_for(lambda: _one(browser, "#connection").get_attribute("data-state") == "offline", 5, 0.05, "Disconnected within 5 s")
        assert (datetime.now() - began).total_seconds() < 5
        assert _text(browser, "#connection") == "Disconnected"
        before = _text(browser, age)
        wait_for(lambda: _text(browser, age) != before, 12, 0.1, "the age to keep counting during the outage")

        _press(browser, "a")
        wait_for(lambda: "Not saved yet" in _text(browser, ".detail-state"), 5, 0.1, "the verdict marked not saved")
        assert "Verdict not saved yet" in _text(browser, f"#alert-{alert['id']}")
        assert "NOT saved" in _text(browser, "#toast")
        assert web_service.get(f"/api/alerts/{alert['id']}").json()["status"] == "new"
        assert _one(browser, "#connection").get_attribute("data-state") == "offline", "still Disconnected"
    finally:
        _offline(browser, False)
    # Nobody touches the page: the queued verdict goes out once the server answers.
    wait_for(lambda: web_service.get(f"/api/alerts/{alert['id']}").json()["status"] == "acknowledged", 15, 0.2, "the queued verdict saved")
    detail = web_service.get(f"/api/alerts/{alert['id']}").json()
    assert detail["verdicts"][-1]["by"] == "olivia"
    wait_for(lambda: _one(browser, "#connection").get_attribute("data-state") == "live", 10, 0.1, "Live again")
    wait_for(lambda: "Not saved" not in _text(browser, ".detail-state"), 5, 0.1, "the queued mark to go")
    assert browser.execute_script("return localStorage.getItem('pinewatch.pending')") == "[]"


def test_ranger_page_says_disconnected_within_5_s(browser, web_service, screenshot_dir):
    web_service.publish_detection("tower-1", datetime.now(timezone.utc), box=[0.1, 0.75, 0.2, 0.85])
    web_service.wait_for_alert("tower-1", status="new")
    browser.get(f"{web_service.base_url}/ranger")
    wait_for(lambda: _one(browser, "#connection").get_attribute("data-state") == "live", 10, 0.1, "the ranger live feed")
    wait_for(lambda: _by_css(browser, ".card"), 10, 0.1, "a card")
    try:
        _offline(browser, True)
        began = datetime.now()
        wait_for(lambda: _one(browser, "#connection").get_attribute("data-state") == "offline", 5, 0.05, "Disconnected within 5 s")
        assert (datetime.now() - began).total_seconds() < 5
        assert _text(browser, "#connection") == "Disconnected"
        before = _text(browser, ".card .ago")
        wait_for(lambda: _text(browser, ".card .ago") != before, 12, 0.1, "the ages to keep counting")
    finally:
        _offline(browser, False)
    wait_for(lambda: _one(browser, "#connection").get_attribute("data-state") == "live", 10, 0.1, "Live again")


def test_pictures_and_the_feed_use_the_session_cookie_not_the_address(browser, web_service):
    web_service.publish_detection("tower-2", datetime.now(timezone.utc), box=[0.3, 0.8, 0.4, 0.9])
    web_service.wait_for_alert("tower-2")
    browser.get(f"{web_service.base_url}/healthz")
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.execute_script("localStorage.clear()")
    requested_urls(browser)  # from here on
    browser.get(f"{web_service.base_url}/")
    dialog = _one(browser, "#token-dialog[open]")
    dialog.find_element("css selector", "input").send_keys(web_service.operator_token + "\n")
    wait_for(lambda: _one(browser, "#connection").get_attribute("data-state") == "live", 10, 0.1, "the live feed")
    wait_for(
        lambda: browser.execute_script("return [...document.querySelectorAll('.alert-row img')].some(i => i.complete && i.naturalWidth === 640)"),
        10, 0.1, "a picture",
    )
    cookie = _session_cookie(browser, web_service)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/api/"
    assert cookie["value"] == web_service.operator_token
    assert "pinewatch_session" not in browser.execute_script("return document.cookie"), "scripts cannot read it"
    urls = requested_urls(browser)
    assert any("/api/events" in url for url in urls) and any("/api/evidence/" in url for url in urls)
    assert [url for url in urls if "token" in url] == []
    # The API itself: a picture needs the cookie or a header; scripts keep their bearer token.
    evidence = web_service.get("/api/alerts").json()["items"][0]["evidence_url"]
    assert httpx.get(web_service.base_url + evidence).status_code == 401
    assert httpx.get(web_service.base_url + evidence, cookies={"pinewatch_session": web_service.operator_token}).status_code == 200
    assert httpx.get(web_service.base_url + "/api/alerts", cookies={"pinewatch_session": web_service.operator_token}).status_code == 401
    assert httpx.post(f"{web_service.base_url}/api/session", json={"token": "pw_wrong"}).status_code == 401

    _one(browser, "#sign-out").click()
    _one(browser, "#token-dialog[open]")
    wait_for(lambda: _session_cookie(browser, web_service) is None, 5, 0.1, "the cookie cleared on sign-out")
    browser.find_element("css selector", "#token-dialog input").send_keys(web_service.operator_token + "\n")
    wait_for(lambda: _session_cookie(browser, web_service), 5, 0.1, "signed in again")


def test_an_active_fire_stays_until_marked_out(browser, web_service):
    _close_all(web_service)
    box = [0.55, 0.35, 0.75, 0.55]
    web_service.publish_detection("tower-1", datetime.now(timezone.utc) - timedelta(seconds=20), box=box)
    alert = web_service.wait_for_alert("tower-1", status="new")
    _open_console(browser, web_service, f"?alert={alert['id']}")
    wait_for(lambda: not _one(browser, ".verdict-confirmed").get_attribute("disabled"), 10, 0.1, "the detail")
    _press(browser, "cc")
    wait_for(lambda: web_service.get(f"/api/alerts/{alert['id']}").json()["status"] == "confirmed", 10, 0.1, "the confirmation")
    web_service.publish_detection("tower-1", datetime.now(timezone.utc), box=box)
    web_service.wait_for_alert("tower-1", frame_count=2, status="confirmed")

    from selenium.webdriver.support.ui import Select

    Select(_one(browser, "#filter-status")).select_by_value("active")
    wait_for(lambda: _row_ids(browser) == [alert["id"]], 10, 0.1, "the fire in Active fires")
    assert "Still receiving frames" in _text(browser, f"#alert-{alert['id']}")
    wait_for(lambda: "frames still arriving" in _text(browser, ".detail-state"), 10, 0.1, "the active state")
    assert "closed" not in _text(browser, "#detail").lower()
    assert _one(browser, ".verdict-out").is_displayed()

    note = _one(browser, "#verdict-note")
    note.send_keys("Put out by the Đà Lạt crew")
    note.send_keys("\ue00c")
    _press(browser, "oo")
    wait_for(lambda: web_service.get(f"/api/alerts/{alert['id']}").json()["status"] == "out", 10, 0.1, "marked out")
    verdict = web_service.get(f"/api/alerts/{alert['id']}").json()["verdicts"][-1]
    assert (verdict["status"], verdict["by"], verdict["note"]) == ("out", "olivia", "Put out by the Đà Lạt crew")
    wait_for(lambda: _row_ids(browser) == [], 10, 0.1, "it leaves Active fires")
    # Smoke there after it was put out is a new alert, not the old one coming back.
    web_service.publish_detection("tower-1", datetime.now(timezone.utc), box=box)
    fresh = web_service.wait_for_alert("tower-1", status="new")
    assert fresh["id"] != alert["id"]
    assert web_service.get(f"/api/alerts/{alert['id']}").json()["frame_count"] == 2


def test_other_smoke_and_dismissal_reasons_reach_the_csv(browser, web_service, tmp_path):
    _close_all(web_service)
    now = datetime.now(timezone.utc)
    web_service.publish_detection("tower-2", now - timedelta(minutes=2), box=[0.05, 0.05, 0.15, 0.15])
    web_service.publish_detection("tower-2", now - timedelta(minutes=1), box=[0.8, 0.05, 0.9, 0.15])
    wait_for(lambda: web_service.get("/api/alerts?status=new").json()["total"] == 2, 15, 0.1, "two alerts")
    first, second = sorted(a["id"] for a in web_service.get("/api/alerts?status=new").json()["items"])
    _open_console(browser, web_service, f"?alert={first}")
    wait_for(lambda: not _one(browser, ".verdict-other_smoke").get_attribute("disabled"), 10, 0.1, "the detail")
    _press(browser, "ss")
    wait_for(lambda: web_service.get(f"/api/alerts/{first}").json()["status"] == "other_smoke", 10, 0.1, "other smoke")
    wait_for(lambda: _one(browser, f"#alert-{second}").get_attribute("aria-selected") == "true", 10, 0.1, "the next alert")
    wait_for(lambda: not _one(browser, ".verdict-dismissed").get_attribute("disabled"), 10, 0.1, "its detail")
    from selenium.webdriver.support.ui import Select

    Select(_one(browser, "#dismiss-reason")).select_by_value("sun_glare")
    _one(browser, ".verdict-dismissed").click()  # a click submits at once (only the keys take two presses)
    wait_for(lambda: web_service.get(f"/api/alerts/{second}").json()["status"] == "dismissed", 10, 0.1, "the dismissal")
    assert web_service.get(f"/api/alerts/{second}").json()["verdicts"][-1]["reason"] == "sun_glare"

    response = web_service.get("/api/alerts.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    by_id = {int(row["alert_id"]): row for row in rows}
    assert by_id[first]["verdict_status"] == "other_smoke" and by_id[first]["camera_name"] == "Tháp 2"
    assert (by_id[second]["verdict_status"], by_id[second]["verdict_reason"], by_id[second]["verdict_by"]) == ("dismissed", "sun_glare", "olivia")
    assert web_service.get("/api/alerts.csv", token=web_service.ranger_token).status_code == 403
    # The page's button downloads the same file (fetched with the header, not a ?token= link).
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    _one(browser, "#export-csv").click()
    saved = wait_for(lambda: list(tmp_path.glob("pinewatch-alerts.csv")), 10, 0.1, "the downloaded CSV")[0]
    assert saved.read_text(encoding="utf-8-sig").splitlines()[0].startswith("alert_id,camera_id,camera_name")


def test_sequence_player_pages_frames_newest_first(browser, web_service, screenshot_dir):
    _close_all(web_service)
    start = datetime.now(timezone.utc) - timedelta(minutes=15)
    box = [0.8, 0.1, 0.95, 0.3]  # where no earlier test's (closed) alert is: frames from before a verdict would join it
    scores = [round(0.30 + 0.01 * i, 2) for i in range(25)]
    for i, score in enumerate(scores):
        web_service.publish_detection("tower-1", start + timedelta(seconds=30 * i), box=box, clip_frame=SMOKE_FRAMES[i % 3], score=score)
    alert = web_service.wait_for_alert("tower-1", frame_count=25)
    _open_console(browser, web_service, f"?alert={alert['id']}")
    wait_for(lambda: _text(browser, ".frame-position") == "Frame 25 of 25", 10, 0.1, "the newest frame first")
    assert _text(browser, ".frame-score") == "score 0.54", "the page shows the shown frame's score"
    assert _text(browser, ".facts .score-max") == "0.54"
    assert len(_by_css(browser, ".filmstrip .frame")) == 20, "one page of frames"
    requests = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert any(f"/api/alerts/{alert['id']}/frames?offset=0&limit=20" in url for url in requests)
    assert any(f"/api/alerts/{alert['id']}?frame_limit=0" in url for url in requests), "the detail comes without its frames"
    assert "Load 5 more" in _text(browser, ".frames-more")

    _press(browser, ",")  # at the start of the sequence: nothing before
    assert _text(browser, ".frame-position") == "Frame 25 of 25"
    _press(browser, ".")
    wait_for(lambda: _text(browser, ".frame-position") == "Frame 24 of 25", 5, 0.1, "one step")
    assert _text(browser, ".frame-score") == "score 0.53"

    _one(browser, ".player-play").click()  # plays on past the first page: the next page is fetched
    wait_for(lambda: _text(browser, ".frame-position") == "Frame 1 of 25", 30, 0.1, "the sequence played to the oldest")
    assert len(_by_css(browser, ".filmstrip .frame")) == 25
    assert any("offset=20" in url for url in browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"))
    assert _text(browser, ".frame-score") == "score 0.30"
    wait_for(lambda: _one(browser, ".player-play").get_attribute("aria-label") == "Play (p)", 5, 0.1, "stopped at the end")

    assert _by_css(browser, ".stage .evidence .box")
    _one(browser, "#toggle-outline").click()
    wait_for(lambda: not _by_css(browser, ".stage .evidence .box"), 5, 0.1, "the outline off")
    _one(browser, "#toggle-closeup").click()
    wait_for(lambda: "scale(" in browser.execute_script("return document.querySelector('.stage .evidence').style.transform"), 5, 0.1, "the close-up")
    _one(browser, "#toggle-closeup").click()
    _one(browser, "#toggle-outline").click()
    browser.save_screenshot(str(screenshot_dir / "operator-player.png"))
    assert script_errors(browser) == []


def test_operator_masks_are_listed_and_removed(browser, web_service):
    web_service.publish_detection("tower-2", datetime.now(timezone.utc), box=[0.45, 0.45, 0.5, 0.5])
    alert = web_service.wait_for_alert("tower-2", status="new")
    _verdict(web_service, alert["id"], status="dismissed", reason="dust", add_mask=True)
    mask = next(m for m in web_service.get("/api/masks").json()["items"] if m["alert_id"] == alert["id"])
    _open_console(browser, web_service)
    row = f'#mask-list .mask[data-id="{mask["id"]}"]'
    wait_for(lambda: f"added by olivia on dismissing alert #{alert['id']}" in _text(browser, row), 10, 0.1, "the mask listed")
    wait_for(lambda: "Tháp 2" in _text(browser, row), 10, 0.1, "the mask names its camera")
    _one(browser, f"{row} .mask-remove").click()
    assert _text(browser, f"{row} .mask-remove") == "Click again to remove"
    assert any(m["id"] == mask["id"] for m in web_service.get("/api/masks").json()["items"]), "one click removes nothing"
    _one(browser, f"{row} .mask-remove").click()
    wait_for(lambda: not any(m["id"] == mask["id"] for m in web_service.get("/api/masks").json()["items"]), 10, 0.1, "the mask removed")
    wait_for(lambda: not _by_css(browser, row), 10, 0.1, "the mask gone from the list")
    assert script_errors(browser) == []


def test_a_click_while_the_alarm_rings_lands_where_it_was_aimed(browser, web_service):
    """The banner leaves after the click, not on pointerdown: otherwise the page moves under the pointer."""
    _close_all(web_service)
    _open_console(browser, web_service)
    web_service.publish_detection("tower-2", datetime.now(timezone.utc), box=[0.5, 0.1, 0.7, 0.3])
    earlier = web_service.wait_for_alert("tower-2", status="new")
    wait_for(lambda: _by_css(browser, f"#alert-{earlier['id']}"), 5, 0.1, "the first alert in the list")
    _one(browser, "#alarm-banner .alarm-silence").click()
    web_service.publish_detection("tower-1", datetime.now(timezone.utc), box=[0.1, 0.1, 0.3, 0.3])
    later = web_service.wait_for_alert("tower-1", status="new")
    banner = _one(browser, "#alarm-banner")
    wait_for(lambda: banner.is_displayed(), 5, 0.1, "the banner for the second alert")
    wait_for(lambda: f"#{later['id']}" in _text(browser, ".detail-header") or f"#{earlier['id']}" in _text(browser, ".detail-header"),
             5, 0.1, "a selected alert")
    # A real pointer click on the row of the alert that is not shown.
    target = earlier if f"#{later['id']}" in _text(browser, ".detail-header") else later
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).move_to_element(_one(browser, f"#alert-{target['id']}")).click().perform()
    wait_for(lambda: f"#{target['id']}" in _text(browser, ".detail-header"), 5, 0.1, "the clicked alert to open")
    wait_for(lambda: not banner.is_displayed(), 5, 0.1, "the banner to go after the click")
    assert script_errors(browser) == []
