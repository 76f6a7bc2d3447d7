"""`pinewatch run --config FILE` as the demo starts it: a subprocess stopped with SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import redis
import yaml

from pinewatch.core.messages import decode

from .conftest import SAMPLE_VIDEOS

pytestmark = pytest.mark.slow


def write_config(tmp_path, redis_config, model, **extra) -> str:
    config = {
        "redis": {**redis_config.model_dump(mode="json")},
        "detector": {"model_path": str(model), "imgsz": 64, "threads": 1},
        "streams": {"evidence_dir": str(tmp_path / "evidence"), "realtime": True, "loop": True},
        "cameras": [
            {"id": "demo1", "source": str(SAMPLE_VIDEOS / "smoke_hpwren_mixed.mp4"), "interval_s": 0.5},
            {"id": "demo2", "source": str(SAMPLE_VIDEOS / "nosmoke_alertwildfire_clouds.mp4"), "interval_s": 0.5},
        ],
        **extra,
    }
    path = tmp_path / "pinewatch.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_run_serves_video_cameras_and_stops_cleanly_on_sigterm(tmp_path, redis_config, colour_model):
    config = write_config(tmp_path, redis_config, colour_model)
    client = redis.Redis.from_url(redis_config.url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pinewatch.cli", "run", "--config", config],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        online = set()
        while time.monotonic() < deadline and online != {"demo1", "demo2"}:
            online = {e.camera_id for _, f in client.xrange(redis_config.health_stream) if (e := decode(f)).status == "online"}
            time.sleep(0.2)
        assert online == {"demo1", "demo2"}
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert "colour.onnx" in output and "CPUExecutionProvider" in output
    assert "signal SIGTERM: stopping" in output and "stopped" in output


def test_run_reports_a_bad_config_and_a_missing_model(tmp_path, redis_config, colour_model):
    bad = write_config(tmp_path, redis_config, colour_model, streams={"offline_after_s": -1})
    result = subprocess.run([sys.executable, "-m", "pinewatch.cli", "run", "--config", bad], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "streams.offline_after_s" in result.stderr

    missing = write_config(tmp_path, redis_config, tmp_path / "nope.onnx")
    result = subprocess.run([sys.executable, "-m", "pinewatch.cli", "run", "--config", missing], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "model file not found" in result.stderr
