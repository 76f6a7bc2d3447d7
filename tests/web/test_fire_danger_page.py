"""Fire-danger levels on the operator console (issue 12), in a real browser against the real
service: an admin sets a camera's level; the alert card, the detail and the wall say it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from alerting.store.db import make_engine
from alerting.store.tokens import create_token
from tests.web.conftest import SMOKE_FRAMES, script_errors, start_browser, wait_for
from tests.web.test_operator_page import _by_css, _one, _text

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser(tmp_path_factory, web_service):
    driver = start_browser(tmp_path_factory, "en-US")
    yield driver
    driver.quit()


def test_admin_sets_a_level_and_the_alert_card_detail_and_wall_say_it(browser, web_service, screenshot_dir):
    from selenium.webdriver.support.ui import Select

    engine = make_engine(web_service.settings.alerting.database_url)
    try:
        admin = create_token(engine, "ada", "admin")
    finally:
        engine.dispose()

    # An operator reads the levels but has no form.
    browser.get(f"{web_service.base_url}/?token={web_service.operator_token}")
    wait_for(lambda: "Tháp 1" in _text(browser, "#danger-list"), 10, 0.1, "the level panel")
    assert "Level III\nTháp 1\ndefault" in _text(browser, "#danger-list")
    assert not _one(browser, "#danger-form").is_displayed()

    browser.get(f"{web_service.base_url}/?token={admin}")
    wait_for(lambda: _one(browser, "#danger-form").is_displayed(), 10, 0.1, "the admin's level form")
    wait_for(lambda: "Camera Tháp 1" in _text(browser, "#danger-target"), 10, 0.1, "the form's cameras by name")
    Select(_one(browser, "#danger-target")).select_by_value("camera:tower-1")
    Select(_one(browser, "#danger-level")).select_by_value("5")
    assert "Level V (extremely dangerous)" in _text(browser, "#danger-level")
    _one(browser, "#danger-form button").click()
    wait_for(lambda: _by_css(browser, '#danger-list li[data-id="tower-1"][data-level="5"]'), 10, 0.1, "tower-1 at level V")
    levels = {c["camera_id"]: c["level"] for c in web_service.get("/api/fire-danger").json()["cameras"]}
    assert levels == {"tower-1": 5, "tower-2": 3}

    web_service.publish_detection("tower-1", datetime.now(timezone.utc), clip_frame=SMOKE_FRAMES[0])
    alert = web_service.wait_for_alert("tower-1", status="new")
    assert alert["danger_level"] == 5
    badge = _one(browser, f"#alert-{alert['id']} .badge.danger-5")
    assert badge.text == "Level V"
    badge.click()
    wait_for(lambda: "Level V (extremely dangerous)" in _text(browser, ".facts"), 10, 0.1, "the level in the detail")

    _one(browser, 'button[data-lang="vi"]').click()
    wait_for(lambda: "Cấp V (cực kỳ nguy hiểm)" in _text(browser, ".facts"), 10, 0.1, "the level in Vietnamese")
    assert _one(browser, f"#alert-{alert['id']} .badge.danger-5").text == "Cấp V"
    assert "cấp dự báo cháy rừng, ngày" in _text(browser, "#danger-heading").lower()  # headings are shown in capitals

    browser.get(f"{web_service.base_url}/?wall=1")
    wait_for(lambda: "Cấp V (cực kỳ nguy hiểm)" in _text(browser, ".wall-danger"), 10, 0.1, "the level on the wall")
    browser.save_screenshot(str(screenshot_dir / "wall-danger.png"))
    assert script_errors(browser) == []
