"""Point 2 of issue 14: an evidence path is checked where messages enter (dead-lettered) and
contained where files are read (notification attachments, the API route)."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from alerting.consumer import StreamConsumer
from alerting.ingest import Rules, ingest_detection
from alerting.notify.dispatcher import Dispatcher
from alerting.notify.outbox import Recipient
from alerting.store.db import session_factory
from alerting.store.repository import upsert_cameras
from pinewatch.core.config import CameraConfig, NotifyConfig
from pinewatch.core.messages import MessageError, decode, encode
from tests.alerting.conftest import CAMERAS
from tests.alerting.helpers import at, detection, write_jpeg

BAD_PATHS = [
    "../../../etc/secret.jpg",
    "tower-a/../../secret.jpg",
    "/etc/passwd",
    "//server/share/x.jpg",
    "..",
    "C:/Windows/x.jpg",
    "tower-a\\..\\..\\secret.jpg",
    "tower-a/x.jpg\x00.png",
    "",
    "a/" * 600 + "x.jpg",
]


def _fields_with(path: str) -> dict[str, str]:
    """A detection entry as a (possibly hostile) worker would XADD it."""
    fields = encode(detection("tower-a", at(0)))
    payload = json.loads(fields["payload"])
    payload["evidence_path"] = path
    return {**fields, "payload": json.dumps(payload)}


@pytest.mark.parametrize("path", BAD_PATHS)
def test_decode_refuses_paths_out_of_the_evidence_directory(path):
    with pytest.raises(MessageError, match="evidence_path"):
        decode(_fields_with(path))


def test_decode_keeps_ordinary_paths():
    assert decode(_fields_with("tower-a/2025/07/01/frame 1.jpg")).evidence_path == "tower-a/2025/07/01/frame 1.jpg"


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_consumer_dead_letters_them_with_the_reason(redis_client, factory, make_settings):
    settings = make_settings()
    upsert_cameras(factory, settings.cameras)
    consumer = StreamConsumer(
        redis_client, factory, settings.redis, settings.alerting, Rules.from_config(settings.alerting), None, "c1"
    )
    consumer.ensure_groups()
    redis_client.xadd(settings.redis.detections_stream, _fields_with("../../secret.jpg"))
    while consumer.poll_once(block_ms=50):
        pass
    [(_, dead)] = redis_client.xrange(settings.redis.dead_letter_stream)
    assert b"evidence_path" in dead[b"dead_letter_reason"] and b".." in dead[b"dead_letter_reason"]
    assert redis_client.xpending(settings.redis.detections_stream, settings.alerting.consumer_group)["pending"] == 0


@pytest.mark.parametrize("where", ["dotdot", "absolute", "symlink"])
def test_telegram_never_attaches_a_file_outside(sqlite_engine, http_recorder, tmp_path, where):
    """Rows stored before paths were checked (or a link planted in the directory) are contained."""
    evidence_dir = tmp_path / "evidence"
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8 private key material")
    factory = session_factory(sqlite_engine)
    upsert_cameras(factory, [CameraConfig(**c) for c in CAMERAS])
    event = detection("tower-a", at(0))
    if where == "symlink":
        (evidence_dir / "tower-a").mkdir(parents=True)
        os.symlink(secret, evidence_dir / event.evidence_path)
    else:
        write_jpeg(evidence_dir, event.evidence_path)
        bad = "../secret.jpg" if where == "dotdot" else str(secret)
        event = event.model_copy(update={"evidence_path": bad})  # as if stored by an older build
    rules = Rules(timedelta(minutes=30), timedelta(minutes=30), 50_000, 0.5, (Recipient("telegram", "42", "en"),))
    ingest_detection(factory, event, rules)
    notify = NotifyConfig(telegram_base_url=http_recorder.url, telegram_bot_token="123:ABC", timeout_s=2.0)
    dispatcher = Dispatcher(factory, notify, evidence_dir, "http://pinewatch.example")
    dispatcher.run_once()
    dispatcher.drain(10)
    [sent] = http_recorder.wait_for("/bot123:ABC/sendMessage")  # the text still goes out ...
    assert http_recorder.to("/bot123:ABC/sendPhoto") == []  # ... without the outside file
    assert b"private key material" not in sent.body


def test_telegram_attaches_a_file_inside(sqlite_engine, http_recorder, tmp_path):
    evidence_dir = tmp_path / "evidence"
    factory = session_factory(sqlite_engine)
    upsert_cameras(factory, [CameraConfig(**c) for c in CAMERAS])
    event = detection("tower-a", at(0))
    write_jpeg(evidence_dir, event.evidence_path)
    rules = Rules(timedelta(minutes=30), timedelta(minutes=30), 50_000, 0.5, (Recipient("telegram", "42", "en"),))
    ingest_detection(factory, event, rules)
    notify = NotifyConfig(telegram_base_url=http_recorder.url, telegram_bot_token="123:ABC", timeout_s=2.0)
    dispatcher = Dispatcher(factory, notify, evidence_dir, "http://pinewatch.example")
    dispatcher.run_once()
    dispatcher.drain(10)
    assert len(http_recorder.wait_for("/bot123:ABC/sendPhoto")) == 1


def test_the_api_route_uses_the_same_check(tmp_path):
    from alerting.api.files import safe_file

    root = tmp_path / "evidence"
    write_jpeg(root, "tower-a/x.jpg")
    (tmp_path / "secret.jpg").write_bytes(b"\xff\xd8")
    os.symlink(tmp_path / "secret.jpg", root / "tower-a" / "link.jpg")
    assert safe_file(root, "tower-a/x.jpg", (".jpg",)) == (root / "tower-a/x.jpg").resolve()
    for path in [*BAD_PATHS, "tower-a/link.jpg", str(tmp_path / "secret.jpg")]:
        assert safe_file(root, path, (".jpg",)) is None, path
