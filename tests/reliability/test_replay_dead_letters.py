"""`pinewatch replay-dead-letters`: after the cause is fixed, dead letters go back to their
stream and are consumed; nothing is duplicated, nothing is left behind."""

from __future__ import annotations

import subprocess
import sys

import yaml

from alerting.consumer import StreamConsumer
from alerting.dead_letters import replay_dead_letters
from alerting.ingest import Rules
from alerting.store import migrate
from alerting.store.db import make_engine, session_factory
from alerting.store.repository import upsert_cameras
from pinewatch.core.messages import encode

from .faults import detections, store_counts

TRIGGER = (
    "CREATE TRIGGER reject_c BEFORE INSERT ON alerts WHEN NEW.camera_id = 'tower-c' "
    "BEGIN SELECT RAISE(ABORT, 'rejected by test trigger'); END"
)


def _drain(consumer: StreamConsumer) -> None:
    for _ in range(50):
        if consumer.poll_once(block_ms=20) == 0:
            return
    raise AssertionError("the consumer kept finding work")


def test_dead_letters_are_replayed_after_the_fix(redis_client, make_settings, tmp_path):
    settings = make_settings(alerting={"max_deliveries": 2})
    engine = make_engine(settings.alerting.database_url)
    migrate.upgrade(engine)
    factory = session_factory(engine)
    upsert_cameras(factory, settings.cameras)
    consumer = StreamConsumer(redis_client, factory, settings.redis, settings.alerting, Rules.from_config(settings.alerting), None, "c1")
    consumer.ensure_groups()
    with engine.begin() as connection:
        connection.exec_driver_sql(TRIGGER)  # a bug that fails every tower-c detection
    events = detections("tower-c", 3)
    for event in events:
        redis_client.xadd(settings.redis.detections_stream, encode(event))
    redis_client.xadd(settings.redis.detections_stream, {"schema_version": "1", "type": "detection", "payload": "{"})
    _drain(consumer)
    dead = settings.redis.dead_letter_stream
    assert redis_client.xlen(dead) == 4 and store_counts(factory)[0] == 0

    dry = replay_dead_letters(redis_client, settings.redis, reason_contains="processing failed", dry_run=True)
    assert len(dry.replayed) == 3 and redis_client.xlen(dead) == 4  # a dry run changes nothing

    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER reject_c")  # the fix
    config = tmp_path / "replay.yaml"
    config.write_text(yaml.safe_dump({"redis": settings.redis.model_dump(mode="json")}))
    command = [sys.executable, "-m", "pinewatch.cli", "replay-dead-letters", "--config", str(config), "--reason", "processing failed"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 replayed, 0 skipped" in result.stdout
    assert redis_client.xlen(dead) == 1  # the malformed one stays: its reason did not match
    _drain(consumer)
    assert store_counts(factory) == (3, 3, 1)

    # Replaying an event that is stored already (a dead letter copied by hand, say) adds nothing.
    [(dead_id, _)] = redis_client.xrange(dead)
    again = replay_dead_letters(redis_client, settings.redis, ids=[dead_id.decode(), "0-1"])
    assert [r[0] for r in again.replayed] == [dead_id.decode()] and again.skipped == [("0-1", "no such dead letter")]
    _drain(consumer)  # the malformed entry is dead-lettered again, with its reason
    assert redis_client.xlen(dead) == 1 and store_counts(factory) == (3, 3, 1)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "0 replayed" in result.stdout  # nothing matched
    engine.dispose()


def test_unreachable_redis_is_one_line_without_the_password(tmp_path, capsys):
    from pinewatch.cli import main
    from pinewatch.embedded_redis import free_port

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"redis": {"url": f"redis://:sekrit@127.0.0.1:{free_port()}/0", "socket_timeout_s": 0.5}}))
    assert main(["replay-dead-letters", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pinewatch: Redis redis://***@127.0.0.1") and "(redis.url)" in err and "sekrit" not in err
