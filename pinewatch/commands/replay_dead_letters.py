"""`pinewatch replay-dead-letters`: put dead-lettered stream entries back after a fix."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "replay-dead-letters",
        help="move dead-lettered entries back into their stream (after fixing why they failed)",
        description=(
            "Each entry of redis.dead_letter_stream goes back, with its original fields, to the stream it came "
            "from, and leaves the dead-letter stream (one MULTI/EXEC each). The running consumer then handles "
            "it again; an event stored before is not stored twice. Lists what it did; exits 1 if nothing matched."
        ),
    )
    parser.add_argument("--config", "-c", help="YAML configuration file (PINEWATCH_* variables override it)")
    parser.add_argument("--id", action="append", dest="ids", metavar="ID", help="only this dead-letter entry (repeat for several)")
    parser.add_argument("--reason", metavar="TEXT", help="only entries whose dead_letter_reason contains TEXT")
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed, change nothing")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    import redis

    from alerting.dead_letters import replay_dead_letters
    from pinewatch.core.config import load_settings
    from pinewatch.core.redact import redact

    settings = load_settings(args.config)
    config = settings.redis
    client = redis.Redis.from_url(config.url, socket_timeout=config.socket_timeout_s, socket_connect_timeout=config.socket_timeout_s)
    try:
        result = replay_dead_letters(client, config, ids=args.ids, reason_contains=args.reason, dry_run=args.dry_run)
    except redis.RedisError as exc:
        print(f"pinewatch: Redis {redact(config.url)} (redis.url): {exc}", file=sys.stderr)
        return 2
    finally:
        client.close()
    verb = "would replay" if args.dry_run else "replayed"
    for entry_id, stream, new_id in result.replayed:
        print(f"{verb} {entry_id} -> {stream}{' ' + new_id if new_id else ''}")
    for entry_id, why in result.skipped:
        print(f"skipped {entry_id}: {why}")
    print(f"{len(result.replayed)} {verb}, {len(result.skipped)} skipped")
    return 0 if result.replayed else 1
