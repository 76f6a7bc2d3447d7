"""The alerting fixtures (real Redis, SQLite / PostgreSQL) for these tests, and a black hole."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.alerting.conftest import (  # noqa: F401 - pytest finds fixtures by name here
    engine,
    factory,
    make_settings,
    postgres_engine,
    postgres_url,
    redis_client,
    sqlite_engine,
)


@pytest.fixture
def black_hole_port() -> Iterator[int]:
    """127.0.0.1:PORT accepts TCP connections and never sends a byte: a frozen database."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)  # keep it open, say nothing

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    for conn in held:
        conn.close()
