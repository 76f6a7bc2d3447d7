"""Point 7 of issue 14: the bootstrap admin token is honoured only until an admin revokes it,
and a guessable value is refused at start with the setting's name."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from alerting.service import prepare
from alerting.store.db import session_factory
from alerting.store.tokens import authenticate, ensure_token, revoke_token

BOOT = "a-long-enough-bootstrap-value"


def test_revoked_bootstrap_token_stays_revoked_across_restarts(engine, make_settings):
    settings = make_settings(api={"bootstrap_token": BOOT})
    factory = session_factory(engine)
    prepare(settings, engine)  # first start
    with factory() as session:
        principal = authenticate(session, BOOT)
    assert principal is not None and principal.role == "admin"
    assert revoke_token(engine, principal.token_id)
    prepare(settings, engine)  # restart with the same config
    prepare(settings, engine)
    with factory() as session:
        assert authenticate(session, BOOT) is None
    assert ensure_token(engine, "bootstrap-admin", "admin", BOOT) is False


@pytest.mark.parametrize("value", ["a", "short-11ch"])
def test_short_bootstrap_token_is_refused_naming_the_setting(sqlite_engine, value):
    with pytest.raises(ValueError, match=r"api\.bootstrap_token"):
        ensure_token(sqlite_engine, "bootstrap-admin", "admin", value)
    with session_factory(sqlite_engine)() as session:
        assert authenticate(session, value) is None


def test_serve_refuses_it_in_one_line(tmp_path, redis_url):
    config = {
        "redis": {"url": redis_url},
        "alerting": {"database_url": f"sqlite:///{tmp_path / 'p.db'}"},
        "api": {"port": 0, "bootstrap_token": "a"},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "pinewatch.cli", "serve", "--config", str(path), "--no-consumer", "--no-dispatcher"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "api.bootstrap_token" in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("pinewatch:")]) == 1
