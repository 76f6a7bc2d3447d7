"""`pinewatch serve` as an operator runs it: a real process, Redis, SQLite, a webhook receiver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis
import yaml

from alerting.notify.webhook import SIGNATURE_HEADER, sign
from pinewatch.core.messages import encode
from tests.alerting.conftest import CAMERAS, free_port
from tests.alerting.helpers import at, detection, write_jpeg

BOOTSTRAP = "bootstrap-secret-for-tests"


def write_config(tmp_path: Path, redis_url: str, port: int, webhook: str = "") -> Path:
    config = {
        "redis": {"url": redis_url},
        "streams": {"evidence_dir": str(tmp_path / "evidence")},
        "alerting": {
            "database_url": f"sqlite:///{tmp_path / 'var' / 'pinewatch.db'}",
            "read_block_ms": 200,
            "claim_idle_ms": 1000,
            "notify": {"webhook_urls": [webhook] if webhook else [], "webhook_secret": "k", "poll_s": 0.2},
        },
        "api": {"host": "127.0.0.1", "port": port, "bootstrap_token": BOOTSTRAP},
        "cameras": CAMERAS,
    }
    path = tmp_path / "pinewatch.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def pinewatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "pinewatch.cli", *args]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PINEWATCH_")}


def test_create_token_from_the_command_line(tmp_path, redis_url):
    config = write_config(tmp_path, redis_url, free_port())
    done = subprocess.run(
        pinewatch("serve", "--config", str(config), "--create-token", "lan:operator"),
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.startswith("pw_") and len(token) > 30
    bad = subprocess.run(
        pinewatch("serve", "--config", str(config), "--create-token", "lan"),
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert bad.returncode == 2 and "NAME:ROLE" in bad.stderr

    from alerting.store.db import make_engine, session_factory
    from alerting.store.tokens import authenticate

    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'pinewatch.db'}")
    with session_factory(engine)() as session:
        assert authenticate(session, token).role == "operator"
    engine.dispose()


class Serve:
    def __init__(self, config: Path, port: int, log: Path):
        self.url = f"http://127.0.0.1:{port}"
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            pinewatch("serve", "--config", str(config)), stdout=self.log, stderr=subprocess.STDOUT, env=clean_env()
        )
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, f"serve exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "serve did not come up"
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(30)
        self.log.close()
        return code


def wait_for(check, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.slow
def test_serve_end_to_end_and_nothing_lost_across_a_restart(tmp_path, redis_url, http_recorder):
    port = free_port()
    config = write_config(tmp_path, redis_url, port, webhook=http_recorder.url + "/hook")
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    headers = {"Authorization": f"Bearer {BOOTSTRAP}"}
    first = detection("tower-a", at(0))
    write_jpeg(tmp_path / "evidence", first.evidence_path)

    service = Serve(config, port, tmp_path / "serve.log")
    try:
        client.xadd("pinewatch:detections", encode(first))
        items = wait_for(lambda: httpx.get(service.url + "/api/alerts", headers=headers).json()["items"])
        assert items[0]["camera_id"] == "tower-a" and items[0]["camera_name"] == "Tower A"
        image = httpx.get(service.url + items[0]["evidence_url"], headers=headers)
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        [hook] = http_recorder.wait_for("/hook", timeout_s=20)
        assert hook.headers[SIGNATURE_HEADER] == sign("k", hook.body) and hook.json()["alert"]["id"] == items[0]["id"]
        assert httpx.get(service.url + "/api/me", headers=headers).json() == {
            "name": "bootstrap-admin",
            "role": "admin",
        }
    finally:
        assert service.stop() == 0

    # Published while the service is down: picked up after the restart, not lost.
    client.xadd("pinewatch:detections", encode(detection("tower-c", at(1))))
    service = Serve(config, port, tmp_path / "serve.log")
    try:
        cameras = wait_for(
            lambda: (
                {a["camera_id"] for a in httpx.get(service.url + "/api/alerts", headers=headers).json()["items"]}
                == {"tower-a", "tower-c"}
            )
        )
        assert cameras
        http_recorder.wait_for("/hook", count=2, timeout_s=20)
        metrics = httpx.get(service.url + "/metrics", headers=headers).text
        assert 'pinewatch_alerts{status="new"} 2.0' in metrics
        assert 'pinewatch_consumer_pending{stream="pinewatch:detections"} 0.0' in metrics
    finally:
        assert service.stop() == 0
    client.close()
