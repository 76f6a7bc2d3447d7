"""Fault injection: the worker's disk spool fills up, or the disk itself says ENOSPC.

A full spool refuses new entries (counted, logged) and keeps every older one; nothing it
accepted is lost or repeated once Redis is back, and it takes entries again by itself.
ENOSPC comes from the kernel: the spool's next temporary file is a link to /dev/full.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone

import redis

from pinewatch.core.messages import HealthEvent, decode
from pinewatch.embedded_redis import EmbeddedRedis, free_port
from streams.backoff import Backoff
from streams.publisher import Publisher
from streams.spool import DiskSpool
from tests.streams.conftest import redis_config, redis_server  # noqa: F401 - fixtures

T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)


def health(i: int) -> HealthEvent:
    return HealthEvent(camera_id="cam", at=T0 + timedelta(seconds=i), status="online", detail=f"#{i}")


def details(client: redis.Redis, stream: str) -> list[str]:
    return [decode(fields).detail for _, fields in client.xrange(stream)]


def test_a_full_spool_refuses_new_entries_and_loses_none_it_took(redis_config, tmp_path):
    port = free_port()  # Redis is down: nothing listens here yet
    config = redis_config.model_copy(update={"url": f"redis://127.0.0.1:{port}/0", "spool_max_bytes": 4096})
    publisher = Publisher(config, heartbeat_ttl_s=5, backoff=Backoff(0.05, 0.2))
    server = None
    try:
        accepted = [publisher.publish(health(i)) for i in range(40)]
        kept = accepted.count(True)
        assert 3 <= kept < 40 and accepted == [True] * kept + [False] * (40 - kept)  # the oldest are kept
        assert publisher.spool.refused == 40 - kept
        assert len(list(config.spool_dir.glob("*.json"))) == kept and publisher.spool.bytes <= 4096

        server = EmbeddedRedis(data_dir=tmp_path / "redis", port=port).start()  # Redis comes back
        assert publisher.wait_until_sent(10)
        client = redis.Redis.from_url(server.url)
        assert details(client, config.health_stream) == [f"#{i}" for i in range(kept)]  # each once, in order
        assert publisher.publish(health(100))  # room again, without a restart
        assert publisher.wait_until_sent(5)
        assert details(client, config.health_stream)[-1] == "#100" and client.xlen(config.health_stream) == kept + 1
        client.close()
    finally:
        publisher.close(timeout_s=1)
        if server is not None:
            server.stop()


def test_enospc_is_a_refusal_not_a_crash(tmp_path, caplog):
    spool = DiskSpool(tmp_path / "spool", max_bytes=1_000_000)
    try:
        assert spool.append("s", {"n": "1"})
        os.symlink("/dev/full", spool.directory / f"{2:016d}.tmp")  # the next write meets a full disk
        with caplog.at_level(logging.ERROR, logger="streams.spool"):
            assert spool.append("s", {"n": "2"}) is False
        assert spool.refused == 1 and "No space left on device" in caplog.text
        assert not list(spool.directory.glob("*.tmp"))  # no half-written entry left behind
        assert spool.append("s", {"n": "3"})  # the disk has room again: accepted at once
        assert [e.fields["n"] for e in spool.oldest(10)] == ["1", "3"]
        assert len(spool) == 2 and spool.bytes == sum(p.stat().st_size for p in spool.directory.glob("*.json"))
    finally:
        spool.close()
    reopened = DiskSpool(tmp_path / "spool", max_bytes=1_000_000)  # and after a restart
    assert [e.fields["n"] for e in reopened.oldest(10)] == ["1", "3"]
    reopened.close()


def test_a_refusal_episode_logs_its_first_refusal_then_once_a_minute(tmp_path, caplog, monkeypatch):
    from streams import spool as spool_module

    spool = DiskSpool(tmp_path / "spool", max_bytes=200)
    clock = [1000.0]
    monkeypatch.setattr(spool_module.time, "monotonic", lambda: clock[0])
    try:
        assert spool.append("s", {"n": "1"})
        with caplog.at_level(logging.WARNING, logger="streams.spool"):
            for _ in range(500):  # a long outage: the spool stays full
                assert spool.append("s", {"n": "x" * 200}) is False
            clock[0] += spool_module.REFUSAL_LOG_EVERY_S
            assert spool.append("s", {"n": "x" * 200}) is False
            spool.remove(spool.oldest(1))  # Redis took the entry: room again
            assert spool.append("s", {"n": "2"})
        lines = [r.getMessage() for r in caplog.records]
        assert spool.refused == 501 and len(lines) == 3, lines
        assert "(1 in this episode, 1 since start)" in lines[0]
        assert "(501 in this episode, 501 since start)" in lines[1]
        assert "accepts entries again after refusing 501" in lines[2]
    finally:
        spool.close()
