"""The alerting fixtures (real Redis, SQLite / PostgreSQL, local HTTP servers) for these tests."""

from tests.alerting.conftest import (  # noqa: F401 - pytest finds fixtures by name here
    engine,
    evidence_dir,
    factory,
    http_recorder,
    make_settings,
    postgres_engine,
    postgres_url,
    redis_client,
    sqlite_engine,
)
