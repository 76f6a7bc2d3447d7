"""The whole path on a real clip: `pinewatch demo` with a real Redis, the real model,
SQLite and the API; then what `pinewatch scan --json` prints."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import cv2
import pytest

from pinewatch.core.config import DetectorConfig

ROOT = Path(__file__).resolve().parents[1]
SMOKE_CLIP = ROOT / "sample_videos" / "smoke_hpwren_mixed.mp4"
READY = re.compile(r"^pinewatch demo: (http://127\.0\.0\.1:(\d+))/ token=(\S+)$")


def _get(url: str, token: str | None = None) -> tuple[int, bytes, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers.get("content-type", "")


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.slow
def test_demo_raises_smoke_alert_reachable_through_api(tmp_path):
    if not DetectorConfig().model_path.exists():
        pytest.fail(f"the shipped model {DetectorConfig().model_path} is missing")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINEWATCH_") and k != "REDIS_URL"}
    env["PYTHONUNBUFFERED"] = "1"
    demo = subprocess.Popen(
        [sys.executable, "-m", "pinewatch.cli", "demo", "--port", "0", "--duration", "240", "--no-browser"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
        # As from a terminal: a suite started in the background inherits an ignored SIGINT, and
        # Python then installs no Ctrl-C handler, so the SIGINT below would do nothing.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: list[str] = []
    try:
        base = token = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and base is None:
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = READY.match(line.strip())
            if match:
                base, token = match.group(1), match.group(3)
        assert base, "no ready line:\n" + "".join(lines)
        children = _children_of(demo.pid)
        assert len(children) >= 3  # redis-server, serve, run

        # No token, or a wrong one: 401 everywhere but /healthz.
        assert _get(f"{base}/healthz")[0] == 200
        assert _get(f"{base}/api/alerts")[0] == 401
        assert _get(f"{base}/api/alerts", "not-a-token")[0] == 401
        assert _get(f"{base}/api/cameras")[0] == 401

        smoke_alert = None
        ready_at = time.monotonic()
        while time.monotonic() - ready_at < 60 and smoke_alert is None:
            status, body, _ = _get(f"{base}/api/alerts", token)
            assert status == 200
            items = json.loads(body)["items"]
            smoke_alert = next((a for a in items if a["camera_id"] == "smoke_hpwren_mixed" and a["label"] == "smoke"), None)
            time.sleep(1)
        assert smoke_alert, "no smoke alert within a minute of the ready line:\n" + "".join(lines)
        assert 0 < smoke_alert["score"] <= 1
        assert datetime.fromisoformat(smoke_alert["first_seen"]).tzinfo is not None
        # The smoke-free clips raise nothing.
        items = json.loads(_get(f"{base}/api/alerts", token)[1])["items"]
        assert not [a for a in items if a["camera_id"].startswith("nosmoke")]

        status, body, content_type = _get(f"{base}/api/alerts/{smoke_alert['id']}", token)
        assert status == 200 and json.loads(body)["frames"]
        assert _get(base + smoke_alert["evidence_url"])[0] == 401
        status, image, content_type = _get(base + smoke_alert["evidence_url"], token)
        assert status == 200 and content_type.startswith("image/jpeg")
        decoded = cv2.imdecode(__import__("numpy").frombuffer(image, "uint8"), cv2.IMREAD_COLOR)
        assert decoded is not None and decoded.shape[1] == 640

        cameras = json.loads(_get(f"{base}/api/cameras", token)[1])["items"]
        assert {c["id"] for c in cameras} >= {"smoke_hpwren_mixed", "nosmoke_hpwren_lyons_peak"}
    finally:
        if demo.poll() is None:
            os.kill(demo.pid, signal.SIGINT)
        try:
            rest, _ = demo.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            rest, _ = demo.communicate()
        lines.append(rest or "")
    output = "".join(lines)
    assert demo.returncode == 0, output
    assert "ALERT #" in output and "camera=smoke_hpwren_mixed" in output
    assert "pinewatch demo: stopped" in output
    for pid in children:  # no orphans: Redis and both services are gone
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def _smoke_frames_as_dated_images(folder: Path, first: int, count: int) -> list[Path]:
    capture = cv2.VideoCapture(str(SMOKE_CLIP))
    paths, index = [], 0
    while len(paths) < count:
        ok, frame = capture.read()
        assert ok, "the smoke clip ended early"
        if index >= first:
            path = folder / f"{1532815026 + 60 * len(paths)}_{60 * len(paths):+06d}.jpg"
            cv2.imwrite(str(path), frame)
            paths.append(path)
        index += 1
    capture.release()
    return paths


@pytest.mark.slow
def test_scan_json_format_on_an_image_folder(tmp_path):
    frames = _smoke_frames_as_dated_images(tmp_path, first=6, count=10)
    (tmp_path / "notes.txt").write_text("not an image")
    result = subprocess.run(
        [sys.executable, "-m", "pinewatch.cli", "scan", str(tmp_path), "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    frame_records = [r for r in records if r["type"] == "frame"]
    alerts = [r for r in records if r["type"] == "alert"]
    assert [r["index"] for r in frame_records] == list(range(len(frames)))
    assert [r["file"] for r in frame_records] == [p.name for p in frames]
    for record in frame_records:
        assert set(record) == {"type", "index", "file", "timestamp", "detections"}
        assert datetime.fromisoformat(record["timestamp"]).timestamp() == int(record["file"].split("_")[0])
        for det in record["detections"]:
            assert set(det) == {"label", "score", "box"} and det["label"] in {"smoke", "fire"}
            x1, y1, x2, y2 = det["box"]
            assert 0 <= x1 <= x2 <= 1 and 0 <= y1 <= y2 <= 1 and 0 < det["score"] <= 1
    assert alerts, "the smoke frames raised no alert"
    alert = alerts[0]
    assert set(alert) == {"type", "index", "file", "timestamp", "label", "score", "box"}
    assert alert["label"] == "smoke"
    # The alert comes on a frame that itself has a detection at the alert's box.
    assert alert["box"] in [d["box"] for d in frame_records[alert["index"]]["detections"]]


def test_scan_video_timestamps_follow_position_and_interval(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pinewatch.cli", "scan", str(SMOKE_CLIP), "--json", "--interval", "10"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    frames = [json.loads(line) for line in result.stdout.splitlines() if '"frame"' in line]
    assert len(frames) == 5  # 44 s at 1 fps, one frame per 10 s
    stamps = [datetime.fromisoformat(f["timestamp"]) for f in frames]
    assert [round((b - a).total_seconds()) for a, b in zip(stamps, stamps[1:])] == [10, 10, 10, 10]
    assert all(f["file"] is None for f in frames)


def test_scan_missing_path_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pinewatch.cli", "scan", str(tmp_path / "absent.mp4")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "no such file" in result.stderr
