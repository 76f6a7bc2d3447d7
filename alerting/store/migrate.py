"""Bring a database to the newest schema with Alembic (`upgrade head`)."""

from __future__ import annotations

import logging
from pathlib import Path

# Alembic announces each of its plugins at INFO while it is imported: noise.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from alerting.store.db import exclusive_connection  # noqa: E402

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config() -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate; safe when several replicas start at once (they take turns)."""
    config = alembic_config()
    with exclusive_connection(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    config = alembic_config()
    with exclusive_connection(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
