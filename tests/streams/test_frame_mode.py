"""Night and infrared (issue 12): classifying real frames, the mode switch, per-mode thresholds,
and the mode in camera health."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest
import redis

from detector.media import video_frames
from detector.types import Detection
from pinewatch.core.config import ConfigError, FrameModeConfig, ModeOverrides, Settings, load_settings
from pinewatch.core.live import CameraHeartbeat, camera_heartbeat_key, decode_json
from pinewatch.core.messages import DetectionEvent, HealthEvent
from streams import wiring
from streams.frame_mode import CameraModes, ModeSwitch, ModeThresholds, classify, measure
from streams.health import HealthTracker
from streams.worker import run

from .test_worker import read_stream, settings_for

ROOT = Path(__file__).resolve().parents[2]
AFM = ROOT.parent / "shared" / "datasets" / "afm-hpwren-smoke" / "images"
IR_FRAME = "ck0kow7lga3y30701f2yvt2b2.jpeg"  # an HPWREN tower view in IR mode, with a boxed plume
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def day_frame() -> np.ndarray:
    """A real colour tower frame from the clips shipped in the repository."""
    return next(iter(video_frames(ROOT / "sample_videos" / "nosmoke_hpwren_lyons_peak.mp4"))).image()


@pytest.fixture(scope="module")
def ir_frame() -> np.ndarray:
    path = AFM / IR_FRAME
    if not path.is_file():
        pytest.skip("AFM frames under ../shared are not present")
    return cv2.imread(str(path))


def test_real_frames_are_classified(day_frame, ir_frame):
    config = FrameModeConfig()
    assert classify(measure(day_frame), config) == "day"
    assert classify(measure(ir_frame), config) == "night_ir"
    # The same colour view after dark (a colour camera without IR): low light, not IR.
    dusk = (day_frame.astype(np.float32) * 0.2).astype(np.uint8)
    stats = measure(dusk)
    assert stats.channel_spread > config.ir_max_channel_spread and stats.luminance <= config.low_light_max_luminance
    assert classify(stats, config) == "low_light"
    # A greyscale frame decoded to 3 channels, or one single-channel, is IR whatever its brightness.
    grey = cv2.cvtColor(cv2.cvtColor(day_frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert classify(measure(grey), config) == "night_ir"
    assert classify(measure(grey[..., 0]), config) == "night_ir"
    # The thresholds are the config's: a tighter spread limit makes the same IR frame "day".
    assert classify(measure(ir_frame), FrameModeConfig(ir_max_channel_spread=0.0)) == "day"


def test_the_mode_switches_only_after_frames_in_a_row():
    switch = ModeSwitch(3)
    assert switch.update("day") and switch.mode == "day"  # the first frame decides at once
    assert not switch.update("night_ir") and not switch.update("night_ir")
    assert not switch.update("day")  # dusk flickers: the run starts over
    assert [switch.update("night_ir") for _ in range(3)] == [False, False, True]
    assert switch.mode == "night_ir"
    with pytest.raises(ValueError):
        ModeSwitch(0)


def detection(score: float) -> Detection:
    return Detection("smoke", score, (0.4, 0.4, 0.5, 0.5))


def test_each_mode_runs_its_own_thresholds(day_frame, ir_frame):
    settings = Settings(
        detector={"score_threshold": 0.3},
        temporal={"window": 4, "min_hits": 2, "alert_score": 0.3},
        frame_mode={"switch_after": 1, "night_ir": {"score_threshold": 0.2, "alert_score": 0.2, "min_hits": 3}},
    )
    thresholds = ModeThresholds(settings)
    assert thresholds.detector_floor == 0.2  # the shared detector must not drop what a night camera keeps
    judge = wiring.frame_judge(settings.detector, settings.temporal)
    modes = CameraModes(thresholds, judge)
    found = [detection(0.25), detection(0.35)]

    assert modes.observe(day_frame) and modes.mode == "day"
    assert [d.score for d in modes.keep(found)] == [0.35]
    assert judge.judge(modes.keep(found)).kept  # the day vote as configured
    assert judge.vote.params.alert_score == 0.3 and judge.vote.params.min_hits == 2

    assert modes.observe(ir_frame) and modes.mode == "night_ir"
    assert [d.score for d in modes.keep(found)] == [0.25, 0.35]
    judge.judge([])  # the new vote applies from the next frame
    assert judge.vote.params.alert_score == 0.2 and judge.vote.params.min_hits == 3

    assert not modes.observe(ir_frame)
    assert modes.observe(day_frame) and judge.judge([]) is not None
    assert judge.vote.params.alert_score == 0.3 and judge.vote.params.min_hits == 2  # the night layer is gone


def test_a_night_vote_needs_its_hits_within_the_window(tmp_path):
    path = tmp_path / "pinewatch.yaml"
    path.write_text("temporal: {window: 3, min_hits: 2}\nframe_mode: {night_ir: {min_hits: 4}}\n")
    with pytest.raises(ConfigError, match=r"frame_mode.night_ir.min_hits \(4\) must not exceed temporal.window \(3\)"):
        load_settings(path)
    path.write_text("frame_mode: {low_light: {score_threshold: 1.5}}\n")
    with pytest.raises(ConfigError, match=r"frame_mode.low_light.score_threshold"):
        load_settings(path)


def test_health_carries_the_mode_and_reports_its_changes():
    health = HealthTracker("cam", offline_after_s=60, frozen_after=3)
    assert health.frame_mode("night_ir", NOW) is None  # no status yet: the first status event carries it
    first = health.frame(np.zeros((32, 32), np.float32), NOW, NOW)
    assert (first.status, first.frame_mode) == ("online", "night_ir")
    assert health.frame_mode("night_ir", NOW) is None
    change = health.frame_mode("day", NOW)
    assert (change.status, change.frame_mode, change.detail) == ("online", "day", "")
    assert health.snapshot().frame_mode == "day"


def test_a_fault_holds_the_camera_in_error_until_cleared():
    health = HealthTracker("cam", offline_after_s=60, frozen_after=3)
    health.frame(np.zeros((32, 32), np.float32), NOW, NOW)
    event = health.fault("PTZ stuck", NOW)
    assert (event.status, event.detail) == ("error", "PTZ stuck")
    assert health.frame(np.ones((32, 32), np.float32), NOW, NOW) is None  # frames do not clear it
    assert health.status == "error"
    assert health.fault("PTZ stuck", NOW) is None
    assert health.fault(None, NOW).status == "online"


# An IR frame with a boxed plume that the shipped model scores 0.54 (benchmarks/NIGHT.md's frames; it is
# in the model's training split). The shipped model scores every IR smoke frame at 0.25 or more, so no
# real frame tells the night default (0.20) from the day's; a night setting stricter than the frame's
# score does, and shows which values the worker applied.
IR_SMOKE = "ck0qb9rg6tgo40848b6pmbrod.jpeg"
STRICT_NIGHT = {"score_threshold": 0.6, "alert_score": 0.6}


@pytest.mark.slow
@pytest.mark.parametrize(
    "night_ir, alerts", [(None, True), (STRICT_NIGHT, False)], ids=["default-night-thresholds", "stricter-night-thresholds"]
)
def test_the_worker_runs_night_thresholds_on_ir_frames(night_ir, alerts, redis_config, tmp_path):
    source, model = AFM / IR_SMOKE, ROOT / "models" / "pinewatch-smoke.onnx"
    if not source.is_file() or not model.is_file():
        pytest.skip("needs ../shared and the shipped model")
    folder = tmp_path / "ir"
    folder.mkdir()
    for i in range(4):  # four samples a minute apart of the plume
        (folder / f"{1_700_000_000 + 60 * i}.jpg").write_bytes(source.read_bytes())
    settings = settings_for([{"id": "ir", "source": str(folder), "interval_s": 60}], model, redis_config, tmp_path, realtime=False)
    settings.detector.imgsz = 640
    if night_ir is not None:
        settings.frame_mode.night_ir = ModeOverrides(**night_ir)
    run(settings, threading.Event())  # returns when the folder has been played
    client = redis.Redis.from_url(redis_config.url)
    events = read_stream(client, redis_config.detections_stream)
    health = [e for e in read_stream(client, redis_config.health_stream) if isinstance(e, HealthEvent)]
    beat = decode_json(CameraHeartbeat, client.get(camera_heartbeat_key(redis_config.heartbeat_prefix, "ir")))
    assert beat.frame_mode == "night_ir" and health[0].frame_mode == "night_ir"
    assert any(isinstance(e, DetectionEvent) and e.camera_id == "ir" for e in events) == alerts
