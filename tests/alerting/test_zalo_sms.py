"""Zalo OA messages and SMS through a generic HTTP gateway (issue 12): the durable outbox and
dispatcher against local HTTP servers, the one-SMS text, and the README's ranger examples."""

from __future__ import annotations

import dataclasses
import email
import json
import threading
import time
from datetime import datetime, timezone
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from alerting.notify.outbox import Recipient
from alerting.notify.texts import SMS_LIMIT, AlertSummary, gsm7_length, render, render_sms
from alerting.store.db import session_factory
from pinewatch.embedded_redis import free_port
from tests.alerting.test_notify import dispatcher, notify_config, open_alert, rows, settle

README = Path(__file__).resolve().parents[2] / "README.md"
TOKEN = "zalo-oa-token"
ZONE = "Asia/Ho_Chi_Minh"


@pytest.fixture
def sqlite_factory(sqlite_engine):
    return session_factory(sqlite_engine)


def zalo_config(http_url: str, **overrides):
    return notify_config(http_url, zalo_base_url=http_url, zalo_access_token=TOKEN, **overrides)


def multipart(request) -> dict[str, bytes]:
    message = email.message_from_bytes(
        b"Content-Type: " + request.headers["Content-Type"].encode() + b"\r\n\r\n" + request.body, policy=policy.default
    )
    return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True) for part in message.iter_parts()}


# --- Zalo ------------------------------------------------------------------------------


def test_zalo_uploads_the_picture_then_sends_it_with_the_caption(sqlite_factory, http_recorder, evidence_dir):
    http_recorder.respond("/v2.0/oa/upload/image", (200, {"error": 0, "message": "Success", "data": {"attachment_id": "att-9"}}, 0.0))
    http_recorder.respond("/v3.0/oa/message/cs", (200, {"error": 0, "message": "Success", "data": {"message_id": "m1"}}, 0.0))
    open_alert(sqlite_factory, [Recipient("zalo", "8412345", "vi")], evidence_dir)
    settle(dispatcher(sqlite_factory, zalo_config(http_recorder.url), evidence_dir))
    [upload] = http_recorder.wait_for("/v2.0/oa/upload/image")
    [send] = http_recorder.wait_for("/v3.0/oa/message/cs")
    assert upload.headers["access_token"] == TOKEN and send.headers["access_token"] == TOKEN
    assert multipart(upload)["file"][:2] == b"\xff\xd8"  # the evidence JPEG
    body = send.json()
    assert body["recipient"] == {"user_id": "8412345"}
    assert body["message"]["text"].startswith("Camera Tower A có thể đã phát hiện khói.")
    assert "Cấp dự báo cháy rừng" not in body["message"]["text"]  # these Rules carry no levels
    element = body["message"]["attachment"]["payload"]["elements"][0]
    assert element == {"media_type": "image", "attachment_id": "att-9"}
    assert rows(sqlite_factory)["8412345"].status == "sent"


def test_zalo_errors_retry_or_fail_by_code(sqlite_factory, http_recorder, evidence_dir):
    http_recorder.respond("/v3.0/oa/message/cs", (200, {"error": -213, "message": "User has not followed OA"}, 0.0))
    open_alert(sqlite_factory, [Recipient("zalo", "1", "en")], evidence_dir, with_evidence=False)
    settle(dispatcher(sqlite_factory, zalo_config(http_recorder.url), evidence_dir))
    row = rows(sqlite_factory)["1"]
    assert (row.status, row.attempts) == ("failed", 1) and "error -213" in row.last_error
    assert "attachment" not in http_recorder.to("/v3.0/oa/message/cs")[0].json()["message"]  # no evidence: text only


def test_zalo_token_error_is_retried_and_the_token_never_logged(sqlite_factory, http_recorder, evidence_dir):
    http_recorder.respond("/v2.0/oa/upload/image", (200, {"error": -216, "message": "Access token is invalid"}, 0.0))
    open_alert(sqlite_factory, [Recipient("zalo", "2", "en")], evidence_dir)
    settle(dispatcher(sqlite_factory, zalo_config(http_recorder.url), evidence_dir))
    row = rows(sqlite_factory)["2"]
    assert (row.status, row.attempts) == ("pending", 1) and "Zalo upload error -216" in row.last_error
    assert TOKEN not in row.last_error
    assert http_recorder.to("/v3.0/oa/message/cs") == []  # nothing sent without the picture it promised


# --- SMS -------------------------------------------------------------------------------


def summary(**overrides) -> AlertSummary:
    values = dict(
        alert_id=42, kind="new", camera_id="lac-duong-1", camera_name="Tháp Lạc Dương 1", label="smoke", score=0.87,
        first_seen=datetime(2026, 12, 7, 6, 5, tzinfo=timezone.utc), last_seen=datetime(2026, 12, 7, 6, 8, tzinfo=timezone.utc),
        frame_count=4, bearing_deg=132.4, latitude=None, longitude=None, uncertainty_m=None,
        link="https://canhbao.kiemlam.vn/?alert=42", danger_level=4,
    )  # fmt: skip
    values.update(overrides)
    return AlertSummary(**values)


def test_sms_text_fits_one_gsm7_message_without_diacritics():
    vi = render_sms(summary(), "vi", ZONE)
    assert vi == "CANH BAO KHOI #42 cap IV tai Thap Lac Duong 1, huong 132 do, 13:05 07/12. https://canhbao.kiemlam.vn/?alert=42"
    assert render_sms(summary(), "en", ZONE).startswith("PINEWATCH SMOKE #42 level IV: Thap Lac Duong 1, bearing 132 deg, 13:05 07/12.")
    long_name = "Trạm quan sát lửa rừng số 12 Đồi Thông Hai Mộ, thị trấn Lạc Dương, huyện Lạc Dương, tỉnh Lâm Đồng"
    for kind in ("new", "confirmed", "escalated"):
        for language in ("vi", "en"):
            text = render_sms(summary(kind=kind, camera_name=long_name, label="fire"), language, ZONE)
            assert gsm7_length(text) is not None and gsm7_length(text) <= SMS_LIMIT, text
            assert text.endswith(" https://canhbao.kiemlam.vn/?alert=42")  # the link is never cut
    shortened = render_sms(summary(kind="escalated", camera_name=long_name), "vi", ZONE)
    assert shortened.startswith("CHUA XU LY KHOI #42 cap IV tai Tram quan sat lua rung") and gsm7_length(shortened) == SMS_LIMIT
    bare = render_sms(summary(bearing_deg=None, danger_level=None), "vi", ZONE)
    assert "huong" not in bare and "cap" not in bare
    assert "22:05 06/12" in render_sms(summary(first_seen=datetime(2026, 12, 6, 15, 5, tzinfo=timezone.utc)), "vi", ZONE)


def test_sms_gateway_json_post_with_headers(sqlite_factory, http_recorder, evidence_dir):
    open_alert(sqlite_factory, [Recipient("sms", "+84901234567", "vi")], evidence_dir)
    notify = notify_config(
        sms_url=http_recorder.url + "/api/send?to={to}",
        sms_body_template={"phone": "{to}", "message": "{text}", "brandname": "KIEMLAM"},
        sms_headers={"X-Api-Key": "k-123"},
    )
    settle(dispatcher(sqlite_factory, notify, evidence_dir))
    [request] = http_recorder.wait_for("/api/send?to=%2B84901234567")
    assert request.headers["X-Api-Key"] == "k-123"
    body = request.json()
    assert body["phone"] == "+84901234567" and body["brandname"] == "KIEMLAM"
    assert body["message"].startswith("CANH BAO KHOI #") and " tai Tower A, " in body["message"]
    assert gsm7_length(body["message"]) <= SMS_LIMIT
    assert rows(sqlite_factory)["+84901234567"].status == "sent"


def test_sms_gateway_form_post_refusal_in_a_200_is_retried(sqlite_factory, http_recorder, evidence_dir):
    http_recorder.respond("/sms", (200, {"code": "99", "error": "balance"}, 0.0), (200, {"code": "100"}, 0.0))
    open_alert(sqlite_factory, [Recipient("sms", "0901234567", "en")], evidence_dir)
    notify = notify_config(
        sms_url=http_recorder.url + "/sms", sms_body_format="form", sms_success_contains='"code": "100"', retry_base_s=0.05
    )
    d = dispatcher(sqlite_factory, notify, evidence_dir)
    settle(d)
    row = rows(sqlite_factory)["0901234567"]
    assert row.status == "pending" and "SMS gateway refused" in row.last_error
    form = parse_qs(http_recorder.to("/sms")[0].body.decode())
    assert form["to"] == ["0901234567"] and form["text"][0].startswith("PINEWATCH SMOKE #")
    time.sleep(0.1)
    settle(d)
    assert rows(sqlite_factory)["0901234567"].status == "sent"


class GetGateway:
    """A gateway that takes GET /send?user=..&to=..&text=.. (what many Vietnamese SMS brokers offer)."""

    def __init__(self):
        self.requests: list[str] = []
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                gateway.requests.append(self.path)
                payload = json.dumps({"status": "ok" if "to=" in self.path else "bad"}).encode()
                self.send_response(200 if "to=" in self.path else 400)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_sms_gateway_get_with_query_parameters(sqlite_factory, evidence_dir):
    gateway = GetGateway()
    try:
        open_alert(sqlite_factory, [Recipient("sms", "+84911111111", "vi"), Recipient("sms", "x", "vi")], evidence_dir)
        notify = notify_config(sms_url=gateway.url + "/send", sms_method="GET", sms_body_template={"user": "pw", "to": "{to}", "text": "{text}"})
        settle(dispatcher(sqlite_factory, notify, evidence_dir))
        query = parse_qs(urlsplit(next(p for p in gateway.requests if "%2B84911111111" in p)).query)
        assert query["user"] == ["pw"] and query["to"] == ["+84911111111"] and query["text"][0].startswith("CANH BAO KHOI #")
        assert rows(sqlite_factory)["+84911111111"].status == "sent"
    finally:
        gateway.server.shutdown()
        gateway.server.server_close()


def test_unconfigured_channels_fail_at_once(sqlite_factory, evidence_dir):
    open_alert(sqlite_factory, [Recipient("sms", "+8490", "vi"), Recipient("zalo", "77", "vi")], evidence_dir)
    settle(dispatcher(sqlite_factory, notify_config(), evidence_dir))
    state = rows(sqlite_factory)
    assert state["+8490"].status == "failed" and "sms_url is not configured" in state["+8490"].last_error
    assert state["77"].status == "failed" and "zalo_access_token is not configured" in state["77"].last_error


# --- the README's ranger examples come from the renderer ----------------------------------


def test_readme_shows_a_zalo_message_and_an_sms_as_rendered():
    readme = README.read_text()
    example = summary(camera_name="Tháp Lạc Dương 1", latitude=None)
    for line in render(example, "vi").body.splitlines():
        assert f"> {line}" in readme, line
    assert render_sms(example, "vi", ZONE) in readme
    assert render_sms(dataclasses.replace(example, kind="escalated"), "vi", ZONE) in readme


def test_secrets_come_from_the_environment(tmp_path, monkeypatch):
    from pinewatch.core.config import ConfigError, load_settings

    path = tmp_path / "notify.yaml"
    path.write_text(
        "alerting:\n  notify:\n"
        "    zalo_access_token: ${ZALO_OA_TOKEN}\n"
        "    sms_url: https://sms.example.vn/send?key=${SMS_KEY}\n"
        "    sms_headers: {X-Api-Key: '${SMS_KEY}'}\n"
    )
    monkeypatch.setenv("ZALO_OA_TOKEN", "oa-secret")
    monkeypatch.setenv("SMS_KEY", "k-9")
    notify = load_settings(path).alerting.notify
    assert (notify.zalo_access_token, notify.sms_url, notify.sms_headers) == ("oa-secret", "https://sms.example.vn/send?key=k-9", {"X-Api-Key": "k-9"})
    monkeypatch.delenv("SMS_KEY")
    with pytest.raises(ConfigError, match="alerting.notify.sms_url: environment variable SMS_KEY is not set"):
        load_settings(path)
