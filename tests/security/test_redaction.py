"""Point 1 of issue 14: camera passwords never reach a log, an error text or an API field."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import redis
import yaml

from pinewatch.core.messages import HealthEvent, decode
from pinewatch.core.redact import RedactingFilter, redact
from streams.sources.base import SourceError
from streams.sources.rtsp import RtspSource
from tests.streams.conftest import CameraHttpServer, colour_model, redis_config, redis_server  # noqa: F401

PASSWORD = "hunter2pw"


@pytest.mark.parametrize(
    "text,kept",
    [
        ("rtsp://admin:hunter2pw@10.0.0.5:554/Streaming/101", "rtsp://***@10.0.0.5:554/Streaming/101"),
        ("open 'rtsp://admin:p@ss:hunter2pw@cam/x' failed", "open 'rtsp://***@cam/x' failed"),
        ("http://cam/snap.jpg?user=admin&pwd=hunter2pw&ch=1", "http://cam/snap.jpg?user=***&pwd=***&ch=1"),
        ("postgresql+psycopg://pw:hunter2pw@db:5432/pinewatch", "postgresql+psycopg://***@db:5432/pinewatch"),
        ("http://cam/a.jpg?token=hunter2pw", "http://cam/a.jpg?token=***"),
        ("no url here, only user@example.org", "no url here, only user@example.org"),
        ("rtsp://cam:554/x and rtsp://u:hunter2pw@cam2/y", "rtsp://cam:554/x and rtsp://***@cam2/y"),
    ],
)
def test_redact(text, kept):
    assert redact(text) == kept


def test_log_filter_redacts_arguments_and_tracebacks():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "camera %s: %s", ("c1", "rtsp://a:hunter2pw@h/"), None)
    try:
        raise RuntimeError("rtsp://a:hunter2pw@h/ refused")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert PASSWORD not in logging.Formatter().format(record)


def test_health_detail_is_redacted_at_the_boundary():
    event = HealthEvent(camera_id="c", at="2025-07-01T00:00:00Z", status="error", detail="rtsp://a:hunter2pw@h/ gone")
    assert PASSWORD not in event.detail and "rtsp://***@h/" in event.detail


@pytest.fixture
def garbage_rtsp_port():
    """Answers every RTSP request with garbage: PyAV then names the URL in its error."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.recv(4096)
                    conn.sendall(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n\x00garbage\x01")
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def test_rtsp_errors_carry_no_password(garbage_rtsp_port):
    source = RtspSource("c1", f"rtsp://admin:{PASSWORD}@127.0.0.1:{garbage_rtsp_port}/x", 2.0, 2.0, keep_alive=False)
    with pytest.raises(SourceError) as caught:
        source.read()
    assert PASSWORD not in str(caught.value)
    assert "rtsp://***@127.0.0.1" in str(caught.value)


@pytest.mark.slow
def test_worker_log_and_health_events_carry_no_password(tmp_path, redis_config, colour_model, garbage_rtsp_port):
    cameras = CameraHttpServer()
    port = cameras.server.server_address[1]
    config = {
        "redis": redis_config.model_dump(mode="json"),
        "detector": {"model_path": str(colour_model), "imgsz": 64, "threads": 1},
        "streams": {"evidence_dir": str(tmp_path / "evidence"), "offline_after_s": 1.0, "http_retries": 0},
        "cameras": [
            {"id": "snap-ok", "source": f"http://admin:{PASSWORD}@127.0.0.1:{port}/changing?pwd={PASSWORD}", "interval_s": 0.3},
            {"id": "snap-bad", "source": f"http://admin:{PASSWORD}@127.0.0.1:{port}/garbage?pwd={PASSWORD}", "interval_s": 0.3},
            {"id": "rtsp-bad", "source": f"rtsp://admin:{PASSWORD}@127.0.0.1:{garbage_rtsp_port}/x", "interval_s": 0.3},
        ],
    }
    path = tmp_path / "pinewatch.yaml"
    path.write_text(yaml.safe_dump(config))
    client = redis.Redis.from_url(redis_config.url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pinewatch.cli", "run", "--config", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wanted = {("snap-ok", "online"), ("snap-bad", "error"), ("rtsp-bad", "error")}
        deadline = time.monotonic() + 60
        seen: set = set()
        while time.monotonic() < deadline and not wanted <= seen:
            events = [decode(f) for _, f in client.xrange(redis_config.health_stream)]
            seen = {(e.camera_id, e.status) for e in events}
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        cameras.close()
    assert wanted <= seen, (seen, output[-3000:])
    assert cameras.count("changing") >= 2  # httpx made requests it would have logged at INFO
    raw = b"".join(v for _, f in client.xrange(redis_config.health_stream) for v in f.values())
    assert PASSWORD.encode() not in raw
    assert PASSWORD not in output, [line for line in output.splitlines() if PASSWORD in line][:5]
    assert "HTTP Request:" not in output
    assert "***@127.0.0.1" in output  # the camera lines are there, redacted
    assert "REDIS WITHOUT PERSISTENCE" in output  # the tests' Redis runs without AOF (issue 14, point 4)


def test_api_fields_are_redacted_even_for_rows_stored_before(make_settings, sqlite_engine, redis_client):
    import warnings

    from alerting.api.app import create_app
    from alerting.store.models import Camera
    from alerting.store.repository import upsert_cameras
    from alerting.store.tokens import create_token

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    settings = make_settings()
    app = create_app(settings, engine=sqlite_engine, redis_client=redis_client)
    upsert_cameras(app.state.ctx.factory, settings.cameras)
    with app.state.ctx.factory() as session:  # what an older build wrote
        session.get(Camera, "tower-a").status_detail = f"rtsp://admin:{PASSWORD}@10.0.0.5/101: Connection refused"
        session.commit()
    headers = {"Authorization": f"Bearer {create_token(sqlite_engine, 'r', 'ranger')}"}
    with TestClient(app) as client:
        cameras = client.get("/api/cameras", headers=headers)
    assert cameras.status_code == 200
    assert PASSWORD not in cameras.text and "rtsp://***@10.0.0.5/101" in cameras.text
