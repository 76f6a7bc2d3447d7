"""Fault injection: `pinewatch run` killed with SIGKILL mid-stream (Redis up, or Redis down so
that the kill finds events in the spool), and a detector pool process killed mid-batch.

The camera is a folder of red frames whose capture times are in their names, so a run is
deterministic: the temporal vote confirms every frame from the `min_hits`-th on, and the
events' ids follow from the names. A restart replays the folder from the start (the same ids
again) and the spool from before; the alerting consumer must end with exactly the expected
events, each stored once, in one alert, and nothing dead-lettered.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis
import yaml

from alerting.consumer import StreamConsumer
from alerting.ingest import Rules
from alerting.store.db import session_factory
from alerting.store.repository import upsert_cameras
from pinewatch.core.config import TemporalConfig
from pinewatch.embedded_redis import free_port
from streams.evidence import event_id
from tests.streams.conftest import colour_model, jpeg, scene  # noqa: F401 - fixture

from .faults import store_counts, wait_for

pytestmark = pytest.mark.slow

FRAMES = 30
INTERVAL_S = 0.06
CAMERA = {"id": "ridge", "name": "Ridge"}


@pytest.fixture
def red_folder(tmp_path) -> tuple[Path, list[datetime]]:
    import numpy as np

    folder = tmp_path / "frames"
    folder.mkdir()
    start = int(time.time()) - 3600
    rng = np.random.default_rng(3)
    times = []
    for i in range(FRAMES):
        (folder / f"{start + i}_+00000.jpg").write_bytes(jpeg(scene(rng, red=True)))
        times.append(datetime.fromtimestamp(start + i, tz=timezone.utc))
    return folder, times


def _config(tmp_path, redis_url: str, folder: Path, model: Path, pool_workers: int = 0) -> Path:
    config = {
        "redis": {"url": redis_url, "spool_dir": str(tmp_path / "spool"), "socket_timeout_s": 1.0},
        "detector": {"model_path": str(model), "imgsz": 64, "threads": 1, "pool_workers": pool_workers, "batch_wait_ms": 0},
        "streams": {"evidence_dir": str(tmp_path / "evidence"), "loop": False, "reconnect_min_s": 0.05, "reconnect_max_s": 0.2},
        "cameras": [{**CAMERA, "source": str(folder), "interval_s": INTERVAL_S}],
    }
    path = tmp_path / f"run-{redis_url.rsplit(':', 1)[1].split('/')[0]}-{pool_workers}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _start(config: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pinewatch.cli", "run", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _pool_processes(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


@pytest.mark.parametrize("victim", ["worker", "worker-while-redis-down", "detector-pool-process"])
def test_killed_mid_stream_then_restarted_loses_and_repeats_nothing(
    victim, tmp_path, red_folder, colour_model, redis_url, make_settings, sqlite_engine
):
    folder, times = red_folder
    settings = make_settings(cameras=[{**CAMERA, "source": "x"}], alerting={"read_block_ms": 100})
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    factory = session_factory(sqlite_engine)
    upsert_cameras(factory, settings.cameras)
    consumer = StreamConsumer(client, factory, settings.redis, settings.alerting, Rules.from_config(settings.alerting), None, "c1")
    stop = threading.Event()
    consuming = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    consuming.start()
    spool = tmp_path / "spool"
    pool = 1 if victim == "detector-pool-process" else 0
    down_url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    first = _start(_config(tmp_path, down_url if victim == "worker-while-redis-down" else redis_url, folder, colour_model, pool))
    second = None
    try:
        if victim == "worker":
            wait_for(lambda: client.xlen(settings.redis.detections_stream) >= 10, 30, "the first detections in Redis")
            first.send_signal(signal.SIGKILL)
            assert first.wait(10) == -signal.SIGKILL
        elif victim == "worker-while-redis-down":
            wait_for(lambda: len(list(spool.glob("*.json"))) >= 10, 30, "detections waiting in the spool")
            first.send_signal(signal.SIGKILL)
            assert first.wait(10) == -signal.SIGKILL
            assert len(list(spool.glob("*.json"))) >= 10  # the kill found them there: the restart must send them
        else:
            wait_for(lambda: client.xlen(settings.redis.detections_stream) >= 5, 30, "the first detections in Redis")
            [process] = _pool_processes(first.pid)
            os.kill(process, signal.SIGKILL)
            output, _ = first.communicate(timeout=20)
            assert first.returncode == 3, output  # not running blind: stops, for its service manager to restart
            assert f"pid {process}) killed by signal 9" in output and "stopping so that the worker is restarted" in output
        second = _start(_config(tmp_path, redis_url, folder, colour_model, pool))  # as the service manager would
        output, _ = second.communicate(timeout=60)
        assert second.returncode == 0, output
        assert not list(spool.glob("*.json"))

        temporal = TemporalConfig()
        expected = {event_id(CAMERA["id"], t) for t in times[temporal.min_hits - 1:]}
        wait_for(lambda: store_counts(factory)[0] == len(expected), 20, f"{len(expected)} events in the store")
        time.sleep(0.3)
        assert store_counts(factory) == (len(expected), len(expected), 1)  # each event once, one alert
        published = [json.loads(f[b"payload"])["event_id"] for _, f in client.xrange(settings.redis.detections_stream)]
        assert set(published) == expected
        assert client.xlen(settings.redis.dead_letter_stream) == 0
        assert client.xpending(settings.redis.detections_stream, settings.alerting.consumer_group)["pending"] == 0
    finally:
        stop.set()
        consuming.join(5)
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
        client.close()
