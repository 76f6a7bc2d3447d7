"""Redis Streams consumer group: detections and camera health into the store.

Guarantees, in order of the code below:
- an entry is acknowledged only after the store committed its effect;
- entries left pending by a consumer that died are claimed (XAUTOCLAIM) once
  idle for claim_idle_ms, and this consumer's own unacknowledged entries are
  read again after a failure (XREADGROUP from id 0);
- applying an entry twice changes nothing (the event id is recorded with it);
- an entry that cannot be decoded, or whose processing keeps failing for a
  reason other than the database being away, goes to the dead-letter stream
  with the reason and its original fields, then is acknowledged, so it never
  blocks the entries behind it;
- several replicas share the work: Redis hands each entry to one consumer.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

import redis
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from alerting.ingest import Rules, apply_health, ingest_detection
from alerting.metrics import Metrics
from alerting.store.models import utcnow
from pinewatch.core.config import AlertingConfig, RedisConfig
from pinewatch.core.messages import DetectionEvent, MessageError, decode

log = logging.getLogger(__name__)

# The database being unreachable or locked is nobody's fault: wait, never dead-letter.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Entry:
    stream: str
    id: str
    fields: dict | None  # None: the entry was trimmed from the stream while pending


class StreamConsumer:
    def __init__(
        self,
        client: redis.Redis,
        factory: sessionmaker[Session],
        redis_config: RedisConfig,
        alerting: AlertingConfig,
        rules: Rules,
        metrics: Metrics | None = None,
        consumer_name: str | None = None,
    ):
        self._redis = client
        self._factory = factory
        self._redis_config = redis_config
        self._alerting = alerting
        self._rules = rules
        self._metrics = metrics
        self.name = consumer_name or alerting.consumer_name or default_consumer_name()
        self.group = alerting.consumer_group
        self.streams = (redis_config.detections_stream, redis_config.health_stream)
        self._read_own_backlog = True  # at start: what this name left unacknowledged before
        self._last_claim = float("-inf")

    # --- set-up -------------------------------------------------------------

    def ensure_groups(self) -> None:
        """Create the consumer group on each stream; from id 0 so nothing published earlier is skipped."""
        for stream in self.streams:
            try:
                self._redis.xgroup_create(stream, self.group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    # --- the loop -----------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        log.info("consumer %s reading %s as group %s", self.name, ", ".join(self.streams), self.group)
        groups_ready = False
        while not stop.is_set():
            try:
                if not groups_ready:
                    self.ensure_groups()
                    groups_ready = True
                if self.poll_once() < 0:
                    stop.wait(self._alerting.read_block_ms / 1000)  # a failure: pause before retrying
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):  # the stream or group was deleted under us
                    groups_ready = False
                    continue
                log.exception("consumer %s: Redis error", self.name)
                stop.wait(self._alerting.read_block_ms / 1000)
            except redis.RedisError as exc:
                log.warning("consumer %s: Redis unavailable (%s); retrying", self.name, exc)
                self._read_own_backlog = True  # an entry may be committed but not acknowledged
                stop.wait(self._alerting.read_block_ms / 1000)
            except Exception:  # never let the thread die: entries stay pending and are retried
                log.exception("consumer %s: unexpected error", self.name)
                self._read_own_backlog = True
                stop.wait(self._alerting.read_block_ms / 1000)

    def poll_once(self, block_ms: int | None = None) -> int:
        """One round: reclaim stale entries, re-read own backlog if needed, read new ones.

        Returns the number of entries settled, or -1 when one failed and stays pending.
        """
        entries: list[Entry] = []
        # One source per round, so an entry is never handled twice in a round.
        if self._read_own_backlog:
            self._read_own_backlog = False
            entries = self._read({stream: "0" for stream in self.streams}, block_ms=None)
        now = time.monotonic()
        if not entries and now - self._last_claim >= self._alerting.claim_idle_ms / 2000:
            self._last_claim = now
            entries = self._reclaim()
        if not entries:
            block = self._alerting.read_block_ms if block_ms is None else block_ms
            entries += self._read({stream: ">" for stream in self.streams}, block_ms=block)
        settled = 0
        failed = False
        for entry in entries:
            if self._handle(entry):
                settled += 1
            else:
                failed = True
        if failed:
            self._read_own_backlog = True
            return -1
        return settled

    # --- reading ------------------------------------------------------------

    def _read(self, ids: dict[str, str], block_ms: int | None) -> list[Entry]:
        reply = self._redis.xreadgroup(
            self.group, self.name, ids, count=self._alerting.read_count, block=block_ms if block_ms else None
        )
        entries = []
        for stream, items in reply or []:
            for entry_id, fields in items:
                entries.append(Entry(_text(stream), _text(entry_id), fields or None))
        return entries

    def _reclaim(self) -> list[Entry]:
        """Entries pending with any consumer for longer than claim_idle_ms become ours."""
        entries = []
        for stream in self.streams:
            start = "0-0"
            while True:
                next_start, claimed, deleted = self._redis.xautoclaim(
                    stream,
                    self.group,
                    self.name,
                    self._alerting.claim_idle_ms,
                    start_id=start,
                    count=self._alerting.read_count,
                )
                for entry_id, fields in claimed:
                    entries.append(Entry(stream, _text(entry_id), fields or None))
                for entry_id in deleted or []:
                    log.error("entry %s of %s was trimmed before anyone processed it", _text(entry_id), stream)
                start = _text(next_start)
                if start == "0-0" or len(entries) >= self._alerting.read_count:
                    break
        if entries:
            log.info("consumer %s claimed %d stale entries", self.name, len(entries))
        return entries

    # --- handling one entry -------------------------------------------------

    def _handle(self, entry: Entry) -> bool:
        """Settle one entry (True) or leave it pending for a retry (False)."""
        if entry.fields is None:
            self._redis.xack(entry.stream, self.group, entry.id)
            self._count(entry.stream, "trimmed")
            return True
        try:
            message = decode(entry.fields)
        except MessageError as exc:
            self._dead_letter(entry, str(exc))
            return True
        except Exception as exc:  # decode must not fail otherwise; if it does, the entry is still malformed
            self._dead_letter(entry, f"undecodable: {type(exc).__name__}: {exc}")
            return True
        try:
            if isinstance(message, DetectionEvent):
                result = ingest_detection(self._factory, message, self._rules)
                outcome = "duplicate" if result.duplicate else "processed"
                self._count_alerts(message.camera_id, result.created, result.updated)
            else:
                apply_health(self._factory, message)
                outcome = "processed"
        except TRANSIENT_ERRORS as exc:
            log.warning(
                "entry %s of %s: database unavailable (%s); will retry", entry.id, entry.stream, exc.orig or exc
            )
            self._count(entry.stream, "failed")
            return False
        except Exception as exc:
            deliveries = self._delivery_count(entry)
            self._count(entry.stream, "failed")
            if deliveries >= self._alerting.max_deliveries:
                self._dead_letter(entry, f"processing failed {deliveries} times: {type(exc).__name__}: {exc}")
                return True
            log.exception("entry %s of %s failed (delivery %d); will retry", entry.id, entry.stream, deliveries)
            return False
        # Only now, after the commit: the acknowledgement.
        self._redis.xack(entry.stream, self.group, entry.id)
        self._count(entry.stream, outcome)
        return True

    def _delivery_count(self, entry: Entry) -> int:
        pending = self._redis.xpending_range(entry.stream, self.group, min=entry.id, max=entry.id, count=1)
        return int(pending[0]["times_delivered"]) if pending else 1

    def _dead_letter(self, entry: Entry, reason: str) -> None:
        """Copy the original fields and the reason to the dead-letter stream and acknowledge, atomically."""
        fields = dict(entry.fields or {})
        fields.update(
            {
                "dead_letter_reason": reason,
                "dead_letter_stream": entry.stream,
                "dead_letter_id": entry.id,
                "dead_letter_consumer": self.name,
                "dead_letter_at": utcnow().isoformat(),
            }
        )
        pipe = self._redis.pipeline(transaction=True)
        pipe.xadd(
            self._redis_config.dead_letter_stream, fields, maxlen=self._redis_config.stream_maxlen, approximate=True
        )
        pipe.xack(entry.stream, self.group, entry.id)
        pipe.execute()
        log.warning("entry %s of %s dead-lettered: %s", entry.id, entry.stream, reason)
        self._count(entry.stream, "dead_letter")

    def _count(self, stream: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.messages.labels(stream, outcome).inc()

    def _count_alerts(self, camera_id: str, created: list[int], updated: list[int]) -> None:
        if self._metrics is not None:
            if created:
                self._metrics.alerts_created.labels(camera_id).inc(len(created))
            if updated:
                self._metrics.alerts_updated.labels(camera_id).inc(len(updated))


def stream_groups(client: redis.Redis, streams: tuple[str, ...], group: str) -> list[dict]:
    """Lag and pending of the consumer group on each stream (for /metrics)."""
    found = []
    for stream in streams:
        try:
            groups = client.xinfo_groups(stream)
        except redis.ResponseError:  # no such stream yet
            continue
        for info in groups:
            if _text(info["name"]) == group:
                found.append({"stream": stream, "lag": info.get("lag"), "pending": info["pending"]})
    return found
