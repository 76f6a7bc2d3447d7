"""`pinewatch_camera_alive` shows a dead worker (its heartbeats stop; it sends no "offline"),
and `pinewatch_dead_letters` counts what waits in the dead-letter stream: the two gauges the
alert rules in deploy/prometheus/rules.yml rest on, scraped from the real /metrics."""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timezone

from alerting.api.app import create_app
from alerting.store.tokens import create_token
from pinewatch.core.live import CameraHeartbeat, WorkerHeartbeat, camera_heartbeat_key, worker_heartbeat_key

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _gauges(text: str, name: str) -> dict[str, float]:
    return {labels: float(value) for labels, value in re.findall(rf"^{name}(\{{[^}}]*\}}|) (\S+)$", text, re.M)}


def test_camera_alive_follows_heartbeats_and_a_dead_worker_shows(make_settings, sqlite_engine, redis_client):
    settings = make_settings()
    app = create_app(settings, engine=sqlite_engine, redis_client=redis_client)
    headers = {"Authorization": f"Bearer {create_token(sqlite_engine, 'prom', 'worker')}"}
    prefix, now = settings.redis.heartbeat_prefix, datetime.now(timezone.utc)
    beat = CameraHeartbeat(camera_id="tower-a", worker="box-1", status="online", at=now, last_frame_at=now, interval_s=10)
    redis_client.set(camera_heartbeat_key(prefix, "tower-a"), beat.model_dump_json(), ex=60)
    redis_client.set(worker_heartbeat_key(prefix, "box-1"), WorkerHeartbeat(worker="box-1", at=now, cameras=["tower-a"]).model_dump_json(), ex=60)
    with TestClient(app) as client:
        text = client.get("/metrics", headers=headers).text
        alive = _gauges(text, "pinewatch_camera_alive")
        assert alive == {'{camera_id="tower-a"}': 1.0, '{camera_id="tower-b"}': 0.0, '{camera_id="tower-c"}': 0.0}
        assert 0 <= _gauges(text, "pinewatch_camera_last_frame_age_seconds")['{camera_id="tower-a"}'] < 60
        assert _gauges(text, "pinewatch_dead_letters") == {"": 0.0}

        redis_client.delete(worker_heartbeat_key(prefix, "box-1"))  # the worker was killed: its key expired
        redis_client.xadd(settings.redis.dead_letter_stream, {"dead_letter_reason": "test"})
        text = client.get("/metrics", headers=headers).text
        assert _gauges(text, "pinewatch_camera_alive")['{camera_id="tower-a"}'] == 0.0  # its camera's key is still there
        assert _gauges(text, "pinewatch_dead_letters") == {"": 1.0}
