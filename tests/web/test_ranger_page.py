"""The ranger page on a phone-sized screen, in Vietnamese, against the real alerting service."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.web.conftest import SMOKE_BOX, SMOKE_FRAMES, script_errors, start_browser, wait_for

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
MIN_TAP_PX = 44  # smallest comfortable touch target


@pytest.fixture(scope="module")
def phone(tmp_path_factory, web_service):
    # Depends on the service so that it closes first: its live-feed connection goes with it.
    driver = start_browser(tmp_path_factory, "vi-VN")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
    yield driver
    driver.quit()


def _texts(driver, selector) -> list[str]:
    return driver.execute_script("return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)", selector)


def _save_full_page(driver, path) -> None:
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))


def test_ranger_sees_active_alerts_in_vietnamese(phone, web_service, screenshot_dir):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    # A false alarm, dismissed by an operator: rangers never see it.
    web_service.publish_detection("tower-2", now - timedelta(minutes=20), box=[0.05, 0.6, 0.2, 0.75])
    false_alarm = web_service.wait_for_alert("tower-2")
    response = httpx.post(
        f"{web_service.base_url}/api/alerts/{false_alarm['id']}/verdict",
        json={"status": "dismissed", "note": "dust"},
        headers={"Authorization": f"Bearer {web_service.operator_token}"},
    )
    assert response.status_code == 200, response.text
    # Real smoke seen by both towers: each alert gets a bearing and the crossing point.
    web_service.publish_detection("tower-1", now - timedelta(minutes=6), clip_frame=SMOKE_FRAMES[1])
    web_service.publish_detection("tower-2", now - timedelta(minutes=3), clip_frame=SMOKE_FRAMES[2])
    smoke = web_service.wait_for_alert("tower-1")
    wait_for(lambda: web_service.get(f"/api/alerts/{smoke['id']}").json()["location"], 15, 0.1, "the triangulated point")

    web_service.heartbeat("tower-1")  # both towers send frames: no "cameras not watching" line
    web_service.heartbeat("tower-2")
    phone.get(f"{web_service.base_url}/ranger?token={web_service.ranger_token}")
    wait_for(lambda: len(_texts(phone, ".card")) == 2, 10, 0.1, "the two active alerts")
    assert "token=" not in phone.current_url
    assert phone.execute_script("return document.documentElement.lang") == "vi"
    assert phone.execute_script("return [window.innerWidth, navigator.language]") == [PHONE["width"], "vi-VN"]

    tower_1 = f'.card[data-id="{smoke["id"]}"]'
    assert _texts(phone, f"{tower_1} .bearing") == ["Khói ở hướng 132° (Đông Nam) từ Tháp 1"]
    assert _texts(phone, ".bearing") == ["Khói ở hướng 319° (Tây Bắc) từ Tháp 2", "Khói ở hướng 132° (Đông Nam) từ Tháp 1"], "newest first"
    assert re.fullmatch(r"KHÓI", _texts(phone, f"{tower_1} .card-label")[0])
    assert re.fullmatch(r"\d+ phút trước", _texts(phone, f"{tower_1} .ago")[0])
    assert _texts(phone, f"{tower_1} .badge") == ["Chưa xác minh", "Cấp III"]  # status, the day's fire-danger level (issue 12)

    # The picture is loaded and the box sits on the plume.
    wait_for(
        lambda: phone.execute_script("return [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth === 640)"),
        10, 0.1, "the pictures",
    )
    box = phone.execute_script(
        """const picture = document.querySelector(arguments[0] + ' .evidence');
        const image = picture.querySelector('img').getBoundingClientRect();
        const box = picture.querySelector('.box').getBoundingClientRect();
        return [(box.left - image.left) / image.width, (box.top - image.top) / image.height,
                (box.right - image.left) / image.width, (box.bottom - image.top) / image.height];""",
        tower_1,
    )
    assert box == pytest.approx(SMOKE_BOX, abs=0.01)

    # Map links only (nothing is loaded from the internet): geo: for the phone's app, and OpenStreetMap.
    location = web_service.get(f"/api/alerts/{smoke['id']}").json()["location"]
    geo_link = phone.execute_script(f"return document.querySelector('{tower_1} a.map-app').href")
    osm_link = phone.execute_script(f"return document.querySelector('{tower_1} a.osm').href")
    assert geo_link == f"geo:{location['latitude']:.6f},{location['longitude']:.6f}?q={location['latitude']:.6f},{location['longitude']:.6f}"
    assert osm_link.startswith(f"https://www.openstreetmap.org/?mlat={location['latitude']:.6f}&mlon={location['longitude']:.6f}")
    assert phone.execute_script(
        "return performance.getEntriesByType('resource').every(e => e.name.startsWith(location.origin))"
    ), "the page must load nothing from elsewhere"

    # Phone layout: nothing wider than the screen, large text, big tap targets.
    assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.execute_script("return parseFloat(getComputedStyle(document.querySelector('.bearing')).fontSize)") >= 18
    small = phone.execute_script(
        """return [...document.querySelectorAll('.map-links a, .langs button, #theme-toggle')]
           .filter(e => e.getBoundingClientRect().height < arguments[0]).map(e => e.outerHTML)""",
        MIN_TAP_PX,
    )
    assert small == []
    cut = phone.execute_script(
        """return [...document.querySelectorAll('.ranger-bar button')]
           .filter(e => e.getBoundingClientRect().right > window.innerWidth).map(e => e.outerHTML)"""
    )
    assert cut == [], "every header button fits on the screen"
    # The map: both towers, their cones, both rays and the point, drawn without tiles.
    assert len(_texts(phone, "#ranger-map .map-camera")) == 2 and len(_texts(phone, "#ranger-map .map-ray")) == 2
    assert _texts(phone, "#ranger-map .map-point") and not phone.find_element("css selector", "#blind").is_displayed()
    phone.save_screenshot(str(screenshot_dir / "ranger-vi.png"))
    _save_full_page(phone, screenshot_dir / "ranger-vi-full.png")

    # The language switch: every string comes from the same table.
    phone.find_element("css selector", 'button[data-lang="en"]').click()
    wait_for(lambda: _texts(phone, f"{tower_1} .bearing") == ["Smoke at 132° (SE) from Tháp 1"], 5, 0.1, "the English text")
    assert phone.execute_script("return [document.documentElement.lang, localStorage.getItem('pinewatch.lang')]") == ["en", "en"]
    assert re.fullmatch(r"\d+ min ago", _texts(phone, f"{tower_1} .ago")[0])
    phone.save_screenshot(str(screenshot_dir / "ranger-en.png"))
    assert script_errors(phone) == []
