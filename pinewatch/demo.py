"""Everything on one machine: a private Redis, SQLite, the alerting API and stream
workers on the clips in sample_videos/, started as child processes and stopped
together (no orphans).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pinewatch.core.config import SAMPLE_VIDEOS_DIR
from pinewatch.embedded_redis import EmbeddedRedis, free_port

SAMPLE_VIDEOS = SAMPLE_VIDEOS_DIR  # package data when installed, sample_videos/ in a checkout

# Demo placements only (the clips come from Californian cameras): they let the
# demo show bearings on a map of Thanh Hoa. Real deployments configure real towers.
_DEMO_TOWERS = [
    {"latitude": 19.80, "longitude": 105.62, "azimuth_deg": 90.0, "fov_deg": 60.0},
    {"latitude": 19.86, "longitude": 105.70, "azimuth_deg": 180.0, "fov_deg": 60.0},
    {"latitude": 19.74, "longitude": 105.71, "azimuth_deg": 0.0, "fov_deg": 60.0},
]


@dataclass
class DemoOptions:
    port: int = 8000
    host: str = "127.0.0.1"  # 0.0.0.0 in a container, so the published port reaches it
    duration_s: float | None = None
    open_browser: bool = True
    videos: Path = SAMPLE_VIDEOS
    work_dir: Path | None = None
    interval_s: float = 1.0


def _die_with_parent() -> None:
    """Runs in the child before exec: on Linux, ask the kernel to SIGTERM it when the demo dies.

    Children get their own session (so stopping one stops its own children), which also
    means a demo killed with SIGKILL would leave them running; the death signal closes that.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class _Children:
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, args: list[str], env: dict, log: Path) -> subprocess.Popen:
        handle = open(log, "ab")
        # A new session per child, so that stopping it stops its own children too.
        proc = subprocess.Popen(
            args, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent
        )
        self.processes.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.processes:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def demo_config(videos: Path, work_dir: Path, redis_url: str, port: int, token: str, interval_s: float, host: str = "127.0.0.1") -> dict:
    clips = sorted(p for p in videos.iterdir() if p.suffix.lower() in {".mp4", ".mkv", ".avi", ".mov"})
    if not clips:
        raise FileNotFoundError(f"no video clips in {videos}")
    cameras = []
    for i, clip in enumerate(clips):
        camera = {"id": clip.stem.replace(" ", "_"), "name": f"Demo tower {i + 1} ({clip.stem})", "source": str(clip.resolve()), "interval_s": interval_s}
        camera.update(_DEMO_TOWERS[i % len(_DEMO_TOWERS)])
        cameras.append(camera)
    return {
        "redis": {"url": redis_url, "spool_dir": str(work_dir / "spool")},
        "streams": {"evidence_dir": str(work_dir / "evidence"), "realtime": True, "loop": True},
        "alerting": {"database_url": f"sqlite:///{work_dir / 'pinewatch.db'}", "public_base_url": f"http://127.0.0.1:{port}"},
        "api": {"host": host, "port": port, "bootstrap_token": token},
        "cameras": cameras,
    }


def _get_json(url: str, token: str) -> dict | None:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _wait_ready(base: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the alerting service exited during start-up")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError("the alerting service did not become ready in time")


def run_demo(options: DemoOptions) -> int:
    work_dir = Path(options.work_dir or tempfile.mkdtemp(prefix="pinewatch-demo-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    port = options.port or free_port()
    token = secrets.token_urlsafe(24)
    children = _Children()
    redis_server: EmbeddedRedis | None = None
    redis_url = os.environ.get("REDIS_URL", "")
    stop_requested = False

    def _request_stop(signum, frame):  # SIGTERM behaves like Ctrl-C
        nonlocal stop_requested
        stop_requested = True

    previous_term = signal.signal(signal.SIGTERM, _request_stop)
    try:
        if not redis_url:
            redis_server = EmbeddedRedis(data_dir=work_dir / "redis").start()
            redis_url = redis_server.url
        config_path = work_dir / "pinewatch.yaml"
        config_path.write_text(yaml.safe_dump(demo_config(options.videos, work_dir, redis_url, port, token, options.interval_s, options.host), sort_keys=False))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PINEWATCH_")}
        env["PYTHONUNBUFFERED"] = "1"
        cli = [sys.executable, "-m", "pinewatch.cli"]
        serve = children.start([*cli, "serve", "--config", str(config_path)], env, work_dir / "serve.log")
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, serve)
        children.start([*cli, "run", "--config", str(config_path)], env, work_dir / "run.log")
        print(f"pinewatch demo: {base}/ token={token}", flush=True)
        print(f"(logs and data in {work_dir}; Ctrl-C stops everything)", flush=True)
        if options.open_browser and (os.environ.get("DISPLAY") or sys.platform == "darwin"):
            import webbrowser

            webbrowser.open(f"{base}/?token={token}")
        started = time.monotonic()
        seen: dict[int, str] = {}
        while not stop_requested:
            if options.duration_s is not None and time.monotonic() - started >= options.duration_s:
                break
            for proc in children.processes:
                if proc.poll() is not None:
                    print(f"pinewatch demo: a child process exited with {proc.returncode}; see logs in {work_dir}", file=sys.stderr)
                    return 1
            page = _get_json(f"{base}/api/alerts?limit=50", token) or {"items": []}
            for alert in reversed(page["items"]):
                # A new alert, a status change or a higher score is news; another frame is not.
                fingerprint = f"{alert['status']}:{alert['label']}:{alert['score']:.2f}"
                if seen.get(alert["id"]) == fingerprint:
                    continue
                verb = "ALERT" if alert["id"] not in seen else "update"
                seen[alert["id"]] = fingerprint
                print(
                    f"{verb} #{alert['id']}: camera={alert['camera_id']} label={alert['label']} "
                    f"score={alert['score']:.2f} first_seen={alert['first_seen']} last_seen={alert['last_seen']} "
                    f"frames={alert['frame_count']} status={alert['status']}",
                    flush=True,
                )
            time.sleep(1.0)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        children.stop()
        if redis_server is not None:
            redis_server.stop()
        signal.signal(signal.SIGTERM, previous_term)
        print("pinewatch demo: stopped", flush=True)
