"""What the routes share, kept on app.state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import redis
from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from alerting.metrics import Metrics
from alerting.notify.outbox import Recipient
from pinewatch.core.config import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    metrics: Metrics
    redis: redis.Redis | None
    evidence_dir: Path
    static_dir: Path
    recipients: list[Recipient]
    feed: object  # alerting.api.sse.ChangeFeed


def context(request: Request) -> AppContext:
    return request.app.state.ctx
