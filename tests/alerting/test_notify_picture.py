"""Evidence is stored without boxes; Telegram and e-mail pictures get the alert's box drawn at send time."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import cv2
import numpy as np

from alerting.ingest import Rules, ingest_detection
from alerting.notify.dispatcher import Dispatcher
from alerting.notify.outbox import Recipient
from alerting.store.db import session_factory
from alerting.store.repository import upsert_cameras
from pinewatch.core.config import PROJECT_ROOT, CameraConfig, NotifyConfig
from tests.alerting.conftest import CAMERAS
from tests.alerting.helpers import at, detection

BOX = [0.55, 0.30, 0.80, 0.55]
SMOKE_CLIP = PROJECT_ROOT / "sample_videos" / "smoke_hpwren_mixed.mp4"


def _frame() -> np.ndarray:
    capture = cv2.VideoCapture(str(SMOKE_CLIP))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 22)
    ok, image = capture.read()
    capture.release()
    assert ok
    return image


def _redness_on_box_edges(image: np.ndarray) -> float:
    """Mean of R - (G + B) / 2 over the box's left and right edges (a drawn red box: > 100)."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (round(v * (n - 1)) for v, n in zip(BOX, (width, height, width, height)))
    edges = np.concatenate([image[y1 + 10 : y2 - 10, x1], image[y1 + 10 : y2 - 10, x2]]).astype(float)
    return float((edges[:, 2] - (edges[:, 0] + edges[:, 1]) / 2).mean())


def _photo(request) -> bytes:
    message = email.message_from_bytes(
        b"Content-Type: " + request.headers["Content-Type"].encode() + b"\r\n\r\n" + request.body, policy=policy.default
    )
    parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
    return parts["photo"].get_payload(decode=True)


def test_telegram_picture_carries_the_box_and_the_stored_evidence_does_not(sqlite_engine, http_recorder, evidence_dir):
    factory = session_factory(sqlite_engine)
    upsert_cameras(factory, [CameraConfig(**c) for c in CAMERAS])
    event = detection("tower-a", at(0), box=BOX, score=0.87)
    stored = evidence_dir / event.evidence_path
    stored.parent.mkdir(parents=True)
    captured = _frame()
    assert cv2.imwrite(str(stored), captured)  # as the worker stores it: no box
    stored_bytes = stored.read_bytes()
    rules = Rules(timedelta(minutes=30), timedelta(minutes=30), 50_000, 0.5, (Recipient("telegram", "-1001", "en"),))
    ingest_detection(factory, event, rules)
    notify = NotifyConfig(telegram_base_url=http_recorder.url, telegram_bot_token="123:ABC", timeout_s=2.0)
    dispatcher = Dispatcher(factory, notify, evidence_dir, "http://pinewatch.example")
    dispatcher.run_once()
    dispatcher.drain(10)

    [request] = http_recorder.wait_for("/bot123:ABC/sendPhoto")
    sent = cv2.imdecode(np.frombuffer(_photo(request), np.uint8), cv2.IMREAD_COLOR)
    assert sent is not None and sent.shape == captured.shape
    assert _redness_on_box_edges(sent) > 100, "the sent picture shows the box"
    assert _redness_on_box_edges(captured) < 30, "the frame itself has no red there"
    assert stored.read_bytes() == stored_bytes, "the stored evidence is left as captured"
    outside = np.abs(sent.astype(int) - cv2.imread(str(stored)).astype(int))
    height, width = sent.shape[:2]
    outside[int(BOX[1] * height) - 40 : int(BOX[3] * height) + 5, int(BOX[0] * width) - 5 : int(BOX[2] * width) + 5] = 0
    assert outside.mean() < 3.0, "only the box and its label are drawn"
