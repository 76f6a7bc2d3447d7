"""`pinewatch serve`: the alerting service (stream consumer, notifications, HTTP API)."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the alerting service: stream consumer, notification outbox and HTTP API",
        description=(
            "Consume detections and camera health from Redis, keep alerts in the database "
            "(schema upgraded with Alembic at start), send notifications and serve the API and pages. "
            "See alerting/README.md."
        ),
    )
    parser.add_argument("--config", "-c", help="YAML configuration file (PINEWATCH_* variables override it)")
    parser.add_argument(
        "--no-api", action="store_true", help="consumer and dispatcher only: an extra replica beside a serving one"
    )
    parser.add_argument("--no-consumer", action="store_true", help="do not read the Redis streams")
    parser.add_argument("--no-dispatcher", action="store_true", help="do not send notifications")
    parser.add_argument(
        "--create-token",
        metavar="NAME:ROLE",
        help="create an API token for user NAME with ROLE (ranger, operator, admin, worker), print it and exit",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from pinewatch.core.config import load_settings
    from pinewatch.core.redact import install_log_redaction

    install_log_redaction()
    settings = load_settings(args.config)
    if args.create_token:
        return _create_token(settings, args.create_token, sys.stdout, sys.stderr)

    from alerting.service import Service

    try:
        service = Service(settings, api=not args.no_api, consume=not args.no_consumer, dispatch=not args.no_dispatcher)
    except Exception as exc:  # noqa: BLE001 - a start-up failure is one line, not a traceback
        return _start_failure(settings, exc, sys.stderr)
    from pinewatch.embedded_redis import warn_without_persistence

    warn_without_persistence(settings.redis.url, settings.redis.socket_timeout_s)
    return service.serve_forever()


def _start_failure(settings, exc: Exception, err) -> int:
    """Print why start-up failed in one line (the database, the bootstrap token); re-raise bugs."""
    from sqlalchemy.exc import SQLAlchemyError

    from alerting.store.db import describe_error
    from pinewatch.core.redact import redact

    if isinstance(exc, SQLAlchemyError) or type(exc).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
        where = redact(settings.alerting.database_url)
        print(f"pinewatch: database {where} (alerting.database_url): {describe_error(exc)}", file=err)
        return 2
    if isinstance(exc, (ValueError, OSError)):
        print(f"pinewatch: {redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)}", file=err)
        return 2
    raise exc


def _create_token(settings, spec: str, out, err) -> int:
    from alerting.service import open_store
    from alerting.store.tokens import create_token

    name, sep, role = spec.rpartition(":")
    if not sep or not name:
        print("pinewatch: --create-token wants NAME:ROLE, e.g. alice:operator", file=err)
        return 2
    try:
        engine = open_store(settings)
    except Exception as exc:  # noqa: BLE001
        return _start_failure(settings, exc, err)
    try:
        token = create_token(engine, name, role)
    except ValueError as exc:
        print(f"pinewatch: {exc}", file=err)
        return 2
    finally:
        engine.dispose()
    print(token, file=out)
    return 0
