"""Config values may be ${ENV} placeholders, so that passwords never sit in files (issue 14)."""

from __future__ import annotations

import pytest

from pinewatch.core.config import ConfigError, load_settings

YAML = """
alerting:
  database_url: "postgresql+psycopg://pinewatch:${PW_TEST_DB_PASSWORD}@db:5432/pinewatch"
  notify:
    telegram_bot_token: ${PW_TEST_BOT}
    webhook_urls: ["http://hooks/${PW_TEST_HOOK}", "http://plain/$notaplaceholder"]
cameras:
  - id: tower-1
    source: "rtsp://admin:${PW_TEST_CAM}@10.0.0.5/101"
"""


def test_placeholders_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PW_TEST_DB_PASSWORD", "s3cr3t")
    monkeypatch.setenv("PW_TEST_BOT", "123:ABC")
    monkeypatch.setenv("PW_TEST_HOOK", "h1")
    monkeypatch.setenv("PW_TEST_CAM", "c@m")
    path = tmp_path / "c.yaml"
    path.write_text(YAML)
    settings = load_settings(path)
    assert settings.alerting.database_url == "postgresql+psycopg://pinewatch:s3cr3t@db:5432/pinewatch"
    assert settings.alerting.notify.telegram_bot_token == "123:ABC"
    assert settings.alerting.notify.webhook_urls == ["http://hooks/h1", "http://plain/$notaplaceholder"]
    assert settings.cameras[0].source == "rtsp://admin:c@m@10.0.0.5/101"


def test_a_missing_variable_names_the_field_and_the_variable(tmp_path, monkeypatch):
    for name in ("PW_TEST_DB_PASSWORD", "PW_TEST_BOT", "PW_TEST_HOOK"):
        monkeypatch.setenv(name, "x")
    monkeypatch.delenv("PW_TEST_CAM", raising=False)
    path = tmp_path / "c.yaml"
    path.write_text(YAML)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "cameras.0.source" in message and "PW_TEST_CAM" in message and str(path) in message
