"""Issue 13.2: a killed or SIGSTOPped worker shows its cameras offline within offline_after_s
plus a few seconds, judged by alerting from the heartbeats (real processes, real Redis)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import redis
import yaml

from alerting.liveness import LivenessReader
from alerting.service import Service
from alerting.store.db import session_factory
from alerting.store.models import Camera
from alerting.store.tokens import ensure_token
from pinewatch.core.config import Settings
from pinewatch.core.live import CameraHeartbeat, WorkerHeartbeat, camera_heartbeat_key, worker_heartbeat_key

pytestmark = pytest.mark.slow

OFFLINE_AFTER_S = 3.0


def worker_process(tmp_path, name, redis_config, model, cameras) -> subprocess.Popen:
    config = {
        "redis": {**redis_config.model_dump(mode="json"), "spool_dir": str(tmp_path / f"spool-{name}")},
        "detector": {"model_path": str(model), "imgsz": 64, "threads": 1},
        "streams": {"evidence_dir": str(tmp_path / "evidence"), "offline_after_s": OFFLINE_AFTER_S,
                    "open_timeout_s": 1, "read_timeout_s": 1},
        "cameras": cameras,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "pinewatch.cli", "run", "--config", str(path)], stdout=log, stderr=subprocess.STDOUT)


def test_killed_and_stopped_workers_show_their_cameras_offline(tmp_path, http_cameras, colour_model, redis_config):
    cameras = {
        "a1": {"id": "a1", "source": http_cameras.url("changing-a1"), "interval_s": 0.3},
        "a2": {"id": "a2", "source": http_cameras.url("changing-a2"), "interval_s": 0.3},
        "b1": {"id": "b1", "source": http_cameras.url("changing-b1"), "interval_s": 0.3},
    }
    settings = Settings(
        redis=redis_config,
        streams={"offline_after_s": OFFLINE_AFTER_S},
        alerting={"database_url": f"sqlite:///{tmp_path / 'pw.db'}", "read_block_ms": 100},
        cameras=list(cameras.values()),
    )
    service = Service(settings, dispatch=False)
    token = "pw_" + secrets.token_urlsafe(24)
    ensure_token(service.engine, "ron", "ranger", token)
    port = service.start_in_background(port=0)
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    killed = worker_process(tmp_path, "killed", redis_config, colour_model, [cameras["a1"], cameras["a2"]])
    stopped = worker_process(tmp_path, "stopped", redis_config, colour_model, [cameras["b1"]])

    def state() -> dict[str, dict]:
        return {c["id"]: c for c in api.get("/api/cameras").json()["items"]}

    def until(condition, timeout_s: float, what: str) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if condition(state()):
                return time.monotonic() - started
            time.sleep(0.2)
        raise AssertionError(f"not within {timeout_s}s: {what}: {state()}")

    try:
        until(lambda s: all(c["liveness"] == "online" and c["status"] == "online" for c in s.values()), 60, "all online")
        now = state()
        assert all(0 <= c["last_frame_age_s"] < 3 and c["last_frame_at"] for c in now.values())
        assert now["a1"]["worker"] == now["a2"]["worker"] != now["b1"]["worker"]

        os.kill(killed.pid, signal.SIGKILL)
        os.kill(stopped.pid, signal.SIGSTOP)
        took = until(lambda s: all(c["liveness"] == "offline" for c in s.values()), OFFLINE_AFTER_S + 10, "all offline")
        assert took <= OFFLINE_AFTER_S + 3
        gone = state()
        assert all(c["last_frame_age_s"] >= OFFLINE_AFTER_S - 1.5 and c["liveness_detail"] for c in gone.values())
        # ... although no worker said so: the last health event is still "online", in the API and the store
        assert all(c["status"] == "online" for c in gone.values())
        assert all(gone[k]["last_frame_at"] >= now[k]["last_frame_at"] for k in gone)  # the last frame is remembered
        with session_factory(service.engine)() as session:
            assert {c.id: c.status for c in session.query(Camera)} == {"a1": "online", "a2": "online", "b1": "online"}

        os.kill(stopped.pid, signal.SIGCONT)  # the stopped worker resumes: its camera comes back by itself
        until(lambda s: s["b1"]["liveness"] == "online" and s["a1"]["liveness"] == "offline", 15, "b1 back online")
    finally:
        for proc in (killed, stopped):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        api.close()
        service.stop()


def test_each_liveness_state_from_real_heartbeat_keys(redis_config):
    client = redis.Redis.from_url(redis_config.url)
    prefix = redis_config.heartbeat_prefix
    now = datetime.now(timezone.utc)

    def beat(camera_id: str, worker: str, age_s: float, interval_s: float = 1.0) -> None:
        at = now - timedelta(seconds=age_s)
        value = CameraHeartbeat(camera_id=camera_id, worker=worker, status="online", at=at, last_frame_at=at, interval_s=interval_s)
        client.set(camera_heartbeat_key(prefix, camera_id), value.model_dump_json(), ex=60)

    client.set(worker_heartbeat_key(prefix, "w1"), WorkerHeartbeat(worker="w1", at=now, cameras=["fresh", "late", "old"]).model_dump_json(), ex=60)
    beat("fresh", "w1", 0.5)
    beat("late", "w1", 10.0)  # > 2 x 1 s + 5 s: overdue
    beat("old", "w1", 40.0)  # > offline_after_s
    beat("orphan", "w2", 0.5)  # fresh, but its worker has no heartbeat: a dead worker's camera
    client.set(camera_heartbeat_key(prefix, "garbled"), b"{not json", ex=60)
    reader = LivenessReader(client, prefix, offline_after_s=30)
    live = reader.read(["fresh", "late", "old", "orphan", "garbled", "never"], now)
    assert {k: v.liveness for k, v in live.items()} == {
        "fresh": "online", "late": "stale", "old": "offline", "orphan": "offline", "garbled": "offline", "never": "offline",
    }
    assert live["fresh"].last_frame_age_s == pytest.approx(0.5) and live["never"].last_frame_at is None
    assert "w2" in live["orphan"].detail
    # the last frame seen is remembered once the key expires
    client.delete(camera_heartbeat_key(prefix, "fresh"))
    again = reader.read(["fresh"], now + timedelta(seconds=5))["fresh"]
    assert again.liveness == "offline" and again.last_frame_age_s == pytest.approx(5.5)
    unreachable = LivenessReader(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5), prefix, 30)
    assert unreachable.read(["fresh"], now)["fresh"].liveness == "offline"
    client.close()
