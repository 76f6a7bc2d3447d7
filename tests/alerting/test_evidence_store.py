"""The frame before the smoke on the alert, and the evidence retention sweep (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from alerting.ingest import Rules, ingest_detection
from alerting.retention import sweep
from alerting.store.models import Alert
from alerting.store.repository import apply_verdict, get_alert, upsert_cameras
from alerting.views import alert_view
from pinewatch.core.config import AlertingConfig, CameraConfig
from pinewatch.core.messages import BoxDetection, DetectionEvent
from tests.alerting.conftest import CAMERAS
from tests.alerting.helpers import at, detection, write_jpeg

RULES = Rules(timedelta(minutes=30), timedelta(minutes=30), 50_000, 0.5, ())


@pytest.fixture
def cameras(factory):
    upsert_cameras(factory, [CameraConfig(**c) for c in CAMERAS])


def with_before(event: DetectionEvent, minutes_before: float) -> DetectionEvent:
    return event.model_copy(
        update={"before_path": event.evidence_path.replace(".jpg", "_before.jpg"), "before_at": event.captured_at - timedelta(minutes=minutes_before)}
    )


def test_the_first_before_frame_stays_on_the_alert(factory, cameras):
    first = with_before(detection("tower-a", at(0)), 1)
    created = ingest_detection(factory, first, RULES).created[0]
    later = with_before(detection("tower-a", at(2)), 0.5)  # a frame inside the fire the detector missed
    assert ingest_detection(factory, later, RULES).updated == [created]
    with factory() as session:
        view = alert_view(get_alert(session, created))
    assert view["before_url"] == f"/api/evidence/{first.before_path}"
    assert view["before_at"] == (at(0) - timedelta(minutes=1)).isoformat()

    plain = ingest_detection(factory, detection("tower-b", at(0)), RULES).created[0]
    with factory() as session:
        view = alert_view(get_alert(session, plain))
    assert view["before_url"] is None and view["before_at"] is None


def test_a_before_frame_needs_its_time_and_a_contained_path():
    event = detection("tower-a", at(0))
    with pytest.raises(ValidationError, match="before_path and before_at go together"):
        DetectionEvent(**{**event.model_dump(), "before_path": "tower-a/x_before.jpg"})
    with pytest.raises(ValidationError, match="must not contain '..'"):
        DetectionEvent(**{**event.model_dump(), "before_path": "../x.jpg", "before_at": at(-1)})
    with pytest.raises(ValidationError, match="before_at must not be after captured_at"):
        DetectionEvent(**{**event.model_dump(), "before_path": "tower-a/x_before.jpg", "before_at": at(1)})


def test_retention_deletes_old_dismissed_evidence_and_keeps_fires_and_open_alerts(factory, cameras, evidence_dir):
    def alert(camera: str, day: float, status_path: list[str], box=None) -> tuple[int, DetectionEvent]:
        event = with_before(detection(camera, at(day * 24 * 60), box=box, evidence_path=f"{camera}/day{day}/frame.jpg"), 1)
        write_jpeg(evidence_dir, event.evidence_path)
        write_jpeg(evidence_dir, event.before_path)
        alert_id = ingest_detection(factory, event, RULES).created[0]
        for status in status_path:
            apply_verdict(factory, alert_id, status, "olivia", "", False, [])
        return alert_id, event

    old_dismissed, e1 = alert("tower-a", 0, ["dismissed"])
    old_other, e2 = alert("tower-b", 0, ["other_smoke"], box=[0.1, 0.1, 0.2, 0.2])
    old_new, e3 = alert("tower-a", 1, [], box=[0.7, 0.1, 0.8, 0.2])
    old_acknowledged, e4 = alert("tower-b", 1, ["acknowledged"], box=[0.7, 0.1, 0.8, 0.2])
    old_confirmed, e5 = alert("tower-a", 2, ["confirmed"])
    old_out, e6 = alert("tower-b", 2, ["confirmed", "out"])
    recent_dismissed, e7 = alert("tower-a", 90, ["dismissed"])
    # One event seen as two places: two alerts share its evidence file; one is kept, one dismissed.
    shared = detection("tower-b", at(3 * 24 * 60), box=[0.1, 0.1, 0.2, 0.2], extra=[BoxDetection(label="smoke", score=0.7, box=[0.7, 0.5, 0.8, 0.6])])
    write_jpeg(evidence_dir, shared.evidence_path)
    pair = ingest_detection(factory, shared, RULES).created
    assert len(pair) == 2
    apply_verdict(factory, pair[0], "dismissed", "olivia", "", False, [], reason="dust")
    apply_verdict(factory, pair[1], "confirmed", "olivia", "", False, [])

    now = at(100 * 24 * 60)
    assert sweep(factory, evidence_dir, 0, now=now).alerts == 0, "0 days keeps everything"
    result = sweep(factory, evidence_dir, 30, now=now)
    assert (result.alerts, result.files) == (3, 4)  # two alerts' frame + before, the shared file stays
    for event in (e1, e2):
        assert not (evidence_dir / event.evidence_path).exists() and not (evidence_dir / event.before_path).exists()
    for event in (e3, e4, e5, e6, e7):
        assert (evidence_dir / event.evidence_path).exists() and (evidence_dir / event.before_path).exists()
    assert (evidence_dir / shared.evidence_path).exists(), "a confirmed alert still shows it"
    assert not (evidence_dir / "tower-a" / "day0").exists(), "emptied folders go too"
    assert (evidence_dir / "tower-a" / "day1").exists()

    with factory() as session:
        marked = {a.id for a in session.query(Alert).filter(Alert.evidence_deleted_at.is_not(None))}
    assert marked == {old_dismissed, old_other, pair[0]}
    assert sweep(factory, evidence_dir, 30, now=now).alerts == 0, "each alert is swept once"
    assert {old_new, old_acknowledged, old_confirmed, old_out, recent_dismissed}.isdisjoint(marked)


def test_retention_days_is_one_config_field_with_a_checked_value():
    assert AlertingConfig().evidence_retention_days == 90
    with pytest.raises(ValidationError, match="evidence_retention_days"):
        AlertingConfig(evidence_retention_days=-1)


def test_the_service_runs_the_sweep_with_the_configured_days(make_settings, tmp_path):
    from alerting.service import Service
    from alerting.store.db import session_factory

    settings = make_settings(alerting={"evidence_retention_days": 30})
    service = Service(settings, api=False, consume=False, dispatch=False)
    factory = session_factory(service.engine)
    evidence_dir = Path(settings.streams.evidence_dir)
    event = detection("tower-a", at(0))  # 2025: long past 30 days
    write_jpeg(evidence_dir, event.evidence_path)
    alert_id = ingest_detection(factory, event, RULES).created[0]
    apply_verdict(factory, alert_id, "dismissed", "olivia", "", False, [], reason="fog_haze")
    service.start_workers()  # sweeps at once, then hourly
    try:
        deadline = time.monotonic() + 10
        while (evidence_dir / event.evidence_path).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not (evidence_dir / event.evidence_path).exists()
        assert any(t.name == "pinewatch-retention" and t.is_alive() for t in threading.enumerate())
    finally:
        service.stop()
    keeper = Service(make_settings(alerting={"evidence_retention_days": 0}), api=False, consume=False, dispatch=False)
    try:
        assert keeper.retention is None, "0 days: no sweep at all"
    finally:
        keeper.stop()
