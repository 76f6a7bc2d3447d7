"""Moving dead-lettered entries back into the stream they came from, once the cause is fixed.

The consumer dead-letters an entry with its original fields plus `dead_letter_*` fields saying
why, from which stream and entry (alerting/consumer.py). Replaying strips those, XADDs the
original fields to the original stream and deletes the dead letter, in one MULTI/EXEC: an
entry is never in both places, nor in neither. Replayed entries get new ids and are consumed
like any other; an event stored before is recognised by its event_id and not stored twice.
An entry that fails again is dead-lettered again (nothing loops by itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis

from pinewatch.core.config import RedisConfig

DEAD_LETTER_PREFIX = "dead_letter_"


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@dataclass
class ReplayResult:
    replayed: list[tuple[str, str, str]] = field(default_factory=list)  # (dead-letter id, stream, new id)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (dead-letter id, why)


def replay_dead_letters(
    client: redis.Redis,
    config: RedisConfig,
    *,
    ids: list[str] | None = None,
    reason_contains: str | None = None,
    dry_run: bool = False,
    batch: int = 100,
) -> ReplayResult:
    """Replay every dead letter (or those with the given ids, or whose reason contains a text)."""
    result = ReplayResult()
    targets = {config.detections_stream, config.health_stream}
    wanted = set(ids or [])
    start = "-"
    while True:
        entries = client.xrange(config.dead_letter_stream, min=start, count=batch)
        for raw_id, raw_fields in entries:
            entry_id = _text(raw_id)
            fields = {_text(k): _text(v) for k, v in raw_fields.items()}
            if wanted and entry_id not in wanted:
                continue
            if reason_contains and reason_contains not in fields.get("dead_letter_reason", ""):
                continue
            stream = fields.get("dead_letter_stream", "")
            if stream not in targets:
                result.skipped.append((entry_id, f"came from {stream!r}, not a stream of this config"))
                continue
            original = {k: v for k, v in fields.items() if not k.startswith(DEAD_LETTER_PREFIX)}
            if not original:
                result.skipped.append((entry_id, "no original fields"))
                continue
            if dry_run:
                result.replayed.append((entry_id, stream, ""))
                continue
            pipe = client.pipeline(transaction=True)
            pipe.xadd(stream, original, maxlen=config.stream_maxlen, approximate=True)
            pipe.xdel(config.dead_letter_stream, entry_id)
            new_id, _ = pipe.execute()
            result.replayed.append((entry_id, stream, _text(new_id)))
        if len(entries) < batch:
            break
        start = "(" + _text(entries[-1][0])  # exclusive: after the last one read
    missing = wanted - {r[0] for r in result.replayed} - {s[0] for s in result.skipped}
    result.skipped += [(entry_id, "no such dead letter") for entry_id in sorted(missing)]
    return result
