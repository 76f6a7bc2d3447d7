"""A bounded, ordered, crash-safe queue of Redis stream entries on disk.

Every message is written here first (write-ahead) and removed only after Redis took it, so
neither a Redis outage nor a worker crash loses one; replay keeps the original order. One
file per entry (`<sequence>.json`, written to a temporary name, fsynced, then renamed):
messages are rare (detections and health changes), and a torn write can never corrupt others.
When the spool holds `max_bytes`, new entries are refused and counted, never older ones
dropped: the first detection of a fire is the one that matters. A refusal episode logs its first
refusal, then at most one line a minute with the count, and one line when entries fit again:
a long Redis outage with 200 cameras would otherwise write an ERROR line per message.
One process owns a spool directory (an exclusive lock), so two workers never replay twice.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

REFUSAL_LOG_EVERY_S = 60.0


class SpoolLocked(RuntimeError):
    """Another process uses this spool directory."""


@dataclass(frozen=True, slots=True)
class SpooledEntry:
    sequence: int
    stream: str
    fields: dict[str, str]
    spooled_at: float  # Unix time, to measure how long it waited
    size: int


def _name(sequence: int) -> str:
    return f"{sequence:016d}.json"


class DiskSpool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.directory / ".lock", "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise SpoolLocked(
                f"spool directory {self.directory} is in use by another process; give each worker its own redis.spool_dir"
            ) from None
        self._lock = threading.Lock()
        self._sizes: dict[int, int] = {}
        self._order: deque[int] = deque()
        self.refused = 0  # entries not spooled because the spool was full
        self.quarantined = 0  # unreadable files moved aside
        self._episode_refused = 0  # refusals since the spool last accepted an entry
        self._episode_logged_at = 0.0  # monotonic time of the episode's last log line
        for leftover in self.directory.glob("*.tmp"):
            leftover.unlink()  # a write that never finished: its message was never acknowledged as spooled
        for path in sorted(self.directory.glob("*.json")):
            sequence = int(path.stem)
            self._order.append(sequence)
            self._sizes[sequence] = path.stat().st_size
        self._next = (self._order[-1] + 1) if self._order else 1
        self._bytes = sum(self._sizes.values())
        if self._order:
            log.warning("spool %s holds %d entries from before; they will be replayed", self.directory, len(self._order))

    def __len__(self) -> int:
        return len(self._order)

    @property
    def bytes(self) -> int:
        return self._bytes

    def append(self, stream: str, fields: dict[str, str]) -> bool:
        """Store one entry durably; False (and counted) when the spool is full."""
        data = json.dumps({"stream": stream, "fields": fields, "spooled_at": time.time()}).encode()
        with self._lock:
            if self._bytes + len(data) > self.max_bytes:
                self._refuse(stream, f"full ({self._bytes} bytes)")
                return False
            sequence = self._next
            self._next += 1
            partial = self.directory / f"{sequence:016d}.tmp"
            try:
                with open(partial, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(partial, self.directory / _name(sequence))
                self._sync_directory()  # the rename itself must survive a power cut
            except OSError as exc:  # disk full (ENOSPC), read-only, quota: refuse like a full spool, never raise
                partial.unlink(missing_ok=True)
                if (self.directory / _name(sequence)).exists():  # renamed, only the directory sync failed
                    (self.directory / _name(sequence)).unlink(missing_ok=True)
                self._refuse(stream, f"cannot store: {exc}")
                return False
            if self._episode_refused:
                log.warning("spool %s accepts entries again after refusing %d", self.directory, self._episode_refused)
                self._episode_refused = 0
            self._order.append(sequence)
            self._sizes[sequence] = len(data)
            self._bytes += len(data)
        return True

    def _refuse(self, stream: str, why: str) -> None:
        """Count a refused entry; log the first of an episode, then one line a minute (lock held)."""
        self.refused += 1
        self._episode_refused += 1
        now = time.monotonic()
        if self._episode_refused == 1 or now - self._episode_logged_at >= REFUSAL_LOG_EVERY_S:
            self._episode_logged_at = now
            log.error(
                "spool %s %s: message to %s refused (%d in this episode, %d since start)",
                self.directory, why, stream, self._episode_refused, self.refused,
            )

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def oldest(self, limit: int) -> list[SpooledEntry]:
        """Up to `limit` entries, oldest first, without removing them."""
        with self._lock:
            sequences = [self._order[i] for i in range(min(limit, len(self._order)))]
        entries = []
        for sequence in sequences:
            path = self.directory / _name(sequence)
            try:
                raw = json.loads(path.read_bytes())
                entries.append(
                    SpooledEntry(sequence, raw["stream"], raw["fields"], float(raw.get("spooled_at", 0)), self._sizes[sequence])
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self._quarantine(sequence, exc)
        return entries

    def remove(self, entries: list[SpooledEntry]) -> None:
        """Forget entries that Redis has taken (they are the oldest, in order)."""
        with self._lock:
            for entry in entries:
                (self.directory / _name(entry.sequence)).unlink(missing_ok=True)
                self._forget(entry.sequence)

    def set_aside(self, entry: SpooledEntry, reason: str) -> None:
        """An entry Redis refuses for good (not a connection problem): keep it for a person to look at."""
        self._quarantine(entry.sequence, reason)

    def _quarantine(self, sequence: int, reason) -> None:
        aside = self.directory / "rejected"
        aside.mkdir(exist_ok=True)
        try:
            os.replace(self.directory / _name(sequence), aside / _name(sequence))
        except OSError:
            pass
        with self._lock:
            self._forget(sequence)
            self.quarantined += 1
        log.error("spool entry %d moved to %s: %s", sequence, aside, reason)

    def _forget(self, sequence: int) -> None:
        if sequence in self._sizes:
            self._bytes -= self._sizes.pop(sequence)
            if self._order[0] == sequence:
                self._order.popleft()
            else:
                self._order.remove(sequence)

    def close(self) -> None:
        if not self._lock_file.closed:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
