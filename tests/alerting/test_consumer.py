"""The stream consumer against a real Redis and real SQLite / PostgreSQL stores."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select

from alerting.consumer import StreamConsumer, stream_groups
from alerting.ingest import Rules, ingest_detection
from alerting.metrics import Metrics
from alerting.store.db import make_engine, session_factory
from alerting.store.models import Alert, AlertFrame, Camera
from alerting.store.repository import upsert_cameras
from pinewatch.core.messages import encode
from tests.alerting.helpers import at, detection, health


@pytest.fixture
def settings(make_settings):
    return make_settings()


def consumer_for(redis_client, factory, settings, name, metrics=None) -> StreamConsumer:
    consumer = StreamConsumer(
        redis_client, factory, settings.redis, settings.alerting, Rules.from_config(settings.alerting), metrics, name
    )
    consumer.ensure_groups()
    return consumer


def publish(redis_client, settings, message) -> str:
    stream = settings.redis.detections_stream if message.type == "detection" else settings.redis.health_stream
    return redis_client.xadd(stream, encode(message)).decode()


def drain(consumer: StreamConsumer, rounds: int = 20) -> None:
    """Poll until a round finds nothing to do."""
    for _ in range(rounds):
        if consumer.poll_once(block_ms=50) == 0:
            return
    raise AssertionError("the consumer kept finding work")


def pending(redis_client, stream, group) -> int:
    return redis_client.xpending(stream, group)["pending"]


def alerts(factory) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(Alert))


@pytest.fixture
def ready(factory, settings):
    upsert_cameras(factory, [c for c in settings.cameras])


def test_detections_and_health_are_stored_then_acknowledged(redis_client, factory, settings, ready):
    metrics = Metrics()
    consumer = consumer_for(redis_client, factory, settings, "c1", metrics)
    publish(redis_client, settings, detection("tower-a", at(0)))
    publish(redis_client, settings, detection("tower-a", at(1)))
    publish(redis_client, settings, health("tower-a", "offline", at(2), "no frames for 60 s"))
    drain(consumer)
    assert alerts(factory) == 1
    with factory() as session:
        assert session.get(Camera, "tower-a").status == "offline"
    for stream in consumer.streams:
        assert pending(redis_client, stream, consumer.group) == 0
    groups = {g["stream"]: g for g in stream_groups(redis_client, consumer.streams, consumer.group)}
    assert groups[settings.redis.detections_stream]["lag"] == 0
    assert metrics.messages.labels(settings.redis.detections_stream, "processed")._value.get() == 2


def test_messages_published_before_the_group_existed_are_not_lost(redis_client, factory, settings, ready):
    publish(redis_client, settings, detection("tower-a", at(0)))
    consumer = consumer_for(redis_client, factory, settings, "late-starter")
    drain(consumer)
    assert alerts(factory) == 1


def test_malformed_entries_go_to_dead_letter_and_do_not_block(redis_client, factory, settings, ready):
    consumer = consumer_for(redis_client, factory, settings, "c1")
    stream = settings.redis.detections_stream
    good = encode(detection("tower-a", at(0)))
    bad_json = dict(good, payload="{not json")
    bad_version = dict(good, schema_version="99")
    bad_box = dict(good, payload=good["payload"].replace("0.4,", "1.4,", 1))
    garbage = {"payload": b"\xff\xfe"}
    ids = [redis_client.xadd(stream, fields).decode() for fields in (bad_json, bad_version, bad_box, garbage, good)]
    drain(consumer)

    assert alerts(factory) == 1  # the good one behind the bad ones
    assert pending(redis_client, stream, consumer.group) == 0
    dead = redis_client.xrange(settings.redis.dead_letter_stream)
    assert len(dead) == 4
    by_source = {fields[b"dead_letter_id"].decode(): fields for _, fields in dead}
    assert set(by_source) == set(ids[:4])
    assert b"not JSON" in by_source[ids[0]][b"dead_letter_reason"]
    assert b"schema_version" in by_source[ids[1]][b"dead_letter_reason"]
    assert b"box" in by_source[ids[2]][b"dead_letter_reason"]
    # The original fields travel along, byte for byte.
    assert by_source[ids[0]][b"payload"] == b"{not json"
    assert by_source[ids[3]][b"payload"] == b"\xff\xfe"
    assert by_source[ids[0]][b"dead_letter_stream"].decode() == stream


def test_redelivered_entry_makes_no_second_alert(redis_client, factory, settings, ready):
    """Crash between commit and ack: the entry comes back and is recognised."""
    stream = settings.redis.detections_stream
    event = detection("tower-a", at(0))
    publish(redis_client, settings, event)
    publish(redis_client, settings, event)  # a publisher retry: the same event twice
    crashed = consumer_for(redis_client, factory, settings, "crashed")
    entries = redis_client.xreadgroup(crashed.group, "crashed", {stream: ">"}, count=1)
    ingest_detection(factory, event, Rules.from_config(settings.alerting))  # committed, never acknowledged
    assert len(entries[0][1]) == 1 and pending(redis_client, stream, crashed.group) == 1

    time.sleep(settings.alerting.claim_idle_ms / 1000 + 0.1)
    survivor = consumer_for(redis_client, factory, settings, "survivor")
    metrics = Metrics()
    survivor._metrics = metrics
    drain(survivor)
    assert alerts(factory) == 1
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(AlertFrame)) == 1
    assert pending(redis_client, stream, crashed.group) == 0
    assert metrics.messages.labels(stream, "duplicate")._value.get() == 2


def test_entries_of_a_dead_consumer_are_claimed(redis_client, factory, settings, ready):
    stream = settings.redis.detections_stream
    for minute in (0, 40, 80):
        publish(redis_client, settings, detection("tower-a", at(minute)))
    dead = consumer_for(redis_client, factory, settings, "dead")
    redis_client.xreadgroup(dead.group, "dead", {stream: ">"}, count=10)  # read, then died
    alive = consumer_for(redis_client, factory, settings, "alive")
    drain(alive)
    assert alerts(factory) == 0  # not idle long enough yet: dead might be just slow

    time.sleep(settings.alerting.claim_idle_ms / 1000 + 0.1)
    alive._last_claim = float("-inf")
    drain(alive)
    assert alerts(factory) == 3
    assert pending(redis_client, stream, alive.group) == 0


def test_unacknowledged_while_the_database_is_locked_then_processed(redis_client, make_settings, tmp_path):
    """Ack only after commit: with the SQLite database locked the entry stays pending."""
    path = tmp_path / "locked.db"
    settings = make_settings(f"sqlite:///{path}")
    engine = make_engine(settings.alerting.database_url, sqlite_busy_timeout_s=0.2)
    from alerting.store import migrate

    migrate.upgrade(engine)
    factory = session_factory(engine)
    consumer = consumer_for(redis_client, factory, settings, "c1")
    stream = settings.redis.detections_stream
    publish(redis_client, settings, detection("tower-a", at(0)))

    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    assert consumer.poll_once(block_ms=50) == -1
    assert pending(redis_client, stream, consumer.group) == 1
    blocker.execute("ROLLBACK")
    blocker.close()

    drain(consumer)  # re-reads its own backlog
    assert alerts(factory) == 1
    assert pending(redis_client, stream, consumer.group) == 0
    engine.dispose()


def test_entry_that_keeps_failing_is_dead_lettered_after_max_deliveries(redis_client, make_settings, tmp_path):
    """A valid message whose processing raises (not a database outage) must not block forever."""
    settings = make_settings(alerting={"max_deliveries": 2})
    engine = make_engine(settings.alerting.database_url)
    from alerting.store import migrate

    migrate.upgrade(engine)
    factory = session_factory(engine)
    consumer = consumer_for(redis_client, factory, settings, "c1")
    # A trigger that refuses tower-a's alerts stands in for a bug that fails one message every time.
    publish(redis_client, settings, detection("tower-a", at(0)))
    publish(redis_client, settings, detection("tower-c", at(0)))
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER reject_a BEFORE INSERT ON alerts WHEN NEW.camera_id = 'tower-a' "
            "BEGIN SELECT RAISE(ABORT, 'rejected by test trigger'); END"
        )
    assert consumer.poll_once(block_ms=50) == -1  # first delivery fails, tower-c goes through
    assert alerts(factory) == 1
    drain(consumer)  # second delivery fails too: dead letter
    dead = redis_client.xrange(settings.redis.dead_letter_stream)
    assert len(dead) == 1
    assert b"processing failed 2 times" in dead[0][1][b"dead_letter_reason"]
    assert pending(redis_client, settings.redis.detections_stream, consumer.group) == 0
    engine.dispose()


def test_replicas_share_the_stream_without_duplicates(redis_client, factory, make_settings, ready):
    """Two consumers side by side, each its own thread and connection, racing for the same cameras."""
    import redis as redis_lib

    settings = make_settings(alerting={"read_count": 1})  # one entry each: they decide at the same moment
    events = []
    for minute in range(0, 30):
        events.append(detection("tower-a", at(minute), box=[0.40, 0.30, 0.50, 0.45]))
        events.append(detection("tower-c", at(minute), box=[0.1, 0.1, 0.2, 0.2]))
    for event in events:
        publish(redis_client, settings, event)
    stop = threading.Event()
    metrics = [Metrics(), Metrics()]
    replicas = [
        consumer_for(redis_lib.Redis.from_url(settings.redis.url), factory, settings, f"replica-{i}", metrics[i])
        for i in range(2)
    ]
    # Both start reading at the same moment: on a loaded box a thread started first could drain
    # all 60 entries before the other one was scheduled, and the race would go untested.
    together = threading.Barrier(len(replicas))

    def run(replica) -> None:
        together.wait()
        replica.run(stop)

    threads = [threading.Thread(target=run, args=(r,)) for r in replicas]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    stream = settings.redis.detections_stream
    while time.monotonic() < deadline:
        info = stream_groups(redis_client, (stream,), settings.alerting.consumer_group)[0]
        if info["lag"] == 0 and info["pending"] == 0:
            break
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(10)

    with factory() as session:
        rows = session.execute(select(Alert.camera_id, Alert.frame_count)).all()
        frames = session.scalar(select(func.count()).select_from(AlertFrame))
    # One alert per camera: the grouping lock serialises replicas deciding "new or join".
    assert sorted(rows) == [("tower-a", 30), ("tower-c", 30)]
    assert frames == 60
    handled = [m.messages.labels(stream, "processed")._value.get() for m in metrics]
    assert sum(handled) == 60
    assert all(h > 0 for h in handled), f"one replica did all the work: {handled}"
