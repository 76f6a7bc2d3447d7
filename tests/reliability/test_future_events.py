"""Point 6 of issue 14: events dated more than a few minutes ahead are dead-lettered with the
reason, so a health event from 2099 cannot pin a camera's status (nor a detection an alert's
first_seen)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from alerting.consumer import StreamConsumer
from alerting.ingest import Rules
from alerting.store.models import Alert, Camera
from alerting.store.repository import upsert_cameras
from pinewatch.core.messages import MAX_FUTURE, MessageError, decode, encode
from tests.alerting.helpers import detection, health

FAR = datetime(2099, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def settings(make_settings):
    return make_settings()


@pytest.fixture
def consumer(redis_client, factory, settings):
    upsert_cameras(factory, settings.cameras)
    consumer = StreamConsumer(
        redis_client, factory, settings.redis, settings.alerting, Rules.from_config(settings.alerting), None, "c1"
    )
    consumer.ensure_groups()
    return consumer


def _drain(consumer) -> None:
    for _ in range(20):
        if consumer.poll_once(block_ms=50) == 0:
            return
    raise AssertionError("the consumer kept finding work")


def test_health_from_2099_is_dead_lettered_and_a_real_offline_counts(redis_client, factory, settings, consumer):
    now = datetime.now(timezone.utc)
    redis_client.xadd(settings.redis.health_stream, encode(health("tower-a", "online", FAR, "clock gone wrong")))
    redis_client.xadd(settings.redis.health_stream, encode(health("tower-a", "offline", now, "no frames for 60 s")))
    _drain(consumer)
    with factory() as session:
        camera = session.get(Camera, "tower-a")
        assert (camera.status, camera.status_detail) == ("offline", "no frames for 60 s")
    [(_, dead)] = redis_client.xrange(settings.redis.dead_letter_stream)
    assert b"2099-01-01" in dead[b"dead_letter_reason"] and b"after this clock" in dead[b"dead_letter_reason"]


def test_detection_from_2099_opens_no_alert(redis_client, factory, settings, consumer):
    redis_client.xadd(settings.redis.detections_stream, encode(detection("tower-a", FAR)))
    _drain(consumer)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
    assert redis_client.xlen(settings.redis.dead_letter_stream) == 1


def test_small_clock_skew_is_accepted():
    now = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)
    ahead = health("tower-a", "online", now + MAX_FUTURE - timedelta(seconds=1))
    assert decode(encode(ahead), now=now).status == "online"
    with pytest.raises(MessageError, match="after this clock"):
        decode(encode(health("tower-a", "online", now + MAX_FUTURE + timedelta(seconds=1))), now=now)
    with pytest.raises(MessageError, match="after this clock"):
        decode(encode(detection("tower-a", now + timedelta(hours=1))), now=now)
