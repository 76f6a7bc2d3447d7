"""A client-side deadline on every PostgreSQL call.

statement_timeout is enforced by the server, so it cannot help when the server never hears the
statement: a stopped (SIGSTOP, frozen VM) server or a black-holed proxy still has a kernel
that accepts the bytes, and libpq then waits for an answer forever: the consumer stops, each
API request hangs, and nothing is logged (issue 14, point 5). Here every statement, commit,
rollback, pool reset and pre-ping is armed with a deadline a little above statement_timeout;
one watcher thread shuts down the socket of a call that outlives it, which makes libpq fail at
once ("server closed the connection"), so SQLAlchemy drops that connection and the caller gets
an OperationalError: the consumer retries, the API answers 503.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

log = logging.getLogger(__name__)

WATCH_EVERY_S = 0.25

_lock = threading.Lock()
_armed: dict[int, tuple[float, float, object]] = {}  # id(DBAPI connection) -> (deadline, limit, connection)
_watcher: threading.Thread | None = None


def arm(dbapi_connection, limit_s: float) -> None:
    global _watcher
    with _lock:
        _armed[id(dbapi_connection)] = (time.monotonic() + limit_s, limit_s, dbapi_connection)
        if _watcher is None or not _watcher.is_alive():
            _watcher = threading.Thread(target=_watch, name="db-deadline", daemon=True)
            _watcher.start()


def disarm(dbapi_connection) -> None:
    with _lock:
        _armed.pop(id(dbapi_connection), None)


def _watch() -> None:
    while True:
        time.sleep(WATCH_EVERY_S)
        now = time.monotonic()
        with _lock:
            expired = [(key, limit, conn) for key, (deadline, limit, conn) in _armed.items() if deadline <= now]
            for key, _, _ in expired:
                del _armed[key]
        for _, limit, connection in expired:
            _cut(connection, limit)


def _socket_fd(dbapi_connection) -> int | None:
    pgconn = getattr(dbapi_connection, "pgconn", None)  # psycopg 3
    try:
        return pgconn.socket if pgconn is not None else dbapi_connection.fileno()  # psycopg2
    except Exception:  # noqa: BLE001 - already closed: nothing to cut
        return None


def _cut(dbapi_connection, limit_s: float) -> None:
    fd = _socket_fd(dbapi_connection)
    if fd is None or fd < 0:
        return
    try:
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()
    except OSError:
        return
    log.error("database gave no answer within %.0f s: connection cut (the call fails and is retried)", limit_s)


def install(engine: Engine, limit_s: float) -> None:
    """Arm the engine's PostgreSQL calls with `limit_s`; replaces pool_pre_ping with an armed ping."""

    def dbapi(connection):
        return connection.connection.dbapi_connection

    @event.listens_for(engine, "before_cursor_execute")
    def _before(connection, cursor, statement, parameters, context, executemany) -> None:
        arm(dbapi(connection), limit_s)

    @event.listens_for(engine, "after_cursor_execute")
    def _after(connection, cursor, statement, parameters, context, executemany) -> None:
        disarm(dbapi(connection))

    @event.listens_for(engine, "handle_error")
    def _error(context) -> None:
        if context.connection is not None and not context.connection.invalidated:
            disarm(dbapi(context.connection))

    # COMMIT and ROLLBACK go to the server too; the deadline is lifted when the connection goes
    # back to the pool, or by the next statement.
    @event.listens_for(engine, "commit")
    def _commit(connection) -> None:
        arm(dbapi(connection), limit_s)

    @event.listens_for(engine, "rollback")
    def _rollback(connection) -> None:
        arm(dbapi(connection), limit_s)

    @event.listens_for(engine.pool, "reset")
    def _reset(dbapi_connection, record, reset_state) -> None:
        arm(dbapi_connection, limit_s)

    @event.listens_for(engine.pool, "checkin")
    def _checkin(dbapi_connection, record) -> None:
        if dbapi_connection is not None:
            disarm(dbapi_connection)

    @event.listens_for(engine.pool, "checkout")
    def _ping(dbapi_connection, record, proxy) -> None:
        """Pessimistic ping, armed: a dead or frozen connection is replaced, never waited on."""
        arm(dbapi_connection, limit_s)
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - the pool retries with a fresh connection
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc
        finally:
            disarm(dbapi_connection)
