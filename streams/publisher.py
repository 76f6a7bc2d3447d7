"""Publishing to Redis Streams through the disk spool, plus per-camera heartbeats.

`publish` never touches the network: it writes the message to the spool and returns, so a
slow or dead Redis cannot stall a camera. One sender thread moves spooled entries to their
streams in order (XADD with approximate MAXLEN) and deletes them once Redis has them. When
Redis is unreachable it backs off and keeps trying; the spool replays in order when Redis is
back. Delivery is at least once: a connection lost mid-batch can repeat entries, which
consumers recognise by `event_id`.

Heartbeats are not spooled (an old heartbeat is worthless): the newest per camera is written
as a key that expires after `offline_after_s`, so a camera, or a whole worker, that goes
silent disappears from Redis by itself.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time

import redis

from pinewatch.core.config import RedisConfig
from pinewatch.core.messages import DetectionEvent, HealthEvent, encode
from streams.backoff import Backoff
from streams.spool import DiskSpool
from streams.stats import LatencyWindow

log = logging.getLogger(__name__)

_BATCH = 100  # entries per pipelined round trip


class Publisher:
    def __init__(self, config: RedisConfig, heartbeat_ttl_s: float, backoff: Backoff) -> None:
        self.config = config
        self.heartbeat_ttl_s = max(1, math.ceil(heartbeat_ttl_s))
        self.spool = DiskSpool(config.spool_dir, config.spool_max_bytes)
        self.client = redis.Redis.from_url(
            config.url, socket_timeout=config.socket_timeout_s, socket_connect_timeout=config.socket_timeout_s
        )
        self.sent = 0
        self.publish_lag = LatencyWindow()  # spooled -> in Redis, seconds
        self.redis_up = True
        self._backoff = backoff
        self._heartbeats: dict[str, str] = {}
        self._heartbeat_lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._down_since: float | None = None
        self._thread = threading.Thread(target=self._run, name="redis-publisher", daemon=True)
        self._thread.start()

    def publish(self, message: DetectionEvent | HealthEvent) -> bool:
        """Queue one message for its stream; False if the spool was full (counted and logged)."""
        stream = self.config.detections_stream if isinstance(message, DetectionEvent) else self.config.health_stream
        accepted = self.spool.append(stream, encode(message))
        self._wake.set()
        return accepted

    def heartbeat(self, camera_id: str, state: dict) -> None:
        """Record the camera's newest state; written to Redis by the sender thread."""
        with self._heartbeat_lock:
            self._heartbeats[camera_id] = json.dumps(state, default=str)
        self._wake.set()

    def heartbeat_key(self, camera_id: str) -> str:
        return f"{self.config.heartbeat_prefix}{camera_id}"

    @property
    def pending(self) -> int:
        return len(self.spool)

    def wait_until_sent(self, timeout_s: float) -> bool:
        """True once the spool is empty (for tests, benchmarks and a clean stop)."""
        deadline = time.monotonic() + timeout_s
        while len(self.spool):
            if time.monotonic() > deadline:
                return False
            self._wake.set()
            time.sleep(0.05)
        return True

    def close(self, timeout_s: float | None = None) -> None:
        """Stop the sender after one last try; what Redis did not take stays spooled for next time."""
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout_s if timeout_s is not None else 2 * self.config.socket_timeout_s + 1)
        if len(self.spool):
            log.warning("%d messages stay in the spool %s until the next start", len(self.spool), self.spool.directory)
        self.spool.close()
        self.client.close()

    # --- sender thread ---

    def _run(self) -> None:
        while True:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            closing = self._closing.is_set()
            try:
                self._write_heartbeats()
                self._drain()
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError) as exc:
                self._went_down(exc)
                if closing:
                    return
                self._closing.wait(self._backoff.next_delay())
                continue
            except Exception:  # never let the sender die: log and retry after a pause
                log.exception("unexpected error while publishing; retrying")
                self._closing.wait(self._backoff.next_delay())
                continue
            self._came_back()
            if closing:
                return

    def _write_heartbeats(self) -> None:
        with self._heartbeat_lock:
            pending, self._heartbeats = self._heartbeats, {}
        if not pending:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for camera_id, value in pending.items():
                pipe.set(self.heartbeat_key(camera_id), value, ex=self.heartbeat_ttl_s)
            pipe.execute()
        except Exception:
            with self._heartbeat_lock:  # keep them unless a newer one arrived meanwhile
                self._heartbeats = {**pending, **self._heartbeats}
            raise

    def _drain(self) -> None:
        while entries := self.spool.oldest(_BATCH):
            pipe = self.client.pipeline(transaction=False)
            for entry in entries:
                pipe.xadd(entry.stream, entry.fields, maxlen=self.config.stream_maxlen, approximate=True)
            results = pipe.execute(raise_on_error=False)
            now = time.time()
            done = []
            for entry, result in zip(entries, results):
                if isinstance(result, (redis.ConnectionError, redis.TimeoutError)):
                    raise result
                if isinstance(result, Exception):  # e.g. WRONGTYPE: retrying cannot help
                    self.spool.set_aside(entry, f"Redis refused it: {result}")
                    continue
                done.append(entry)
                self.publish_lag.add(max(0.0, now - entry.spooled_at))
            self.spool.remove(done)
            self.sent += len(done)

    def _went_down(self, exc: Exception) -> None:
        self.redis_up = False
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("Redis unreachable (%s): messages wait in the spool %s", exc, self.spool.directory)

    def _came_back(self) -> None:
        self._backoff.reset()
        self.redis_up = True
        if self._down_since is not None:
            log.warning("Redis reachable again after %.0fs; spool replayed", time.monotonic() - self._down_since)
            self._down_since = None
