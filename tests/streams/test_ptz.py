"""PTZ presets as virtual cameras (issue 12), against a local PTZ simulator (tests/streams/ptz_sim.py)
that serves a different real frame per preset and answers HTTP PTZ and ONVIF GotoPreset calls."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import redis

from detector.media import video_frames
from pinewatch.core.config import CameraConfig, ConfigError, Settings, StreamsConfig, expand_cameras, load_settings
from pinewatch.core.live import CameraHeartbeat, camera_heartbeat_key, decode_json
from pinewatch.core.messages import DetectionEvent, HealthEvent
from streams.patrol import StuckWatch, hash_distance, picture_hash
from streams.sources import BadData, SourceUnavailable, open_source
from streams.sources.ptz import NoPresetReady, goto_preset_envelope

from .ptz_sim import PtzSimulator
from .test_worker import RunningWorker, read_stream, settings_for, wait_for

ROOT = Path(__file__).resolve().parents[2]
AFM = ROOT.parent / "shared" / "datasets" / "afm-hpwren-smoke" / "images"
# Three HPWREN views: one in IR mode, two in colour (a different real frame per preset).
AFM_VIEWS = ("ck0kow7lga3y30701f2yvt2b2.jpeg", "ck0k9dqjr9ofe0721swdl5i8d.jpeg", "ck0ujaorgtcay0794uwgas7bz.jpeg")
CLIPS = ("nosmoke_hpwren_lyons_peak.mp4", "nosmoke_alertwildfire_clouds.mp4", "smoke_hpwren_mixed.mp4")


@pytest.fixture(scope="module")
def views() -> list[np.ndarray]:
    """Real frames from ../shared (AFM) when it is there, else the first frames of the repository's clips."""
    paths = [AFM / name for name in AFM_VIEWS]
    if all(p.is_file() for p in paths):
        return [cv2.imread(str(p)) for p in paths]
    return [next(iter(video_frames(ROOT / "sample_videos" / clip))).image() for clip in CLIPS]


def reddened(image: np.ndarray) -> np.ndarray:
    """The real view tinted red: smoke to the tests' colour model (tests/streams/conftest.py)."""
    red = image.copy()
    red[..., 2] = 155 + red[..., 2] // 2.55
    red[..., :2] //= 8
    return red


@pytest.fixture
def sim(views):
    server = PtzSimulator({"1": views[0], "2": views[1], "3": views[2]}, username="ptz", password="s3cret")
    yield server
    server.close()


def ptz_camera(sim: PtzSimulator, protocol: str = "http", tokens=("1", "2", "3"), **ptz) -> CameraConfig:
    if protocol == "http":
        settings = {"protocol": "http", "url": sim.base + "/ptz?preset={preset}", "settle_s": 0.05, "retries": 1, **ptz}
    else:
        settings = {
            "protocol": "onvif", "url": sim.base + "/onvif/ptz_service", "profile_token": "profile_1",
            "username": "ptz", "password": "s3cret", "settle_s": 0.05, "retries": 1, **ptz,
        }
    return CameraConfig(
        id="tower", source=sim.base + "/snapshot.jpg", latitude=11.9, longitude=108.4, fov_deg=60, interval_s=0.2,
        masks=[[[0, 0], [0.1, 0], [0.1, 0.1]]], ptz=settings,
        presets=[{"id": f"p{t}", "token": t, "azimuth_deg": 100.0 * int(t) % 360} for t in tokens],
    )


STREAMS = StreamsConfig(open_timeout_s=1, read_timeout_s=1, reconnect_min_s=0.05, reconnect_max_s=0.2, http_retries=0)


def same_view(a: np.ndarray, b: np.ndarray) -> bool:
    return hash_distance(picture_hash(a), picture_hash(b)) <= 6


def test_each_preset_is_a_camera_of_its_own(sim):
    camera = ptz_camera(sim)
    virtual = expand_cameras([camera])
    assert [v.id for v in virtual] == ["tower.p1", "tower.p2", "tower.p3"]
    assert [v.azimuth_deg for v in virtual] == [100.0, 200.0, 300.0]
    assert all(v.fov_deg == 60 and v.interval_s == pytest.approx(0.6) and v.masks == camera.masks for v in virtual)


def test_the_patrol_moves_settles_and_takes_each_presets_frame(sim, views):
    source = open_source(ptz_camera(sim, settle_s=0.15), STREAMS)
    try:
        frames = [source.read() for _ in range(6)]
    finally:
        source.close()
    assert [f.camera_id for f in frames] == ["tower.p1", "tower.p2", "tower.p3"] * 2
    for frame, view in zip(frames, views * 2):
        assert same_view(frame.image, view)
    assert not same_view(frames[0].image, frames[1].image)
    # Each snapshot was taken a settle time after the move that preceded it.
    for (token, moved), (shown, taken) in zip(sim.moves, sim.snapshots):
        assert shown == token and taken - moved >= 0.15


def test_a_broken_preset_is_skipped_while_the_others_go_on(sim):
    sim.broken = {"2"}
    source = open_source(ptz_camera(sim, tokens=("1", "2", "3", "9")), STREAMS)  # 9: no such preset
    try:
        frames = [source.read() for _ in range(4)]
        failures = source.take_failures()
    finally:
        source.close()
    assert {f.camera_id for f in frames} == {"tower.p1", "tower.p3"}
    kinds = {preset: type(exc) for preset, exc in failures}
    assert kinds == {"tower.p2": SourceUnavailable, "tower.p9": BadData}  # 503: retried, then unavailable; 404: wrong
    assert "HTTP 404" in str(dict(failures)["tower.p9"])
    sim.broken = {"1", "2", "3"}
    source = open_source(ptz_camera(sim, tokens=("1", "2")), STREAMS)
    try:
        with pytest.raises(NoPresetReady):
            source.read()
    finally:
        source.close()


@pytest.mark.parametrize("auth", ["basic", "digest"])
def test_http_ptz_with_credentials(sim, auth):
    sim.http_auth = auth
    source = open_source(ptz_camera(sim, username="ptz", password="s3cret", auth=auth), STREAMS)
    try:
        assert [source.read().camera_id for _ in range(2)] == ["tower.p1", "tower.p2"]
    finally:
        source.close()
    wrong = open_source(ptz_camera(sim, username="ptz", password="wrong", auth=auth, tokens=("1",)), STREAMS)
    try:
        with pytest.raises(NoPresetReady):
            wrong.read()
        assert "HTTP 401" in str(wrong.take_failures()[0][1])
    finally:
        wrong.close()
    assert [token for token, _ in sim.moves] == ["1", "2"]


def test_onvif_goto_preset_with_ws_security(sim):
    source = open_source(ptz_camera(sim, "onvif"), STREAMS)
    try:
        assert [source.read().camera_id for _ in range(3)] == ["tower.p1", "tower.p2", "tower.p3"]
    finally:
        source.close()
    assert [token for token, _ in sim.moves] == ["1", "2", "3"] and not sim.faults

    wrong = open_source(ptz_camera(sim, "onvif", tokens=("1", "7"), password="wrong"), STREAMS)
    try:
        with pytest.raises(NoPresetReady):
            wrong.read()
        failures = dict(wrong.take_failures())
    finally:
        wrong.close()
    assert isinstance(failures["tower.p1"], BadData) and "NotAuthorized" in str(failures["tower.p1"])

    unknown = open_source(ptz_camera(sim, "onvif", tokens=("7", "1")), STREAMS)
    try:
        assert unknown.read().camera_id == "tower.p1"
        assert "ter:NoToken" in str(dict(unknown.take_failures())["tower.p7"])
    finally:
        unknown.close()


def test_the_soap_request_is_escaped_and_its_digest_is_the_specs():
    envelope = goto_preset_envelope("p<1>", "a&b", "admin", "pw", nonce=b"0123456789abcdef")
    assert "<tptz:ProfileToken>p&lt;1&gt;</tptz:ProfileToken>" in envelope and "a&amp;b" in envelope
    assert "PasswordDigest" in envelope and "<wsse:Username>admin</wsse:Username>" in envelope
    assert "Security" not in goto_preset_envelope("p", "1")


def test_a_stuck_ptz_shows_the_same_picture_at_every_preset(views):
    def noisy(image: np.ndarray, seed: int) -> np.ndarray:  # a new JPEG of the same view: sensor noise, compression
        rng = np.random.default_rng(seed)
        noise = rng.normal(0, 2, image.shape)
        jpeg = cv2.imencode(".jpg", np.clip(image + noise, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 80])[1]
        return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)

    watch = StuckWatch(["a", "b", "c"], max_bits=6)
    assert [watch.add(p, v) for p, v in zip("abc", views)] == [None, None, False]
    assert [watch.add(p, noisy(views[0], i)) for i, p in enumerate("abc")] == [None, None, True]
    # A preset that fails: the round closes when another preset comes round again.
    assert [watch.add("a", views[0]), watch.add("b", views[1]), watch.add("a", views[0])] == [None, None, False]


def test_ptz_settings_are_checked(tmp_path):
    path = tmp_path / "pinewatch.yaml"
    cases = {
        "ptz: {protocol: http, url: 'http://cam/ptz'}\n  presets: [{id: a, token: '1'}]": "needs {preset} in url or body",
        "ptz: {protocol: onvif, url: 'http://cam/onvif'}\n  presets: [{id: a, token: '1'}]": "needs profile_token",
        "ptz: {protocol: http, url: 'http://cam/{preset}/{x}'}\n  presets: [{id: a, token: '1'}]": "only {preset}",
        "presets: [{id: a, token: '1'}]": "ptz and presets go together",
        "ptz: {protocol: http, url: 'http://cam/{preset}'}\n  presets: [{id: a, token: '1'}, {id: a, token: '2'}]": "unique",
        "ptz: {protocol: http, url: 'http://cam/{preset}', settle_s: 20}\n  presets: [{id: a, token: '1'}]": "settle_s",
        "ptz: {protocol: http, url: 'http://cam/{preset}'}\n  interval_s: 30\n  presets: [{id: a, token: '1'}, {id: b, token: '2'}]": "must be below streams.offline_after_s",
    }
    for block, message in cases.items():
        path.write_text(f"cameras:\n- id: t\n  source: http://cam/snap.jpg\n  {block}\n")
        with pytest.raises(ConfigError, match="cameras") as error:
            load_settings(path)
        assert message in str(error.value), block
    path.write_text(
        "cameras:\n- {id: t.a, source: x}\n- id: t\n  source: http://cam/snap.jpg\n"
        "  ptz: {protocol: http, url: 'http://cam/{preset}'}\n  presets: [{id: a, token: '1'}]\n"
    )
    with pytest.raises(ConfigError, match="duplicate camera id 't.a'"):
        load_settings(path)


@pytest.mark.slow
def test_a_ptz_camera_through_the_worker(views, colour_model, redis_config, tmp_path):
    """One ONVIF PTZ camera whose east preset sees smoke, one HTTP PTZ camera with a preset that
    does not exist: every preset reports as its own camera, detection never stops for a camera,
    and a PTZ that stops moving is a health fault on all its presets."""
    tower = PtzSimulator({"1": views[0], "2": reddened(views[1]), "3": views[2]}, username="ptz", password="s3cret")
    ridge = PtzSimulator({"1": views[2], "2": views[1]})
    try:
        onvif = ptz_camera(tower, "onvif").model_dump()
        onvif["presets"][1]["id"] = "east"
        http = ptz_camera(ridge, tokens=("1", "2", "5")).model_dump() | {"id": "ridge"}
        settings = settings_for([onvif, http], colour_model, redis_config, tmp_path)
        client = redis.Redis.from_url(redis_config.url)
        presets = ["tower.p1", "tower.east", "tower.p3", "ridge.p1", "ridge.p2", "ridge.p5"]

        def latest() -> dict[str, HealthEvent]:
            return {e.camera_id: e for e in read_stream(client, redis_config.health_stream) if isinstance(e, HealthEvent)}

        def heartbeat(camera_id: str) -> CameraHeartbeat | None:
            value = client.get(camera_heartbeat_key(redis_config.heartbeat_prefix, camera_id))
            return decode_json(CameraHeartbeat, value) if value else None

        worker = RunningWorker(settings)
        try:
            healthy = {"tower.p1": "online", "tower.east": "online", "tower.p3": "online", "ridge.p1": "online", "ridge.p2": "online", "ridge.p5": "error"}
            assert wait_for(lambda: {k: v.status for k, v in latest().items()} == healthy, 15), latest()
            assert wait_for(lambda: any(isinstance(e, DetectionEvent) for e in read_stream(client, redis_config.detections_stream)), 10)
            beats = {p: heartbeat(p) for p in presets}
            tower.stick("3")  # the motor dies facing south: every preset shows the same picture
            assert wait_for(lambda: all(latest()[p].status == "error" for p in presets[:3]), 10), latest()
            stuck_details = {p: latest()[p].detail for p in presets[:3]}
            ridge_while_stuck = {p: latest()[p].status for p in presets[3:]}
            frames_when_stuck = worker.stats.cameras["tower.p1"].frames
            assert wait_for(lambda: worker.stats.cameras["tower.p1"].frames >= frames_when_stuck + 2, 10)  # detection goes on
            tower.stick(None)
            assert wait_for(lambda: all(latest()[p].status == "online" for p in presets[:3]), 10), latest()
        finally:
            worker.finish()
        detections = [e for e in read_stream(client, redis_config.detections_stream) if isinstance(e, DetectionEvent)]
    finally:
        tower.close()
        ridge.close()

    assert {d.camera_id for d in detections} == {"tower.east"}  # only the red preset, under its own id
    assert detections[0].evidence_path.startswith("tower.east/")
    assert all(beats[p] is not None and beats[p].interval_s == pytest.approx(0.6) for p in presets[:5])
    assert beats["ridge.p5"] is None  # never a frame: no heartbeat
    expected_mode = "night_ir" if (AFM / AFM_VIEWS[0]).is_file() else "day"
    assert beats["tower.p1"].frame_mode == expected_mode and beats["tower.east"].frame_mode == "day"
    assert all("PTZ stuck" in detail for detail in stuck_details.values())
    assert ridge_while_stuck == {"ridge.p1": "online", "ridge.p2": "online", "ridge.p5": "error"}
    assert "HTTP 404" in latest_detail(read_stream(client, redis_config.health_stream), "ridge.p5")
    assert {token for token, _ in ridge.moves} == {"1", "2"}


def latest_detail(events, camera_id: str) -> str:
    return [e.detail for e in events if isinstance(e, HealthEvent) and e.camera_id == camera_id][-1]
