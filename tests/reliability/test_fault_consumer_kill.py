"""Fault injection: `pinewatch serve` killed with SIGKILL while it holds stream entries it has
read but not acknowledged (the database was locked, so none could be stored).

Another consumer (another name, as a replica or the restarted pod) must claim them once they
have been idle `claim_idle_ms`, and store each exactly once, by itself."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading

import pytest
import redis
import yaml

from alerting.consumer import StreamConsumer
from alerting.ingest import Rules
from alerting.store.db import make_engine, session_factory
from pinewatch.core.config import load_settings
from pinewatch.core.messages import encode

from .faults import detections, store_counts, wait_for

pytestmark = pytest.mark.slow

HELD, LATER = 20, 10


def _serve(config) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pinewatch.cli", "serve", "--no-api", "--no-dispatcher", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_entries_pending_with_a_killed_consumer_are_claimed_and_stored_once(tmp_path, redis_url):
    database = tmp_path / "alerts.db"
    settings = {
        "redis": {"url": redis_url, "detections_stream": "kill:detections", "health_stream": "kill:health",
                  "dead_letter_stream": "kill:dead"},
        "alerting": {"database_url": f"sqlite:///{database}", "read_block_ms": 100, "claim_idle_ms": 1000},
        "cameras": [{"id": "tower-c", "name": "Tower C", "source": "c.mp4"}],
    }
    config = tmp_path / "serve.yaml"
    config.write_text(yaml.safe_dump(settings))
    client = redis.Redis.from_url(redis_url)
    client.delete("kill:detections", "kill:health", "kill:dead")
    stream, group = "kill:detections", "alerting"
    events = detections("tower-c", HELD + LATER)
    first = _serve(config)
    second = None
    stop = threading.Event()
    lock = None
    try:
        wait_for(lambda: any(g["name"] == group.encode() for g in _groups(client, stream)), 30, "the consumer group")
        lock = sqlite3.connect(database, timeout=5, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # the store cannot commit: entries stay unacknowledged
        batch = client.pipeline(transaction=True)  # one MULTI: the waiting XREADGROUP gets them all at once
        for event in events[:HELD]:
            batch.xadd(stream, encode(event))
        batch.execute()
        wait_for(lambda: client.xpending(stream, group)["pending"] == HELD, 20, "all entries delivered, none acknowledged")
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        lock.execute("ROLLBACK")
        lock.close()
        lock = None

        # The replacement (another replica, or the restarted pod): a consumer with another name,
        # run in this process to spare a second start-up. It must claim the dead one's entries.
        loaded = load_settings(config)
        factory = session_factory(make_engine(f"sqlite:///{database}"))
        replacement = StreamConsumer(
            redis.Redis.from_url(redis_url), factory, loaded.redis, loaded.alerting, Rules.from_config(loaded.alerting), None, "replacement"
        )
        second = threading.Thread(target=replacement.run, args=(stop,), daemon=True)
        second.start()
        for event in events[HELD:]:
            client.xadd(stream, encode(event))
        wait_for(lambda: store_counts(factory)[0] == HELD + LATER, 30, "every entry stored")
        wait_for(lambda: client.xpending(stream, group)["pending"] == 0, 10, "every entry acknowledged")
        assert store_counts(factory) == (HELD + LATER, HELD + LATER, 1)
        assert client.xlen("kill:dead") == 0
        consumers = {c["name"].decode(): c["pending"] for c in client.xinfo_consumers(stream, group)}
        assert len(consumers) == 2 and set(consumers.values()) == {0}
    finally:
        if lock is not None:
            lock.close()
        stop.set()
        if second is not None:
            second.join(5)
        if first.poll() is None:
            first.kill()
            first.communicate()
        client.close()


def _groups(client: redis.Redis, stream: str) -> list[dict]:
    try:
        return client.xinfo_groups(stream)
    except redis.ResponseError:
        return []
