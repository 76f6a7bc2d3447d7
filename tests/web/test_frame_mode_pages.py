"""Issue 12: both pages show which cameras run on night (IR) settings, in English and Vietnamese,
from health events sent through the real consumer, in a real Chromium."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pinewatch.core.messages import HealthEvent, encode
from tests.web.conftest import script_errors, start_browser, wait_for

pytestmark = pytest.mark.slow


def _texts(driver, selector) -> list[str]:
    return driver.execute_script("return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)", selector)


def publish_mode(web_service, camera_id: str, mode: str) -> None:
    """What a stream worker sends when a camera switches mode (streams/health.py)."""
    event = HealthEvent(camera_id=camera_id, at=datetime.now(timezone.utc), status="online", frame_mode=mode)
    web_service.redis.xadd(web_service.settings.redis.health_stream, encode(event))


@pytest.fixture(scope="module")
def modes(web_service):
    publish_mode(web_service, "tower-1", "night_ir")
    publish_mode(web_service, "tower-2", "day")
    wait_for(
        lambda: {c["id"]: c["frame_mode"] for c in web_service.get("/api/cameras").json()["items"]} == {"tower-1": "night_ir", "tower-2": "day"},
        15, 0.1, "the modes in the store",
    )
    web_service.heartbeat("tower-1")
    web_service.heartbeat("tower-2")
    return web_service


def test_the_operator_sees_each_cameras_mode(tmp_path_factory, modes, screenshot_dir):
    driver = start_browser(tmp_path_factory, "en-US")
    try:
        driver.get(f"{modes.base_url}/?token={modes.operator_token}")
        badges = wait_for(lambda: dict(zip(_texts(driver, "#camera-list .camera-name"), _texts(driver, "#camera-list .camera-mode"))), 10, 0.1, "mode badges")
        assert badges == {"Tháp 1": "Night (IR)", "Tháp 2": "Day"}
        hint = driver.execute_script("return document.querySelector('#camera-list .mode-night_ir').title")
        assert hint == "Greyscale infrared picture: night thresholds"
        driver.save_screenshot(str(screenshot_dir / "operator-frame-mode.png"))
        # The camera switches back at dawn: the live feed updates the badge.
        publish_mode(modes, "tower-1", "day")
        wait_for(lambda: _texts(driver, "#camera-list .camera-mode") == ["Day", "Day"], 10, 0.1, "the badge after dawn")
        assert script_errors(driver) == []
    finally:
        driver.quit()
        publish_mode(modes, "tower-1", "night_ir")


def test_the_ranger_sees_cameras_on_night_settings_in_vietnamese(tmp_path_factory, modes, screenshot_dir):
    wait_for(lambda: {c["id"]: c["frame_mode"] for c in modes.get("/api/cameras").json()["items"]}["tower-1"] == "night_ir", 15, 0.1, "night again")
    driver = start_browser(tmp_path_factory, "vi-VN")
    try:
        driver.get(f"{modes.base_url}/ranger?token={modes.ranger_token}")
        line = wait_for(lambda: driver.find_element("css selector", "#night").is_displayed() and driver.find_element("css selector", "#night").text, 10, 0.1, "the night line")
        assert line == "Camera đang dùng ngưỡng ban đêm: Tháp 1 (Ban đêm (hồng ngoại))"
        driver.save_screenshot(str(screenshot_dir / "ranger-frame-mode.png"))
        assert script_errors(driver) == []
    finally:
        driver.quit()
