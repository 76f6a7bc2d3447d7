"""Fault injection: Redis (with AOF, as every shipped deployment runs it) is killed with
SIGKILL in the middle of a stream of detections and started again on the same port and data
directory. The worker's publisher and the alerting consumer are not restarted: they must
notice and carry on by themselves, and the store must hold every event exactly once."""

from __future__ import annotations

import json
import threading
import time

import pytest
import redis

from alerting.consumer import StreamConsumer
from alerting.ingest import Rules
from alerting.metrics import Metrics
from alerting.store.db import session_factory
from alerting.store.repository import upsert_cameras
from pinewatch.embedded_redis import EmbeddedRedis
from streams.backoff import Backoff
from streams.publisher import Publisher

from .faults import detections, store_counts, wait_for

pytestmark = pytest.mark.slow

EVENTS = 160
KILL_AFTER = 60


def test_redis_killed_mid_stream_loses_and_repeats_nothing(tmp_path, make_settings, sqlite_engine):
    server = EmbeddedRedis(data_dir=tmp_path / "redis", appendonly=True).start()
    settings = make_settings(
        redis={"url": server.url, "spool_dir": str(tmp_path / "spool"), "socket_timeout_s": 1.0},
        alerting={"read_block_ms": 100},
    )
    factory = session_factory(sqlite_engine)
    upsert_cameras(factory, settings.cameras)
    metrics = Metrics()
    consumer_client = redis.Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=2)
    consumer = StreamConsumer(
        consumer_client, factory, settings.redis, settings.alerting, Rules.from_config(settings.alerting), metrics, "c1"
    )
    stop = threading.Event()
    consuming = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    consuming.start()
    publisher = Publisher(settings.redis, heartbeat_ttl_s=5, backoff=Backoff(0.05, 0.5))
    events = detections("tower-c", EVENTS)
    try:
        for i, event in enumerate(events):
            if i == KILL_AFTER:
                wait_for(lambda: store_counts(factory)[0] >= KILL_AFTER // 2, 20, "the consumer is under way")
                server.process.kill()  # SIGKILL: no shutdown, no final AOF rewrite
                server.process.wait()
            if i == KILL_AFTER + 30:  # 30 events published while Redis was gone: they wait in the spool
                assert not publisher.redis_up and publisher.pending > 0
                server = EmbeddedRedis(data_dir=tmp_path / "redis", port=server.port, appendonly=True).start()
            assert publisher.publish(event)
            time.sleep(0.003)
        wait_for(lambda: store_counts(factory)[0] == EVENTS, 30, f"all {EVENTS} events in the store")
        assert publisher.wait_until_sent(5) and publisher.redis_up
        time.sleep(0.5)  # any late redelivery would show now
        processed, frames, alerts = store_counts(factory)
        assert (processed, frames, alerts) == (EVENTS, EVENTS, 1)
        check = redis.Redis.from_url(server.url)
        stream = settings.redis.detections_stream
        assert check.xpending(stream, settings.alerting.consumer_group)["pending"] == 0
        assert check.xlen(settings.redis.dead_letter_stream) == 0
        counted = {o: metrics.messages.labels(stream, o)._value.get() for o in ("processed", "duplicate", "dead_letter")}
        # At least once: an entry committed but not acknowledged when Redis died comes back and is
        # recognised as a duplicate; so does anything the publisher repeated. Never stored twice.
        assert counted["processed"] + counted["duplicate"] >= EVENTS and counted["dead_letter"] == 0
        ids = [json.loads(fields[b"payload"])["event_id"] for _, fields in check.xrange(stream)]
        assert set(ids) == {e.event_id for e in events}
        check.close()
    finally:
        stop.set()
        consuming.join(5)
        publisher.close(timeout_s=1)
        consumer_client.close()
        server.stop()
