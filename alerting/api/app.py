"""The FastAPI application: `create_app(settings)`.

The database schema must exist (alerting.store.migrate.upgrade, which
`pinewatch serve` runs at start); pass migrate=True to have create_app do it.
"""

from __future__ import annotations

from pathlib import Path

import redis
from fastapi import FastAPI
from sqlalchemy import Engine

from alerting.api import routes_admin, routes_alerts, routes_cameras, routes_evidence, routes_session, routes_system, sse
from alerting.api import routes_masks  # issue 13
from alerting.api import routes_danger  # issue 12
from alerting.api import routes_incidents  # issue 11
from alerting.api import protect
from alerting.api.context import AppContext
from alerting.consumer import stream_groups
from alerting.liveness import reader_for
from alerting.metrics import Metrics, StateCollector
from alerting.ops_metrics import OpsCollector
from alerting.notify.outbox import recipients_from_config
from alerting.store import migrate as migrations
from alerting.store.db import make_engine, session_factory
from pinewatch.core.config import Settings

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"

DESCRIPTION = """Wildfire camera alerts. Every route except /healthz and the pages
needs `Authorization: Bearer TOKEN`; /api/events and /api/evidence also take `?token=`.
Roles: ranger (read), operator (read + verdicts), admin (all + tokens), worker (ingest)."""


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    redis_client: redis.Redis | None = None,
    metrics: Metrics | None = None,
    static_dir: Path | None = None,
    migrate: bool = False,
) -> FastAPI:
    engine = engine if engine is not None else make_engine(settings.alerting.database_url)
    if migrate:
        migrations.upgrade(engine)
    factory = session_factory(engine)
    metrics = metrics if metrics is not None else Metrics()
    if redis_client is None:
        redis_client = redis.Redis.from_url(settings.redis.url)  # connects lazily, on the first scrape
    streams = (settings.redis.detections_stream, settings.redis.health_stream)
    group = settings.alerting.consumer_group
    metrics.registry.register(StateCollector(factory, lambda: stream_groups(redis_client, streams, group)))

    app = FastAPI(title="pinewatch alerting", version="1", description=DESCRIPTION)
    app.state.ctx = AppContext(
        settings=settings,
        engine=engine,
        factory=factory,
        metrics=metrics,
        redis=redis_client,
        evidence_dir=Path(settings.streams.evidence_dir),
        static_dir=static_dir if static_dir is not None else STATIC_DIR,
        recipients=recipients_from_config(settings.alerting.notify),
        feed=sse.ChangeFeed(factory, settings.alerting.sse_poll_s),
    )
    # issue 14: camera liveness (a dead worker shows) and dead letters, for the alert rules
    metrics.registry.register(OpsCollector(
        lambda: reader_for(app.state, app.state.ctx), [c.id for c in settings.cameras if c.enabled],
        redis_client, settings.redis.dead_letter_stream,
    ))
    for module in (routes_alerts, routes_cameras, routes_evidence, routes_admin, sse, routes_system):
        app.include_router(module.router)
    app.include_router(routes_session.router)  # browser sign-in cookie (issue 11)
    app.include_router(routes_masks.router)  # operator and config masks (issue 13)
    app.include_router(routes_danger.router)  # fire-danger levels (issue 12)
    app.include_router(routes_incidents.router)  # one fire seen by several cameras (issue 11)
    protect.install(app, static_dir if static_dir is not None else STATIC_DIR)  # last: it documents the status codes of every route included above
    return app
