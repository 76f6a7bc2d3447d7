"""Notifications: texts, the outbox, and real webhook / SMTP / Telegram-like servers."""

from __future__ import annotations

import email
import time
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from alerting.ingest import Rules, ingest_detection
from alerting.notify.dispatcher import Dispatcher
from alerting.notify.outbox import Recipient, backoff_s, claim_due
from alerting.notify.texts import AlertSummary, render
from alerting.notify.webhook import SIGNATURE_HEADER, sign
from alerting.store.db import session_factory
from alerting.store.models import Notification, utcnow
from alerting.store.repository import upsert_cameras
from pinewatch.core.config import CameraConfig, NotifyConfig
from tests.alerting.conftest import CAMERAS, free_port
from tests.alerting.helpers import at, detection, write_jpeg

SECRET = "s3cret"


def notify_config(http_url: str = "", **overrides) -> NotifyConfig:
    values = {
        "webhook_secret": SECRET,
        "telegram_base_url": http_url,
        "telegram_bot_token": "123:ABC",
        "retry_base_s": 0.3,
        "timeout_s": 1.0,
        "threads": 4,
    }
    values.update(overrides)
    return NotifyConfig(**values)


def open_alert(factory, recipients, evidence_dir, with_evidence=True) -> int:
    upsert_cameras(factory, [CameraConfig(**c) for c in CAMERAS])
    event = detection("tower-a", at(0), score=0.87)
    if with_evidence:
        write_jpeg(evidence_dir, event.evidence_path)
    rules = Rules(timedelta(minutes=30), timedelta(minutes=30), 50_000, 0.5, tuple(recipients))
    return ingest_detection(factory, event, rules).created[0]


def dispatcher(factory, notify, evidence_dir) -> Dispatcher:
    return Dispatcher(factory, notify, evidence_dir, "http://pinewatch.example")


def rows(factory) -> dict[str, Notification]:
    with factory() as session:
        return {n.recipient: n for n in session.scalars(select(Notification)).all()}


def settle(d: Dispatcher) -> None:
    d.run_once()
    d.drain(10)


@pytest.fixture
def sqlite_factory(sqlite_engine):
    return session_factory(sqlite_engine)


# --- texts ---------------------------------------------------------------------


def summary(**overrides) -> AlertSummary:
    values = dict(
        alert_id=7,
        kind="new",
        camera_id="tower-a",
        camera_name="Tower A",
        label="smoke",
        score=0.87,
        first_seen=at(0),
        last_seen=at(3),
        frame_count=4,
        bearing_deg=47.2,
        latitude=11.98512,
        longitude=108.49003,
        uncertainty_m=640.0,
        link="http://x/?alert=7",
    )
    values.update(overrides)
    return AlertSummary(**values)


def test_texts_in_english_and_vietnamese():
    en = render(summary(), "en")
    vi = render(summary(), "vi")
    assert en.subject == "[pinewatch] Smoke detected at Tower A"
    assert vi.subject == "[pinewatch] Phát hiện khói tại Tower A"
    assert "Confidence: 87%" in en.body and "Độ tin cậy: 87%" in vi.body
    assert "Bearing from the camera: 47°" in en.body and "Hướng từ camera: 47°" in vi.body
    # ± 640 m supports 3 decimals (≈110 m), not 5 (issue 11)
    assert "11.985, 108.490 (± 640 m)" in en.body and "Vị trí ước tính: 11.985, 108.490 (± 640 m)" in vi.body
    assert "2025-07-01 06:00:00 UTC" in en.body
    confirmed = render(summary(kind="confirmed", label="fire", latitude=None, longitude=None), "vi")
    assert "ĐÃ XÁC NHẬN lửa" in confirmed.subject and "Vị trí" not in confirmed.body
    assert len(render(summary(camera_name="x" * 2000), "en").caption) == 1024


def test_backoff_doubles_and_is_capped():
    assert [backoff_s(n, 5, 60) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]


# --- webhook ---------------------------------------------------------------------


def test_webhook_signed_json(sqlite_factory, http_recorder, evidence_dir):
    url = http_recorder.url + "/hook"
    alert_id = open_alert(sqlite_factory, [Recipient("webhook", url, "vi")], evidence_dir)
    settle(dispatcher(sqlite_factory, notify_config(), evidence_dir))
    [request] = http_recorder.wait_for("/hook")
    assert request.headers[SIGNATURE_HEADER] == sign(SECRET, request.body)
    assert request.headers["X-Pinewatch-Delivery"].isdigit()
    body = request.json()
    assert body["event"] == "alert.new" and body["language"] == "vi"
    assert body["alert"]["id"] == alert_id and body["alert"]["camera_id"] == "tower-a"
    assert body["alert"]["evidence_url"].startswith("/api/evidence/")
    assert body["subject"].startswith("[pinewatch] Phát hiện khói")
    row = rows(sqlite_factory)[url]
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at is not None


def test_server_error_is_retried_with_backoff(sqlite_factory, http_recorder, evidence_dir):
    url = http_recorder.url + "/flaky"
    http_recorder.respond("/flaky", (503, {"error": "busy"}, 0.0), (200, {}, 0.0))
    open_alert(sqlite_factory, [Recipient("webhook", url, "en")], evidence_dir)
    d = dispatcher(sqlite_factory, notify_config(), evidence_dir)
    before = utcnow()
    settle(d)
    row = rows(sqlite_factory)[url]
    assert (row.status, row.attempts) == ("pending", 1)
    assert "503" in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=0.3)
    settle(d)  # not due yet
    assert len(http_recorder.to("/flaky")) == 1
    time.sleep(0.35)
    settle(d)
    row = rows(sqlite_factory)[url]
    assert (row.status, row.attempts) == ("sent", 2)


def test_rejection_fails_at_once_and_exhaustion_fails_at_last(sqlite_factory, http_recorder, evidence_dir):
    http_recorder.respond("/reject", (400, {"error": "bad"}, 0.0))
    http_recorder.respond("/down", (500, {}, 0.0))
    reject, down = http_recorder.url + "/reject", http_recorder.url + "/down"
    open_alert(sqlite_factory, [Recipient("webhook", reject, "en"), Recipient("webhook", down, "en")], evidence_dir)
    d = dispatcher(sqlite_factory, notify_config(max_attempts=2, retry_base_s=0.05), evidence_dir)
    settle(d)
    time.sleep(0.1)
    settle(d)
    state = rows(sqlite_factory)
    assert (state[reject].status, state[reject].attempts) == ("failed", 1)
    assert (state[down].status, state[down].attempts) == ("failed", 2)
    assert "HTTP 500" in state[down].last_error


def test_one_stuck_recipient_blocks_nobody(sqlite_factory, http_recorder, evidence_dir):
    http_recorder.respond("/slow", (200, {}, 3.0))  # longer than the 1 s timeout
    slow, fast = http_recorder.url + "/slow", http_recorder.url + "/fast"
    recipients = [Recipient("webhook", slow, "en"), Recipient("webhook", fast, "en"), Recipient("telegram", "99", "en")]
    open_alert(sqlite_factory, recipients, evidence_dir)
    d = dispatcher(sqlite_factory, notify_config(http_recorder.url), evidence_dir)
    started = time.monotonic()
    d.run_once()
    http_recorder.wait_for("/fast", timeout_s=2)
    http_recorder.wait_for("/bot123:ABC/sendPhoto", timeout_s=2)
    assert time.monotonic() - started < 0.9  # delivered while the slow one was still hanging
    d.drain(10)
    state = rows(sqlite_factory)
    assert state[fast].status == "sent" and state["99"].status == "sent"
    assert state[slow].status == "pending" and "Timeout" in state[slow].last_error


def test_leases_let_each_row_go_to_one_dispatcher(engine, evidence_dir):
    factory = session_factory(engine)
    open_alert(factory, [Recipient("webhook", f"http://h/{i}", "en") for i in range(5)], evidence_dir)
    lease = timedelta(seconds=0.5)
    first = claim_due(factory, 3, lease, evidence_dir, "http://x")
    second = claim_due(factory, 10, lease, evidence_dir, "http://x")
    assert len(first) == 3 and len(second) == 2
    assert not {d.notification_id for d in first} & {d.notification_id for d in second}
    assert claim_due(factory, 10, lease, evidence_dir, "http://x") == []
    time.sleep(0.6)  # a dispatcher that died holding leases: they expire
    assert len(claim_due(factory, 10, lease, evidence_dir, "http://x")) == 5


# --- e-mail ----------------------------------------------------------------------


class Inbox:
    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_email_over_smtp_in_each_recipients_language(sqlite_factory, smtp_server, evidence_dir):
    controller, inbox = smtp_server
    recipients = [Recipient("email", "lan@example.vn", "vi"), Recipient("email", "sam@example.org", "en")]
    open_alert(sqlite_factory, recipients, evidence_dir)
    notify = notify_config(smtp_host="127.0.0.1", smtp_port=controller.port, smtp_from="alerts@pinewatch.test")
    settle(dispatcher(sqlite_factory, notify, evidence_dir))
    assert {m[1][0] for m in inbox.messages} == {"lan@example.vn", "sam@example.org"}
    parsed = {m[1][0]: email.message_from_bytes(m[2], policy=policy.default) for m in inbox.messages}
    vi, en = parsed["lan@example.vn"], parsed["sam@example.org"]
    assert vi["Subject"] == "[pinewatch] Phát hiện khói tại Tower A"
    assert en["Subject"] == "[pinewatch] Smoke detected at Tower A"
    assert vi["From"] == "alerts@pinewatch.test"
    assert "Độ tin cậy: 87%" in vi.get_body(("plain",)).get_content()
    [attachment] = list(en.iter_attachments())
    assert attachment.get_content_type() == "image/jpeg"
    assert attachment.get_content()[:2] == b"\xff\xd8"
    assert {r.status for r in rows(sqlite_factory).values()} == {"sent"}


def test_email_to_a_closed_port_is_retried(sqlite_factory, evidence_dir):
    open_alert(sqlite_factory, [Recipient("email", "lan@example.vn", "vi")], evidence_dir)
    settle(dispatcher(sqlite_factory, notify_config(smtp_host="127.0.0.1", smtp_port=free_port()), evidence_dir))
    row = rows(sqlite_factory)["lan@example.vn"]
    assert (row.status, row.attempts) == ("pending", 1) and "SMTP" in row.last_error


# --- Telegram --------------------------------------------------------------------


def test_telegram_send_photo_with_caption(sqlite_factory, http_recorder, evidence_dir):
    open_alert(sqlite_factory, [Recipient("telegram", "-100123", "vi")], evidence_dir)
    settle(dispatcher(sqlite_factory, notify_config(http_recorder.url), evidence_dir))
    [request] = http_recorder.wait_for("/bot123:ABC/sendPhoto")
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    message = email.message_from_bytes(
        b"Content-Type: " + request.headers["Content-Type"].encode() + b"\r\n\r\n" + request.body, policy=policy.default
    )
    parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
    field = {name: part.get_payload(decode=True) for name, part in parts.items()}
    assert field["chat_id"] == b"-100123"
    assert field["caption"].decode().startswith("Camera Tower A có thể đã phát hiện khói.")
    assert field["photo"][:2] == b"\xff\xd8"
    assert rows(sqlite_factory)["-100123"].status == "sent"


def test_telegram_without_evidence_sends_text_and_honours_retry_after(sqlite_factory, http_recorder, evidence_dir):
    http_recorder.respond(
        "/bot123:ABC/sendMessage",
        (
            429,
            {"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 30}},
            0.0,
        ),
    )
    open_alert(sqlite_factory, [Recipient("telegram", "555", "en")], evidence_dir, with_evidence=False)
    before = utcnow()
    settle(dispatcher(sqlite_factory, notify_config(http_recorder.url), evidence_dir))
    [request] = http_recorder.wait_for("/bot123:ABC/sendMessage")
    assert request.json()["chat_id"] == "555" and "Possible smoke detected" in request.json()["text"]
    row = rows(sqlite_factory)["555"]
    assert row.status == "pending" and "Too Many Requests" in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=30)
