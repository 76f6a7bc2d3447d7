"""The real alerting service for the browser tests, and a headless Chromium.

The service is the real app (alerting.api.app.create_app) on uvicorn in a
thread, over a temporary SQLite database and evidence folder, with the real
stream consumer reading detections that the tests publish to a redis-server of
their own. The browser is Debian's chromium driven by its chromedriver; nothing
is downloaded (selenium-manager stays offline).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import cv2
import httpx
import pytest
import redis

from pinewatch.core.config import PROJECT_ROOT, Settings
from pinewatch.embedded_redis import free_port
from pinewatch.core.messages import BoxDetection, DetectionEvent, HealthEvent, encode

CHROMIUM = Path(os.environ.get("PINEWATCH_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("PINEWATCH_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
SMOKE_CLIP = PROJECT_ROOT / "sample_videos" / "smoke_hpwren_mixed.mp4"
SCREENSHOT_DIR_ENV = "PINEWATCH_SCREENSHOT_DIR"  # keep the screenshots here instead of a temp folder
BROWSER_TIMEZONE = "Asia/Ho_Chi_Minh"  # UTC+7, no daylight saving: local times are predictable

# The plume in frame 22 of the sample clip, and two towers whose cones cross on it:
# Tower 1 sees it at about 132° (SE), Tower 2 at about 319° (NW).
SMOKE_BOX = [0.82, 0.34, 0.995, 0.56]
SMOKE_FRAMES = (22, 27, 33)
CAMERAS = [
    {"id": "tower-1", "name": "Tháp 1", "source": "rtsp://127.0.0.1:1/none", "latitude": 11.90, "longitude": 108.40, "azimuth_deg": 107, "fov_deg": 60},
    {"id": "tower-2", "name": "Tháp 2", "source": "rtsp://127.0.0.1:1/none", "latitude": 11.80, "longitude": 108.50, "azimuth_deg": 294, "fov_deg": 60},
]



def wait_for(condition, timeout_s: float = 10.0, interval_s: float = 0.1, what: str = "condition"):
    """Poll until `condition()` returns something truthy, and return it."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def script_errors(driver) -> list[str]:
    """Uncaught errors and console.error output since the last call (refused requests are not counted)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE" and entry.get("source") != "network"]


def requested_urls(driver) -> list[str]:
    """Every URL the browser requested since the last call (all kinds: img, fetch, EventSource)."""
    import json

    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


# --- services ------------------------------------------------------------------


# redis_url: tests/conftest.py (a private redis-server per test session).


@dataclass
class WebService:
    base_url: str
    operator_token: str
    ranger_token: str
    settings: Settings
    redis: redis.Redis

    def get(self, path: str, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.operator_token}"}
        return httpx.get(self.base_url + path, headers=headers, timeout=10)

    def publish_detection(self, camera_id: str, captured_at: datetime, box=SMOKE_BOX, clip_frame: int = SMOKE_FRAMES[0], score: float = 0.81) -> str:
        """Write the evidence JPEG (the frame as captured, as the stream worker does) and XADD the event."""
        relative = f"{camera_id}/{captured_at.strftime('%Y%m%dT%H%M%S%f')}.jpg"
        _write_evidence(Path(self.settings.streams.evidence_dir) / relative, clip_frame)
        event = DetectionEvent(
            event_id=f"{camera_id}-{secrets.token_hex(6)}",
            camera_id=camera_id,
            captured_at=captured_at,
            detections=[BoxDetection(label="smoke", score=score, box=box)],
            evidence_path=relative,
            frame_width=640,
            frame_height=480,
            model="test",
        )
        self.redis.xadd(self.settings.redis.detections_stream, encode(event))
        return relative

    def publish_health(self, camera_id: str, status: str, detail: str = "") -> None:
        event = HealthEvent(camera_id=camera_id, at=datetime.now(timezone.utc), status=status, detail=detail)
        self.redis.xadd(self.settings.redis.health_stream, encode(event))

    def heartbeat(self, camera_id: str, worker: str = "web-test-worker") -> None:
        """What a stream worker writes after a good frame of the camera (liveness: online)."""
        from pinewatch.core.live import CameraHeartbeat, WorkerHeartbeat, camera_heartbeat_key, worker_heartbeat_key

        now = datetime.now(timezone.utc)
        prefix, ttl = self.settings.redis.heartbeat_prefix, int(self.settings.streams.offline_after_s)
        beat = CameraHeartbeat(camera_id=camera_id, worker=worker, status="online", at=now, last_frame_at=now, interval_s=60)
        self.redis.set(worker_heartbeat_key(prefix, worker), WorkerHeartbeat(worker=worker, at=now, cameras=[camera_id]).model_dump_json(), ex=ttl)
        self.redis.set(camera_heartbeat_key(prefix, camera_id), beat.model_dump_json(), ex=ttl)

    def silence(self, camera_id: str) -> None:
        """The camera's heartbeat expires (no good frame for offline_after_s): liveness offline."""
        from pinewatch.core.live import camera_heartbeat_key

        self.redis.delete(camera_heartbeat_key(self.settings.redis.heartbeat_prefix, camera_id))

    def wait_for_alert(self, camera_id: str, frame_count: int = 1, status: str | None = None) -> dict:
        """The newest alert of the camera once the consumer has stored `frame_count` frames of it."""

        def stored():
            items = self.get(f"/api/alerts?camera_id={camera_id}").json()["items"]
            for alert in items:
                if alert["frame_count"] >= frame_count and (status is None or alert["status"] == status):
                    return alert
            return None

        return wait_for(stored, 15, 0.1, f"an alert of {camera_id} with {frame_count} frames")


def _write_evidence(path: Path, clip_frame: int) -> None:
    capture = cv2.VideoCapture(str(SMOKE_CLIP))
    capture.set(cv2.CAP_PROP_POS_FRAMES, clip_frame)
    ok, image = capture.read()
    capture.release()
    assert ok, f"cannot read frame {clip_frame} of {SMOKE_CLIP}"
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)


@pytest.fixture(scope="module")
def web_service(redis_url, tmp_path_factory) -> Iterator[WebService]:
    """The real app on a free port, its consumer running, two tokens (operator, ranger)."""
    import uvicorn

    from alerting.api.app import create_app
    from alerting.consumer import StreamConsumer
    from alerting.ingest import Rules
    from alerting.service import open_store, prepare
    from alerting.store.db import session_factory
    from alerting.store.tokens import create_token

    workdir = tmp_path_factory.mktemp("web")
    prefix = f"pinewatch-web-{secrets.token_hex(4)}"
    settings = Settings(
        redis={
            "url": redis_url,
            "detections_stream": f"{prefix}:detections",
            "health_stream": f"{prefix}:health",
            "dead_letter_stream": f"{prefix}:dead-letter",
            "heartbeat_prefix": f"{prefix}:heartbeat:",
        },
        streams={"evidence_dir": str(workdir / "evidence")},
        alerting={"database_url": f"sqlite:///{workdir / 'alerts.db'}", "sse_poll_s": 0.2, "read_block_ms": 200},
        cameras=CAMERAS,
    )
    engine = open_store(settings)
    prepare(settings, engine)
    operator_token = create_token(engine, "olivia", "operator")
    ranger_token = create_token(engine, "ranger-an", "ranger")
    client = redis.Redis.from_url(redis_url)
    app = create_app(settings, engine=engine, redis_client=client)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    server_thread = threading.Thread(target=server.run, name="web-test-uvicorn", daemon=True)
    server_thread.start()
    stop = threading.Event()
    consumer = StreamConsumer(client, session_factory(engine), settings.redis, settings.alerting, Rules.from_config(settings.alerting))
    consumer.ensure_groups()
    consumer_thread = threading.Thread(target=consumer.run, args=(stop,), name="web-test-consumer", daemon=True)
    consumer_thread.start()
    wait_for(lambda: server.started, 15, 0.05, "uvicorn")
    try:
        yield WebService(f"http://127.0.0.1:{port}", operator_token, ranger_token, settings, client)
    finally:
        # The browser's live-feed connection never ends by itself: don't wait for it.
        server.should_exit = True
        server.force_exit = True
        stop.set()
        server_thread.join(10)
        consumer_thread.join(10)
        client.close()
        engine.dispose()


# --- browser -------------------------------------------------------------------


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    chosen = os.environ.get(SCREENSHOT_DIR_ENV)
    if chosen:
        Path(chosen).mkdir(parents=True, exist_ok=True)
        return Path(chosen)
    return tmp_path_factory.mktemp("screenshots")


def start_browser(tmp_path_factory, language: str):
    """Headless Chromium with `language` as the browser language, in UTC+7."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip(f"browser tests need {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("browser tests need selenium (pip install -e '.[dev]')")

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--window-size=1440,900",
        "--autoplay-policy=no-user-gesture-required",  # the alarm's tone may start without a click
        f"--lang={language}",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})  # requested_urls()
    # An explicit driver path: selenium-manager never runs, and SE_OFFLINE stops it if it did.
    os.environ.setdefault("SE_OFFLINE", "true")
    service = Service(executable_path=str(CHROMEDRIVER), env={**os.environ, "TZ": BROWSER_TIMEZONE})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver
