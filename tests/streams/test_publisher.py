"""Publishing through the disk spool to a real Redis: in order, bounded, nothing lost when Redis is down."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import redis

from pinewatch.embedded_redis import EmbeddedRedis
from pinewatch.core.messages import HealthEvent, decode
from streams.backoff import Backoff
from streams.publisher import Publisher
from streams.spool import DiskSpool, SpoolLocked

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def health(i: int) -> HealthEvent:
    return HealthEvent(camera_id=f"cam{i % 3}", at=T0 + timedelta(seconds=i), status="online", detail=f"#{i}")


def stream_details(client: redis.Redis, stream: str) -> list[str]:
    return [decode(fields).detail for _, fields in client.xrange(stream)]


def publisher(config) -> Publisher:
    return Publisher(config, heartbeat_ttl_s=5, backoff=Backoff(0.05, 0.2))


def test_messages_reach_their_streams_in_order_and_heartbeats_expire(redis_config):
    client = redis.Redis.from_url(redis_config.url)
    pub = publisher(redis_config)
    for i in range(20):
        assert pub.publish(health(i))
    pub.heartbeat("cam1", {"status": "online"})
    assert pub.wait_until_sent(5)
    pub.close()
    assert stream_details(client, redis_config.health_stream) == [f"#{i}" for i in range(20)]
    key = f"{redis_config.heartbeat_prefix}cam1"
    assert json.loads(client.get(key)) == {"status": "online"}
    assert 0 < client.ttl(key) <= 5
    assert not list(redis_config.spool_dir.glob("*.json"))


def test_redis_down_then_up_loses_nothing_and_keeps_order(redis_config):
    first = EmbeddedRedis(appendonly=False).start()
    config = redis_config.model_copy(update={"url": first.url})
    pub = publisher(config)
    second = None
    try:
        for i in range(5):
            pub.publish(health(i))
        assert pub.wait_until_sent(5)
        first.stop()  # Redis goes away
        for i in range(5, 40):
            pub.publish(health(i))
        time.sleep(0.5)
        assert not pub.redis_up
        assert len(list(config.spool_dir.glob("*.json"))) == 35  # on disk, waiting
        second = EmbeddedRedis(port=first.port, appendonly=False).start()  # back, on the same port
        assert pub.wait_until_sent(10)
        assert pub.redis_up
        # The restarted Redis started empty: what it holds is exactly what was spooled, in order.
        client = redis.Redis.from_url(second.url)
        assert stream_details(client, config.health_stream) == [f"#{i}" for i in range(5, 40)]
        assert not list(config.spool_dir.glob("*.json"))
    finally:
        pub.close(timeout_s=1)
        first.stop()
        if second is not None:
            second.stop()


def test_spooled_messages_survive_a_worker_restart(redis_config):
    dead = redis_config.model_copy(update={"url": "redis://127.0.0.1:1/0"})  # nothing listens on port 1
    first = publisher(dead)
    for i in range(7):
        first.publish(health(i))
    first.close(timeout_s=1)  # the worker stops while Redis is unreachable
    second = publisher(redis_config)  # next start, Redis reachable
    assert second.wait_until_sent(5)
    second.close()
    client = redis.Redis.from_url(redis_config.url)
    assert stream_details(client, redis_config.health_stream) == [f"#{i}" for i in range(7)]


def test_the_spool_is_bounded_and_refuses_rather_than_drops_old_entries(tmp_path):
    spool = DiskSpool(tmp_path, max_bytes=1024)
    accepted = [spool.append("s", {"payload": "x" * 200}) for _ in range(8)]
    assert accepted[:3] == [True] * 3 and accepted[-1] is False  # ~275 bytes each
    assert spool.refused == accepted.count(False) and spool.bytes <= 1024
    oldest = spool.oldest(2)
    spool.remove(oldest)
    assert spool.append("s", {"payload": "y"})  # room again
    assert [e.fields["payload"][0] for e in spool.oldest(10)][-1] == "y"
    spool.close()


def test_one_spool_directory_one_owner(tmp_path):
    owner = DiskSpool(tmp_path, max_bytes=10_000)
    with pytest.raises(SpoolLocked, match="spool_dir"):
        DiskSpool(tmp_path, max_bytes=10_000)
    owner.close()
    DiskSpool(tmp_path, max_bytes=10_000).close()


def test_an_entry_redis_refuses_is_set_aside_not_retried_forever(redis_config):
    client = redis.Redis.from_url(redis_config.url)
    client.set(redis_config.health_stream, "not a stream")  # XADD will fail with WRONGTYPE
    pub = publisher(redis_config)
    pub.publish(health(1))
    assert pub.wait_until_sent(5)
    pub.close()
    assert len(list((redis_config.spool_dir / "rejected").glob("*.json"))) == 1
