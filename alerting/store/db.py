"""Engines and sessions for SQLite and PostgreSQL.

Writers that read-then-write (grouping detections, verdicts) use
`write_session`, so that two replicas never both decide to open a new alert for
the same smoke: SQLite starts such a transaction with BEGIN IMMEDIATE (one
writer at a time), PostgreSQL takes a transaction-scoped advisory lock.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from alerting.store import deadline
from pinewatch.core.redact import redact

log = logging.getLogger(__name__)

_SQLITE_IMMEDIATE = "pinewatch_sqlite_immediate"
_INGEST_LOCK_KEY = 0x70696E65  # "pine": one advisory lock for all writers that group
_MIGRATION_LOCK_KEY = 0x70696E66  # replicas starting together migrate one after the other


# A database that never answers must not hang start-up or every request: bound each step.
CONNECT_TIMEOUT_S = 10  # PostgreSQL: TCP connect + start-up handshake (libpq connect_timeout)
STATEMENT_TIMEOUT_S = 30  # PostgreSQL: the server cancels a statement (or lock wait) after this
POOL_TIMEOUT_S = 10  # waiting for a pooled connection while all are busy (a stuck database)
DEADLINE_GRACE_S = 5  # PostgreSQL: a call unanswered this long after statement_timeout is cut (store/deadline.py)


def make_engine(
    database_url: str,
    *,
    sqlite_busy_timeout_s: float = 30.0,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    statement_timeout_s: float = STATEMENT_TIMEOUT_S,
) -> Engine:
    """An engine with the per-dialect setup the store relies on, and bounded waits."""
    if database_url.startswith("sqlite"):
        # pysqlite's timeout is SQLite's busy timeout: how long a writer waits for the lock.
        engine = create_engine(
            database_url,
            connect_args={"timeout": sqlite_busy_timeout_s, "check_same_thread": False},
            pool_timeout=POOL_TIMEOUT_S,
        )
        _configure_sqlite(engine)
        return engine
    if database_url.startswith(("postgresql", "postgres")):
        connect_args = {
            "connect_timeout": max(1, int(connect_timeout_s)),  # libpq counts whole seconds (min 2 in practice)
            "options": f"-c statement_timeout={int(statement_timeout_s * 1000)}",
        }
        # A server that takes the bytes and never answers never sees statement_timeout: cut such calls.
        engine = create_engine(database_url, pool_timeout=POOL_TIMEOUT_S, connect_args=connect_args)
        deadline.install(engine, statement_timeout_s + DEADLINE_GRACE_S)  # includes the pre-ping
        return engine
    return create_engine(database_url, pool_pre_ping=True, pool_timeout=POOL_TIMEOUT_S)


def describe_error(exc: BaseException) -> str:
    """One line for a database failure, credentials redacted (for start-up errors and 503s)."""
    inner = getattr(exc, "orig", None) or exc
    first = (str(inner).strip().splitlines() or [type(inner).__name__])[0]
    return redact(f"{type(inner).__name__}: {first}")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN, so we can choose IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if engine.url.database not in (None, "", ":memory:"):
            _enable_wal(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get(_SQLITE_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _enable_wal(cursor) -> None:
    """WAL, so readers never wait for the writer. The mode is stored in the file, so it only
    has to succeed once; switching needs the file to itself, and SQLite answers "locked" at
    once (no busy wait) while another replica holds a write transaction: retry briefly, then
    go on, since whoever holds that transaction connected first and set WAL already."""
    for attempt in range(20):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05 * (attempt + 1))
    log.warning("could not switch SQLite to WAL now (another connection is writing); continuing")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_session(factory: sessionmaker[Session], *, serialize: bool = True) -> Iterator[Session]:
    """A session for a transaction that reads, then writes; commits on success.

    SQLite always begins it IMMEDIATE: a deferred transaction that read first
    fails at once with "database is locked" if another writer committed since.
    serialize: also hold the writers' lock on PostgreSQL (grouping, verdicts).
    """
    with factory() as session:
        if session.get_bind().dialect.name == "sqlite":
            session.connection(execution_options={_SQLITE_IMMEDIATE: True})
        elif serialize:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INGEST_LOCK_KEY})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def exclusive_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other exclusive_connection runs beside (schema changes)."""
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the old one; with foreign keys on,
            # that drop cascades and deletes the rows that point at it (frames, verdicts). The
            # pragma is ignored inside a transaction, so it goes on the raw connection before BEGIN.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
            connection = connection.execution_options(**{_SQLITE_IMMEDIATE: True})
        try:
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"schema change left rows pointing at nothing: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
