"""Compare with the camera's last frame before the smoke (issue 11, point 5), the whole loop:
a real stream worker (colour model, image-folder camera) -> real Redis -> the consumer and
store -> the API -> the operator page in headless Chromium."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from pinewatch.core.config import Settings
from streams.worker import run as run_worker
from tests.streams.conftest import make_colour_model
from tests.web.conftest import SMOKE_CLIP, script_errors, start_browser, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser(tmp_path_factory, web_service):
    driver = start_browser(tmp_path_factory, "en-US")
    yield driver
    driver.quit()


def _frame(index: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(SMOKE_CLIP))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = capture.read()
    capture.release()
    assert ok
    return image


def _camera_folder(folder: Path, start: datetime) -> tuple[np.ndarray, datetime]:
    """Three clean (grey) frames, then four the colour model calls smoke (red); the last clean one and its time."""
    folder.mkdir()
    clean = [np.repeat(cv2.cvtColor(_frame(i), cv2.COLOR_BGR2GRAY)[..., None], 3, axis=2) for i in (0, 5, 10)]
    smoke = []
    for i in (22, 27, 33, 38):
        red = _frame(i)
        red[..., 2] = 155 + red[..., 2] // 2.55
        red[..., :2] //= 8
        smoke.append(red)
    for n, image in enumerate(clean + smoke):
        assert cv2.imwrite(str(folder / f"{int(start.timestamp()) + 60 * n}.png"), image)
    return clean[-1], start + timedelta(minutes=2)


def _by_css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _one(driver, selector, timeout_s: float = 10.0):
    return wait_for(lambda: (_by_css(driver, selector) or [None])[0], timeout_s, 0.1, selector)


def _js(driver, expression: str):
    return driver.execute_script(f"return {expression}")


def _click(driver, selector: str) -> None:
    """Click the element as it is now (the page rebuilds the detail once its strings arrive)."""
    from selenium.common.exceptions import StaleElementReferenceException

    def clicked() -> bool:
        try:
            _one(driver, selector).click()
            return True
        except StaleElementReferenceException:
            return False

    wait_for(clicked, 5, 0.1, f"a click on {selector}")


def test_worker_frame_before_the_smoke_reaches_the_player(browser, web_service, tmp_path, screenshot_dir):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=20)
    last_clean, clean_at = _camera_folder(tmp_path / "tower-1", start)
    settings = Settings(
        redis={**web_service.settings.redis.model_dump(), "spool_dir": str(tmp_path / "spool")},
        detector={"model_path": make_colour_model(tmp_path / "colour.onnx"), "imgsz": 64, "threads": 1, "batch_wait_ms": 20},
        streams={"evidence_dir": web_service.settings.streams.evidence_dir, "realtime": False, "loop": False},
        cameras=[{"id": "tower-1", "source": str(tmp_path / "tower-1"), "interval_s": 0.1}],
    )
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(settings, stop), daemon=True)
    worker.start()
    try:
        alert = web_service.wait_for_alert("tower-1", frame_count=3)
    finally:
        stop.set()
        worker.join(15)

    # The API: the alert carries the frame before the smoke, served like evidence.
    detail = web_service.get(f"/api/alerts/{alert['id']}").json()
    assert datetime.fromisoformat(detail["before_at"]) == clean_at
    assert detail["before_url"].startswith("/api/evidence/tower-1/") and detail["before_url"].endswith("_before.jpg")
    picture = web_service.get(detail["before_url"])
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    served = cv2.imdecode(np.frombuffer(picture.content, np.uint8), cv2.IMREAD_COLOR)
    assert np.abs(served.astype(int) - last_clean.astype(int)).mean() < 3.0, "the last clean frame, as captured"
    evidence = cv2.imdecode(np.frombuffer(web_service.get(detail["evidence_url"]).content, np.uint8), cv2.IMREAD_COLOR)
    assert evidence[..., 2].mean() > 150, "the evidence is the (red) smoke frame"

    # An alert without one: the toggle is there but off and says why.
    web_service.publish_detection("tower-2", datetime.now(timezone.utc) - timedelta(minutes=1))
    plain = web_service.wait_for_alert("tower-2")

    browser.get(f"{web_service.base_url}/healthz")
    browser.execute_script("localStorage.clear(); localStorage.setItem('pinewatch.token', arguments[0])", web_service.operator_token)
    browser.get(f"{web_service.base_url}/?alert={plain['id']}")
    wait_for(lambda: _js(browser, "document.querySelector('.frame-position')?.textContent") == "Frame 1 of 1", 10, 0.1, "the Tháp 2 alert")
    assert "Tháp 2" in _js(browser, "document.querySelector('.detail-header h2').textContent")
    assert _js(browser, "document.querySelector('#toggle-compare').disabled") is True
    assert "No frame before the smoke" in _js(browser, "document.querySelector('.compare-toggle').title")

    browser.get(f"{web_service.base_url}/?alert={alert['id']}")
    wait_for(lambda: _js(browser, "document.querySelector('.frame-position')?.textContent") == "Frame 3 of 3", 10, 0.1, "the alert's 3 frames")
    wait_for(lambda: _js(browser, "document.querySelector('#toggle-compare')?.disabled") is False, 10, 0.1, "the toggle to be usable")
    assert not _by_css(browser, ".stage .compare")
    # Quiet the new-alert alarm first, so the banner's leaving does not move the page between checks.
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    wait_for(lambda: _js(browser, "document.querySelector('#alarm-banner').hidden"), 5, 0.1, "the alarm banner to go")
    _click(browser, "#toggle-compare")
    before = _one(browser, ".stage .compare .before .evidence img")
    wait_for(lambda: browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", before) == 640, 10, 0.1, "the frame before the smoke")
    assert before.get_attribute("src").endswith(detail["before_url"])
    assert _one(browser, ".stage .compare .current .evidence img").get_attribute("src").endswith(".jpg")
    local = clean_at.astimezone(timezone(timedelta(hours=7)))
    assert local.strftime("%H:%M:%S") in _one(browser, ".stage .compare figcaption").text
    assert _by_css(browser, ".stage .compare .before .box"), "the box is outlined where to look on both"
    browser.save_screenshot(str(screenshot_dir / "operator-compare.png"))

    ActionChains(browser).send_keys(Keys.ESCAPE).send_keys("b").perform()  # Esc leaves the checkbox; b switches it off
    wait_for(lambda: not _by_css(browser, ".stage .compare"), 5, 0.1, "the single picture again")
    assert script_errors(browser) == []
