"""Point 5 of issue 14: a database that never answers, or a wrong URL, is one clear line,
not a hang or a traceback; the API answers 503 instead of nothing."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from alerting.api.app import create_app
from alerting.store.db import make_engine

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.mark.timeout(60)
def test_connect_to_a_black_hole_gives_up(black_hole_port):
    engine = make_engine(f"postgresql+psycopg://pinewatch@127.0.0.1:{black_hole_port}/pinewatch", connect_timeout_s=2)
    with pytest.raises(OperationalError):
        with engine.connect():
            pass
    engine.dispose()


@pytest.mark.timeout(60)
def test_statement_timeout_on_postgresql(postgres_url):
    engine = make_engine(postgres_url, statement_timeout_s=0.3)
    with engine.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "300ms"
        with pytest.raises(OperationalError, match="statement timeout"):
            connection.execute(text("SELECT pg_sleep(30)"))
    engine.dispose()


@pytest.mark.timeout(60)
def test_api_answers_503_when_the_database_does_not(black_hole_port, make_settings, redis_client):
    url = f"postgresql+psycopg://pinewatch:hunter2pw@127.0.0.1:{black_hole_port}/pinewatch"
    engine = make_engine(url, connect_timeout_s=2)
    app = create_app(make_settings(database_url=url), engine=engine, redis_client=redis_client)
    with TestClient(app) as client:
        response = client.get("/api/alerts", headers={"Authorization": "Bearer pw_anything"})
    assert response.status_code == 503 and response.headers["retry-after"]
    assert "hunter2pw" not in response.text
    engine.dispose()


def _serve(tmp_path, redis_url, database_url: str) -> subprocess.CompletedProcess:
    config = {"redis": {"url": redis_url}, "alerting": {"database_url": database_url}, "api": {"port": 0}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [sys.executable, "-m", "pinewatch.cli", "serve", "--config", str(path)],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.slow
def test_serve_with_a_black_hole_database_says_so_in_one_line(tmp_path, redis_url, black_hole_port):
    result = _serve(tmp_path, redis_url, f"postgresql+psycopg://pinewatch:hunter2pw@127.0.0.1:{black_hole_port}/pw")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "alerting.database_url" in lines[0] and "timeout" in lines[0].lower(), result.stderr
    assert "hunter2pw" not in result.stderr


@pytest.mark.parametrize(
    "url,says",
    [
        ("notadatabase://x/y", "Can't load plugin"),
        ("postgresql+psycopg://pinewatch@127.0.0.1:1/pinewatch", "OperationalError"),
        ("sqlite:////proc/pinewatch-cannot-be-here/p.db", "pinewatch"),
        ("this is not a url", "Could not parse"),
    ],
)
def test_wrong_database_url_is_one_line(tmp_path, redis_url, url, says):
    result = _serve(tmp_path, redis_url, url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pinewatch:") and says in lines[0], lines[0]
