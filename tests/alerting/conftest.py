"""Real services for the alerting tests: our own redis-server, SQLite files, a
fresh PostgreSQL database per session, and small local HTTP servers."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from alerting.store import migrate
from alerting.store.db import make_engine, session_factory
from alerting.store.models import Base
from pinewatch.core.config import Settings
from pinewatch.embedded_redis import free_port

PG_HOST = os.environ.get("PINEWATCH_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PINEWATCH_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("PINEWATCH_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("PINEWATCH_TEST_PG_DB", "test")



# --- Redis ---------------------------------------------------------------------


# redis_url: tests/conftest.py (a private redis-server per test session).


@pytest.fixture
def redis_client(redis_url) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    yield client
    client.close()


# --- databases -----------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the local PostgreSQL server for this session, dropped afterwards."""
    try:
        import psycopg
    except ImportError:
        pytest.skip("psycopg is not installed (pip install -e '.[dev]')")
    try:
        admin = psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_ADMIN_DB, autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL unreachable at {PG_HOST}:{PG_PORT} ({exc})")
    name = f"pinewatch_test_{secrets.token_hex(6)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def empty_database_url(request, tmp_path) -> Iterator[str]:
    """A database with no tables at all: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    session_url = request.getfixturevalue("postgres_url")
    import psycopg

    admin = psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_ADMIN_DB, autocommit=True)
    name = f"{session_url.rsplit('/', 1)[1]}_empty"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{session_url.rsplit('/', 1)[0]}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def postgres_engine(postgres_url):
    engine = make_engine(postgres_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _truncate(engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """A migrated, empty store on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
        migrate.upgrade(engine)
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("postgres_engine")
        _truncate(engine)
        yield engine


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine):
    return session_factory(engine)


# --- settings ------------------------------------------------------------------


CAMERAS = [
    # Two towers 20 km apart looking at the same ridge (see test_geo for the geometry).
    {
        "id": "tower-a",
        "name": "Tower A",
        "source": "a.mp4",
        "latitude": 11.90,
        "longitude": 108.40,
        "azimuth_deg": 45.0,
        "fov_deg": 60.0,
    },
    {
        "id": "tower-b",
        "name": "Tower B",
        "source": "b.mp4",
        "latitude": 11.90,
        "longitude": 108.58,
        "azimuth_deg": 315.0,
        "fov_deg": 60.0,
    },
    {"id": "tower-c", "name": "Tower C", "source": "c.mp4"},
]


@pytest.fixture
def make_settings(tmp_path, redis_url) -> Callable[..., Settings]:
    def build(database_url: str | None = None, **sections) -> Settings:
        data = {
            "redis": {"url": redis_url, **sections.pop("redis", {})},
            "streams": {"evidence_dir": str(tmp_path / "evidence"), **sections.pop("streams", {})},
            "alerting": {
                "database_url": database_url or f"sqlite:///{tmp_path / 'service.db'}",
                "read_block_ms": 200,
                "claim_idle_ms": 1000,
                **sections.pop("alerting", {}),
            },
            "cameras": sections.pop("cameras", CAMERAS),
            **sections,
        }
        return Settings(**data)

    return build


# --- a recording HTTP server (webhook receiver, Telegram Bot API stand-in) -------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self):
        return json.loads(self.body)


@dataclass
class HttpRecorder:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    # path -> list of (status, json body, delay_s); the last one repeats.
    script: dict[str, list[tuple[int, dict, float]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self, path: str, *answers: tuple[int, dict, float]) -> None:
        self.script[path] = list(answers)

    def to(self, path: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout_s: float = 10.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.to(path)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{path}: {len(self.to(path))} requests, wanted {count}")


@pytest.fixture
def http_recorder() -> Iterator[HttpRecorder]:
    port = free_port()
    recorder = HttpRecorder(url=f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with recorder.lock:
                recorder.requests.append(
                    Recorded("POST", self.path, dict(self.headers.items()), body, time.monotonic())
                )
                answers = recorder.script.get(self.path) or [(200, {"ok": True, "result": {}}, 0.0)]
                status, reply, delay = answers.pop(0) if len(answers) > 1 else answers[0]
            if delay:
                time.sleep(delay)
            payload = json.dumps(reply).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield recorder
    server.shutdown()
    server.server_close()


@pytest.fixture
def evidence_dir(tmp_path) -> Path:
    path = tmp_path / "evidence"
    path.mkdir(exist_ok=True)
    return path
