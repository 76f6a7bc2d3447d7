"""Issue 13.1: an operator's "dismiss + add mask" reaches a running worker within seconds.

Real pieces: the alerting Service (consumer, API, mask publisher) on SQLite, a private
redis-server, a stream worker with the colour model on an HTTP camera serving red frames
(smoke at the frame centre on every frame), and the REST API over HTTP.
"""

from __future__ import annotations

import secrets
import threading
import time

import httpx
import pytest
import redis

from alerting.service import Service
from alerting.store.tokens import ensure_token
from pinewatch.core.config import Settings
from pinewatch.core.live import MASKS_KEY, MASKS_REVISION_KEY
from streams.stats import WorkerStats
from streams.worker import run

pytestmark = pytest.mark.slow

CONFIG_MASK = [[0.0, 0.0], [0.1, 0.0], [0.1, 0.1], [0.0, 0.1]]  # a corner: never hides the centre box


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s}s: {what}")


@pytest.fixture
def clean_masks(redis_config):
    client = redis.Redis.from_url(redis_config.url)
    client.delete(MASKS_KEY, MASKS_REVISION_KEY)  # the mask keys are global: leave none to other tests
    yield client
    client.delete(MASKS_KEY, MASKS_REVISION_KEY)
    client.close()


def test_dismiss_with_mask_silences_that_place_on_a_running_worker(tmp_path, http_cameras, colour_model, redis_config, clean_masks):
    client = clean_masks
    settings = Settings(
        redis=redis_config,
        detector={"model_path": colour_model, "imgsz": 64, "threads": 1, "batch_size": 2, "batch_wait_ms": 10},
        temporal={"window": 2, "min_hits": 2},
        streams={"evidence_dir": tmp_path / "evidence", "offline_after_s": 5, "open_timeout_s": 1, "read_timeout_s": 1},
        alerting={"database_url": f"sqlite:///{tmp_path / 'pw.db'}", "read_block_ms": 100},
        cameras=[{"id": "red", "source": http_cameras.url("red-masks"), "interval_s": 0.3, "masks": [CONFIG_MASK]}],
    )
    service = Service(settings, dispatch=False)
    token = "pw_" + secrets.token_urlsafe(24)
    ensure_token(service.engine, "olga", "operator", token)
    ranger_token = "pw_" + secrets.token_urlsafe(24)
    ensure_token(service.engine, "ron", "ranger", ranger_token)
    port = service.start_in_background(port=0)
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    stop, stats = threading.Event(), WorkerStats()
    worker = threading.Thread(target=run, args=(settings, stop), kwargs={"stats": stats}, daemon=True)
    worker.start()

    def detections() -> int:
        return client.xlen(redis_config.detections_stream)

    try:
        alert = wait_for(lambda: api.get("/api/alerts").json()["items"], 30, "an alert from the red camera")[0]
        assert alert["box"] == pytest.approx([0.375, 1 / 3, 0.625, 2 / 3])

        listed = api.get("/api/masks").json()["items"]
        assert [(m["source"], m["deletable"], m["polygon"]) for m in listed] == [("config", False, CONFIG_MASK)]
        assert httpx.get(f"http://127.0.0.1:{port}/api/masks", headers={"Authorization": f"Bearer {ranger_token}"}).status_code == 403

        answer = api.post(f"/api/alerts/{alert['id']}/verdict", json={"status": "dismissed", "note": "sun", "add_mask": True})
        assert answer.status_code == 200, answer.text
        masks = api.get("/api/masks").json()["items"]
        operator = [m for m in masks if m["source"] == "operator"]
        assert len(operator) == 1 and operator[0]["deletable"] and operator[0]["alert_id"] == alert["id"]
        assert operator[0]["camera_id"] == "red" and operator[0]["created_by"] == "olga"

        # Published within seconds; give the worker its poll and the frames in flight, then count.
        wait_for(lambda: client.hlen(MASKS_KEY) == 1, 5, "the mask published to Redis")
        time.sleep(2.5)
        silenced_at, frames_at = detections(), stats.cameras["red"].frames
        time.sleep(3)
        assert detections() == silenced_at, "a detection at the masked place reached the stream"
        assert stats.cameras["red"].frames >= frames_at + 5  # the camera kept running all along
        assert api.get("/api/alerts", params={"status": "new"}).json()["items"] == []

        # A config mask is not the API's to remove; an operator mask is, and that is live too.
        config_id = next(m["id"] for m in masks if m["source"] == "config")
        assert api.delete(f"/api/masks/{config_id}").status_code == 409
        assert api.delete("/api/masks/999999").status_code == 404
        assert api.delete(f"/api/masks/{operator[0]['id']}").status_code == 204
        assert [m["source"] for m in api.get("/api/masks").json()["items"]] == ["config"]
        wait_for(lambda: detections() > silenced_at, 10, "detections again once the mask is removed")
    finally:
        stop.set()
        worker.join(15)
        api.close()
        service.stop()
    assert not worker.is_alive()
