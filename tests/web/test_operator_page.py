"""The operator console in a real browser against the real alerting service."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.web.conftest import SMOKE_BOX, SMOKE_FRAMES, script_errors, start_browser, wait_for

pytestmark = pytest.mark.slow

NOTE = "Low cloud over the ridge, not smoke"


@pytest.fixture(scope="module")
def browser(tmp_path_factory, web_service):
    # Depends on the service so that it closes first: its live-feed connection goes with it.
    driver = start_browser(tmp_path_factory, "en-US")
    yield driver
    driver.quit()


def _by_css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _one(driver, selector, timeout_s: float = 10.0):
    return wait_for(lambda: (_by_css(driver, selector) or [None])[0], timeout_s, 0.1, selector)


def _text(driver, selector) -> str:
    """The element's text, read again on each call (the page re-renders often)."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        return " ".join(element.text for element in _by_css(driver, selector))
    except StaleElementReferenceException:
        return ""


def _box_on_image(driver, picture_selector) -> list[float]:
    """The outlined box as [x1, y1, x2, y2] fractions of the displayed image."""
    return driver.execute_script(
        """const picture = document.querySelector(arguments[0]);
        const image = picture.querySelector('img').getBoundingClientRect();
        const box = picture.querySelector('.box').getBoundingClientRect();
        return [(box.left - image.left) / image.width, (box.top - image.top) / image.height,
                (box.right - image.left) / image.width, (box.bottom - image.top) / image.height];""",
        picture_selector,
    )


def _press(driver, keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    for key in keys:
        ActionChains(driver).send_keys(key).perform()


def test_operator_reviews_the_queue(browser, web_service, screenshot_dir):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    first_seen = now - timedelta(minutes=5)
    web_service.publish_detection("tower-1", first_seen, clip_frame=SMOKE_FRAMES[0])
    web_service.publish_detection("tower-1", now - timedelta(minutes=4), clip_frame=SMOKE_FRAMES[1])
    older = web_service.wait_for_alert("tower-1", frame_count=2)
    web_service.publish_detection("tower-2", now - timedelta(minutes=2), clip_frame=SMOKE_FRAMES[2])
    newer = web_service.wait_for_alert("tower-2")

    # The token comes in the link once and leaves the address bar at once.
    browser.get(f"{web_service.base_url}/?token={web_service.operator_token}")
    wait_for(lambda: "token=" not in browser.current_url, 10, 0.1, "the token to leave the address bar")
    assert browser.execute_script("return localStorage.getItem('pinewatch.token')") == web_service.operator_token
    _one(browser, f"#alert-{newer['id']}")
    _one(browser, f"#alert-{older['id']}").click()

    # The selected alert: large evidence with the box outlined, two frames, local times.
    wait_for(lambda: "Tháp 1" in _text(browser, ".detail-header h2"), 10, 0.1, "the detail of the Tháp 1 alert")
    assert _text(browser, ".detail-header h2").startswith("Smoke")
    image = _one(browser, ".stage .evidence img")
    wait_for(lambda: browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) == 640, 10, 0.1, "the evidence image")
    assert _box_on_image(browser, ".stage .evidence") == pytest.approx(SMOKE_BOX, abs=0.01)
    assert len(_by_css(browser, ".filmstrip .frame")) == 2
    assert "Smoke at 132° (SE) from Tháp 1" in _text(browser, ".facts")
    local_first = first_seen.astimezone(timezone(timedelta(hours=7)))
    assert local_first.strftime("%H:%M:%S") in _text(browser, ".facts .first-seen"), "first seen must be in local time (UTC+7)"
    browser.save_screenshot(str(screenshot_dir / "operator-detail.png"))

    # Dismiss with a note and a mask: d twice (a single d only arms the button).
    note = _one(browser, "#verdict-note")
    note.send_keys(NOTE)
    _one(browser, "#verdict-mask").click()
    note.send_keys("\ue00c")  # Esc leaves the text field so the shortcuts work
    _press(browser, "d")  # without a reason it only asks for one
    wait_for(lambda: "Choose why it is not smoke" in _text(browser, ".arm-hint"), 5, 0.1, "a dismissal asks for its reason")
    assert "armed" not in _one(browser, ".verdict-dismissed").get_attribute("class")
    _press(browser, "1")  # cloud
    assert _one(browser, "#dismiss-reason").get_attribute("value") == "cloud"
    _press(browser, "d")
    assert "armed" in _one(browser, ".verdict-dismissed").get_attribute("class")
    assert web_service.get(f"/api/alerts/{older['id']}").json()["status"] == "new", "one d must not dismiss"
    _press(browser, "d")

    def dismissed():
        detail = web_service.get(f"/api/alerts/{older['id']}").json()
        return detail if detail["status"] == "dismissed" else None

    detail = wait_for(dismissed, 10, 0.1, "the dismissal")
    assert detail["verdicts"][-1]["note"] == NOTE
    assert detail["verdicts"][-1]["reason"] == "cloud"
    assert detail["verdicts"][-1]["by"] == "olivia"
    camera = next(c for c in web_service.get("/api/cameras").json()["items"] if c["id"] == "tower-1")
    assert [[SMOKE_BOX[0], SMOKE_BOX[1]], [SMOKE_BOX[2], SMOKE_BOX[1]], [SMOKE_BOX[2], SMOKE_BOX[3]], [SMOKE_BOX[0], SMOKE_BOX[3]]] in camera["masks"]

    # The dismissed alert leaves the open queue and the next one is selected; a acknowledges it.
    wait_for(lambda: not _by_css(browser, f"#alert-{older['id']}"), 10, 0.1, "the dismissed alert to leave the queue")
    wait_for(lambda: _one(browser, f"#alert-{newer['id']}").get_attribute("aria-selected") == "true", 10, 0.1, "the next alert selected")
    wait_for(lambda: not _one(browser, ".verdict-acknowledged").get_attribute("disabled"), 10, 0.1, "the detail of the next alert")
    _press(browser, "a")
    wait_for(lambda: web_service.get(f"/api/alerts/{newer['id']}").json()["status"] == "acknowledged", 10, 0.1, "the acknowledgement")

    # A new detection reaches the open page through the live feed (polling would take 10 s);
    # elsewhere in the picture, since the plume's place is masked now.
    web_service.publish_detection("tower-1", datetime.now(timezone.utc), box=[0.1, 0.1, 0.3, 0.3], clip_frame=SMOKE_FRAMES[2])
    fresh = web_service.wait_for_alert("tower-1", status="new")
    _one(browser, f"#alert-{fresh['id']}", timeout_s=5)
    assert _one(browser, "#connection").get_attribute("data-state") == "live"

    # Camera health changes arrive the same way.
    web_service.publish_health("tower-2", "offline", "no frames for 60 s")
    wait_for(lambda: _text(browser, '.camera.status-offline[data-id="tower-2"]').startswith("Tháp 2\nOffline"), 5, 0.1, "Tháp 2 offline")
    browser.save_screenshot(str(screenshot_dir / "operator-after.png"))
    assert script_errors(browser) == []


def test_rejected_token_asks_again(browser, web_service, screenshot_dir):
    browser.get(f"{web_service.base_url}/healthz")
    browser.execute_script("localStorage.setItem('pinewatch.token', 'pw_not-a-real-token')")
    browser.get(f"{web_service.base_url}/")

    dialog = _one(browser, "#token-dialog[open]")
    wait_for(lambda: _one(browser, ".token-error").is_displayed(), 10, 0.1, "the rejected-token message")
    browser.save_screenshot(str(screenshot_dir / "operator-token.png"))
    dialog.find_element("css selector", "input").send_keys(web_service.operator_token + "\n")

    wait_for(lambda: not _by_css(browser, "#token-dialog[open]"), 10, 0.1, "the dialog to close")
    wait_for(lambda: _by_css(browser, ".alert-row"), 10, 0.1, "the queue after signing in")
    assert browser.execute_script("return localStorage.getItem('pinewatch.token')") == web_service.operator_token
    wait_for(lambda: "olivia" in _text(browser, "#me"), 10, 0.1, "the signed-in user")


def test_network_loss_shows_a_banner_until_the_server_answers(browser, web_service):
    browser.execute_script("localStorage.setItem('pinewatch.token', arguments[0])", web_service.operator_token)
    browser.get(f"{web_service.base_url}/")
    _one(browser, ".alert-row")
    browser.execute_cdp_cmd("Network.enable", {})
    offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
    try:
        from selenium.webdriver.support.ui import Select

        Select(_one(browser, "#filter-status")).select_by_value("")  # any request will do
        wait_for(lambda: _text(browser, "#banner").startswith("Cannot reach the server"), 10, 0.1, "the network banner")
        assert _one(browser, "#connection").get_attribute("data-state") == "offline"
    finally:
        browser.execute_cdp_cmd("Network.emulateNetworkConditions", {**offline, "offline": False})
    # The watchdog notices the server is back by itself within seconds; Retry now (if still shown) hurries it.
    browser.execute_script("const retry = document.querySelector('#banner button'); if (retry && retry.offsetParent) retry.click();")
    wait_for(lambda: not _one(browser, "#banner").is_displayed(), 10, 0.1, "the banner to go")
    assert len(_by_css(browser, ".alert-row")) == web_service.get("/api/alerts").json()["total"]
