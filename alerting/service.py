"""The alerting service: stream consumer + notification dispatcher + HTTP API.

`pinewatch serve --config FILE` runs `Service(settings).serve_forever()`.
Replicas: run more processes with api=False (`pinewatch serve --no-api`); they
share the stream work through the consumer group and the outbox through leases.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

import redis
import uvicorn
from sqlalchemy import Engine

from alerting.api.app import create_app
from alerting.consumer import StreamConsumer
from alerting.ingest import Rules
from alerting.danger.feed import FeedPoller
from alerting.danger.publish import VotePublisher
from alerting.escalation import Escalator, Routing
from alerting.masks import MaskPublisher
from alerting.metrics import Metrics
from alerting.notify.dispatcher import Dispatcher
from alerting.retention import RetentionSweeper
from alerting.store import migrate
from alerting.store.db import make_engine, session_factory
from alerting.store.repository import upsert_cameras
from alerting.store.tokens import ensure_token
from pinewatch.core.config import Settings, expand_cameras

log = logging.getLogger(__name__)

BOOTSTRAP_USER = "bootstrap-admin"


def quiet_noisy_loggers() -> None:
    # httpx logs every request URL at INFO, and Telegram's URL holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def open_store(settings: Settings) -> Engine:
    """Engine on the configured database, schema at Alembic head (SQLite's folder created)."""
    quiet_noisy_loggers()
    engine = make_engine(settings.alerting.database_url)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(engine)
    return engine


def prepare(settings: Settings, engine: Engine) -> None:
    """Cameras from the configuration; the bootstrap token if one is configured."""
    upsert_cameras(session_factory(engine), expand_cameras(settings.cameras))  # a PTZ camera: one per preset (issue 12)
    if settings.api.bootstrap_token:
        ensure_token(engine, BOOTSTRAP_USER, "admin", settings.api.bootstrap_token)


class Service:
    def __init__(
        self,
        settings: Settings,
        *,
        api: bool = True,
        consume: bool = True,
        dispatch: bool = True,
        engine: Engine | None = None,
    ):
        self.settings = settings
        self.engine = engine if engine is not None else open_store(settings)
        prepare(settings, self.engine)
        self.metrics = Metrics()
        self.redis = redis.Redis.from_url(settings.redis.url)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        factory = session_factory(self.engine)
        self.consumer = (
            StreamConsumer(
                self.redis,
                factory,
                settings.redis,
                settings.alerting,
                Rules.from_config(settings.alerting, settings.fire_danger),
                self.metrics,
            )
            if consume
            else None
        )
        self.dispatcher = (
            Dispatcher(
                factory,
                settings.alerting.notify,
                Path(settings.streams.evidence_dir),
                settings.alerting.public_base_url,
                self.metrics,
                timezone=settings.fire_danger.timezone,
            )
            if dispatch
            else None
        )
        self.masks = MaskPublisher(self.redis, factory)  # operator masks -> Redis -> stream workers
        # issue 12: the day's fire-danger vote -> Redis -> stream workers; the level feed; escalation
        self.votes = VotePublisher(self.redis, factory, settings)
        self.danger_feed = FeedPoller(factory, settings.fire_danger) if settings.fire_danger.feed_url else None
        self.escalator = (
            Escalator(factory, Routing.from_config(settings.alerting.notify, settings.fire_danger), settings.alerting.notify.poll_s)
            if dispatch
            else None
        )
        retention_days = settings.alerting.evidence_retention_days
        self.retention = (  # idempotent: replicas that each sweep do no harm
            RetentionSweeper(factory, Path(settings.streams.evidence_dir), retention_days) if retention_days > 0 else None
        )
        self.app = (
            create_app(settings, engine=self.engine, redis_client=self.redis, metrics=self.metrics) if api else None
        )
        self._server: uvicorn.Server | None = None

    # --- background workers ---------------------------------------------------

    def start_workers(self) -> None:
        self._spawn("pinewatch-masks", self.masks.run)
        self._spawn("pinewatch-danger-votes", self.votes.run)
        if self.danger_feed is not None:
            self._spawn("pinewatch-danger-feed", self.danger_feed.run)
        if self.escalator is not None:
            self._spawn("pinewatch-escalation", self.escalator.run)
        if self.consumer is not None:
            self._spawn("pinewatch-consumer", self.consumer.run)
        if self.dispatcher is not None:
            self._spawn("pinewatch-dispatcher", self.dispatcher.run)
        if self.retention is not None:
            self._spawn("pinewatch-retention", self.retention.run)

    def _spawn(self, name: str, target) -> None:
        thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- running --------------------------------------------------------------

    def _server_for(self, port: int | None = None) -> uvicorn.Server:
        config = uvicorn.Config(
            self.app,
            host=self.settings.api.host,
            port=self.settings.api.port if port is None else port,
            log_level="info",
            access_log=False,
        )
        return uvicorn.Server(config)

    def serve_forever(self) -> int:
        """Block until SIGINT or SIGTERM, then stop cleanly and return 0."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self._stop.set())
        try:
            # uvicorn runs in a thread so that the signals stay ours: in the main
            # thread it would re-raise SIGTERM after its shutdown and skip ours.
            port = self.start_in_background()
            if port is not None:
                log.info("API on http://%s:%d", self.settings.api.host, port)
            self._stop.wait()
        finally:
            self.stop()
        return 0

    def start_in_background(self, port: int | None = None, timeout_s: float = 10.0) -> int | None:
        """Start everything in threads (for embedding and tests); returns the API's port."""
        self.start_workers()
        if self.app is None:
            return None
        self._server = self._server_for(port)
        thread = threading.Thread(target=self._server.run, name="pinewatch-api", daemon=True)
        thread.start()
        self._threads.append(thread)
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.05)
        return self._server.servers[0].sockets[0].getsockname()[1]

    def stop(self, timeout_s: float = 15.0) -> None:
        log.info("stopping: finishing the entry and the deliveries in hand")
        self._stop.set()
        if self._server is not None:
            self._server.should_exit = True
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout_s)
        self._threads.clear()
        self.redis.close()
        self.engine.dispose()
        log.info("stopped")
