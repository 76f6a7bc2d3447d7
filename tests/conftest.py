"""Fixtures shared by every test area."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pinewatch.embedded_redis import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A real redis-server of our own on a free port, no persistence (the demo's own launcher)."""
    server = EmbeddedRedis(data_dir=tmp_path_factory.mktemp("redis"), appendonly=False)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield server.url
    server.stop()
