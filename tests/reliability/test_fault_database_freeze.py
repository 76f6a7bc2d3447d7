"""Fault injection: PostgreSQL freezes mid-run. A proxy in front of it turns into a black hole
that still accepts connections and bytes (as a stopped server's kernel does), then thaws.

While frozen, the API answers 503 within a bound instead of hanging, and the consumer neither
acknowledges nor dead-letters anything; after the thaw it stores every event exactly once,
without a restart."""

from __future__ import annotations

import threading
import time
import warnings
from urllib.parse import urlsplit

import pytest

from alerting.api.app import create_app
from alerting.consumer import StreamConsumer
from alerting.ingest import Rules
from alerting.store.db import make_engine, session_factory
from alerting.store.repository import upsert_cameras
from alerting.store.tokens import create_token
from pinewatch.core.messages import encode
from tests.alerting.conftest import _truncate

from .faults import FreezableProxy, detections, store_counts, wait_for

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow

STATEMENT_TIMEOUT_S = 1.0  # the client-side deadline is this + DEADLINE_GRACE_S


def _timed_get(client: TestClient, path: str, headers: dict, limit_s: float):
    """(status, seconds) of a GET, or (None, limit_s) when it gave no answer in time."""
    result: list = []
    started = time.monotonic()
    thread = threading.Thread(target=lambda: result.append(client.get(path, headers=headers)), daemon=True)
    thread.start()
    thread.join(limit_s)
    return (result[0].status_code if result else None), time.monotonic() - started


def test_a_frozen_database_gives_503_then_recovers_with_nothing_lost(postgres_url, postgres_engine, redis_client, make_settings):
    _truncate(postgres_engine)
    upstream = urlsplit(postgres_url)
    proxy = FreezableProxy((upstream.hostname, upstream.port))
    url = postgres_url.replace(f"{upstream.hostname}:{upstream.port}", f"127.0.0.1:{proxy.port}")
    engine = make_engine(url, connect_timeout_s=2, statement_timeout_s=STATEMENT_TIMEOUT_S)
    settings = make_settings(database_url=url, alerting={"read_block_ms": 100})
    factory = session_factory(engine)
    upsert_cameras(factory, settings.cameras)
    token = create_token(engine, "ops", "operator")
    headers = {"Authorization": f"Bearer {token}"}
    consumer = StreamConsumer(redis_client, factory, settings.redis, settings.alerting, Rules.from_config(settings.alerting), None, "c1")
    stop = threading.Event()
    consuming = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    consuming.start()
    events = detections("tower-c", 30)
    stream = settings.redis.detections_stream
    app = create_app(settings, engine=engine, redis_client=redis_client)
    direct = session_factory(postgres_engine)  # the test's own view, not through the proxy
    try:
        with TestClient(app) as client:
            for event in events[:10]:
                redis_client.xadd(stream, encode(event))
            wait_for(lambda: store_counts(direct)[0] == 10, 20, "the first 10 events stored")
            # Several requests at once leave open connections in the pool: a frozen database then
            # hangs calls on established connections, not only new ones (those time out at connect).
            warm = [threading.Thread(target=client.get, args=("/api/alerts",), kwargs={"headers": headers}) for _ in range(4)]
            for thread in warm:
                thread.start()
            for thread in warm:
                thread.join()
            assert engine.pool.checkedin() >= 3
            assert client.get("/api/alerts", headers=headers).status_code == 200

            proxy.freeze()
            for event in events[10:]:
                redis_client.xadd(stream, encode(event))
            status, seconds = _timed_get(client, "/api/alerts", headers, 30)
            assert status == 503 and seconds < 20, (status, seconds)  # an answer, not a hang
            time.sleep(1)
            assert store_counts(direct)[0] == 10  # nothing got through...
            assert redis_client.xlen(settings.redis.dead_letter_stream) == 0  # ...and nothing was given up on

            proxy.thaw()
            wait_for(lambda: store_counts(direct)[0] == 30, 30, "all 30 events stored after the thaw")
            wait_for(lambda: redis_client.xpending(stream, settings.alerting.consumer_group)["pending"] == 0, 10, "all acknowledged")
            assert store_counts(direct) == (30, 30, 1)
            assert client.get("/api/alerts", headers=headers).status_code == 200
    finally:
        stop.set()
        proxy.thaw()
        consuming.join(10)
        proxy.close()
        engine.dispose()
