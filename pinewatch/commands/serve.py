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

    settings = load_settings(args.config)
    if args.create_token:
        return _create_token(settings, args.create_token, sys.stdout, sys.stderr)

    from alerting.service import Service

    service = Service(settings, api=not args.no_api, consume=not args.no_consumer, dispatch=not args.no_dispatcher)
    return service.serve_forever()


def _create_token(settings, spec: str, out, err) -> int:
    from alerting.service import open_store
    from alerting.store.tokens import create_token

    name, sep, role = spec.rpartition(":")
    if not sep or not name:
        print("pinewatch: --create-token wants NAME:ROLE, e.g. alice:operator", file=err)
        return 2
    engine = open_store(settings)
    try:
        token = create_token(engine, name, role)
    except ValueError as exc:
        print(f"pinewatch: {exc}", file=err)
        return 2
    finally:
        engine.dispose()
    print(token, file=out)
    return 0
