"""Point 4 of issue 14: choice (a). A Redis that would forget acknowledged stream entries at a
restart is reported loudly at start; the demo's own Redis runs with AOF."""

from __future__ import annotations

import logging

import redis

from pinewatch.embedded_redis import EmbeddedRedis, persistence_problem, warn_without_persistence


def test_redis_without_persistence_is_reported(tmp_path, caplog):
    with EmbeddedRedis(data_dir=tmp_path / "r", appendonly=False) as server:
        client = redis.Redis.from_url(server.url)
        assert "a restart loses every stream entry" in persistence_problem(client)
        client.config_set("save", "3600 1")
        assert "RDB snapshots" in persistence_problem(client)
        client.close()
        with caplog.at_level(logging.WARNING):
            assert warn_without_persistence(server.url, 2.0) is not None
    assert any("REDIS WITHOUT PERSISTENCE" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_the_demo_redis_runs_with_aof(tmp_path, caplog):
    with EmbeddedRedis(data_dir=tmp_path / "r") as server:  # as pinewatch.demo starts it
        client = redis.Redis.from_url(server.url)
        assert client.config_get("appendonly") == {"appendonly": "yes"}  # redis-py decodes CONFIG replies
        assert persistence_problem(client) is None
        client.close()
        with caplog.at_level(logging.WARNING):
            assert warn_without_persistence(server.url, 2.0) is None
    assert not [r for r in caplog.records if "PERSISTENCE" in r.getMessage()]


def test_unreachable_redis_is_not_an_error_at_start(caplog):
    from pinewatch.embedded_redis import free_port

    with caplog.at_level(logging.INFO):
        assert warn_without_persistence(f"redis://127.0.0.1:{free_port()}/0", 0.5) is None
    assert any("persistence not checked" in r.getMessage() for r in caplog.records)
