"""Issue 12 on the alerting side: each camera's frame mode (night / IR) in the store and the API,
and a PTZ camera's presets as cameras of their own (SQLite and PostgreSQL, real Redis)."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

import pytest

from alerting.api.app import create_app
from alerting.ingest import apply_health
from alerting.service import prepare
from alerting.store.models import Camera
from alerting.store.tokens import create_token
from pinewatch.core.live import CameraHeartbeat, WorkerHeartbeat, camera_heartbeat_key, worker_heartbeat_key
from pinewatch.core.messages import HealthEvent, decode, encode
from tests.alerting.helpers import at

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PTZ_TOWER = {
    "id": "tower",
    "name": "Tower",
    "source": "http://127.0.0.1:9/snapshot.jpg",
    "latitude": 11.9,
    "longitude": 108.4,
    "fov_deg": 55.0,
    "interval_s": 5,
    "masks": [[[0, 0], [0.2, 0], [0.2, 0.1]]],
    "ptz": {"protocol": "onvif", "url": "http://127.0.0.1:9/onvif/ptz_service", "profile_token": "p1"},
    "presets": [
        {"id": "north", "token": "1", "azimuth_deg": 0.0},
        {"id": "east", "token": "2", "azimuth_deg": 90.0, "fov_deg": 30.0, "masks": [[[0.5, 0.5], [0.6, 0.5], [0.6, 0.6]]]},
    ],
}


def mode_event(camera_id: str, minutes: float, mode: str | None, status: str = "online") -> HealthEvent:
    return HealthEvent(camera_id=camera_id, at=at(minutes), status=status, frame_mode=mode)


def test_the_mode_travels_in_health_events():
    event = mode_event("tower.east", 0, "night_ir")
    assert decode(encode(event), now=at(1)).frame_mode == "night_ir"
    with pytest.raises(ValueError):
        HealthEvent(camera_id="c", at=at(0), status="online", frame_mode="dusk")


def test_the_store_keeps_each_cameras_mode_and_since_when(engine, factory, make_settings):
    prepare(make_settings(cameras=[PTZ_TOWER]), engine)
    assert apply_health(factory, mode_event("tower.north", 0, "day"))
    assert apply_health(factory, mode_event("tower.north", 5, "night_ir"))
    assert apply_health(factory, mode_event("tower.north", 6, None, status="frozen"))  # an older worker: mode unknown
    assert not apply_health(factory, mode_event("tower.north", 4, "low_light"))  # late: changes nothing
    with factory() as session:
        camera = session.get(Camera, "tower.north")
        assert (camera.status, camera.frame_mode, camera.frame_mode_at) == ("frozen", "night_ir", at(5))


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_presets_are_cameras_and_the_api_shows_the_mode(engine, make_settings, redis_client):
    settings = make_settings(cameras=[PTZ_TOWER], redis={"heartbeat_prefix": "fm:heartbeat:"})
    prepare(settings, engine)
    app = create_app(settings, engine=engine, redis_client=redis_client)
    factory = app.state.ctx.factory
    apply_health(factory, mode_event("tower.north", 0, "night_ir"))
    apply_health(factory, mode_event("tower.east", 0, "day"))
    # tower.east's latest frame (a heartbeat, live) already says low light; the store's event is older.
    now = datetime.now(timezone.utc)
    prefix = settings.redis.heartbeat_prefix
    worker = WorkerHeartbeat(worker="w1", at=now, cameras=["tower.north", "tower.east"])
    redis_client.set(worker_heartbeat_key(prefix, "w1"), worker.model_dump_json(), ex=60)
    beat = CameraHeartbeat(camera_id="tower.east", worker="w1", status="online", at=now, last_frame_at=now, interval_s=10, frame_mode="low_light")
    redis_client.set(camera_heartbeat_key(prefix, "tower.east"), beat.model_dump_json(), ex=60)

    token = create_token(engine, "ranger-user", "ranger")
    with TestClient(app) as client:
        items = client.get("/api/cameras", headers={"Authorization": f"Bearer {token}"}).json()["items"]
    cameras = {c["id"]: c for c in items}
    assert set(cameras) == {"tower.north", "tower.east"}  # the physical PTZ camera is its presets
    north, east = cameras["tower.north"], cameras["tower.east"]
    assert (north["azimuth_deg"], north["fov_deg"], east["azimuth_deg"], east["fov_deg"]) == (0.0, 55.0, 90.0, 30.0)
    assert north["masks"] == PTZ_TOWER["masks"][0:1] and len(east["masks"]) == 2
    assert (north["frame_mode"], north["frame_mode_at"][:16]) == ("night_ir", at(0).isoformat()[:16])
    assert east["frame_mode"] == "low_light"
