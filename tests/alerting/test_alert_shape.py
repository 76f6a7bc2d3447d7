"""Issue 13.7: one alert shape. REST, the SSE `alert` event and the webhook body carry the same
fields and values for one alert, all built from the stored row by alerting.views.alert_model."""

from __future__ import annotations

import warnings
from datetime import timedelta

from alerting.api.app import create_app
from alerting.api.schemas import AlertOut
from alerting.ingest import Rules, ingest_detection
from alerting.metrics import Metrics
from alerting.notify.dispatcher import Dispatcher
from alerting.notify.outbox import Recipient
from alerting.store.db import session_factory
from alerting.store.repository import upsert_cameras
from alerting.store.tokens import create_token
from tests.alerting.helpers import at, detection

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_rest_sse_and_webhook_carry_one_alert_shape(make_settings, sqlite_engine, redis_client, http_recorder, tmp_path):
    settings = make_settings(alerting={"notify": {"webhook_secret": "k", "poll_s": 0.1}})
    factory = session_factory(sqlite_engine)
    upsert_cameras(factory, settings.cameras)
    app = create_app(settings, engine=sqlite_engine, redis_client=redis_client)
    feed = app.state.ctx.feed
    feed.poll()  # the live feed's baseline: what follows is a change
    rules = Rules(timedelta(minutes=30), timedelta(minutes=30), 50_000, 0.5, (Recipient("webhook", http_recorder.url + "/hook", "vi"),))
    (alert_id,) = ingest_detection(factory, detection("tower-a", at(0)), rules).created
    ingest_detection(factory, detection("tower-b", at(1), box=[0.2, 0.3, 0.3, 0.4]), rules)  # a second camera: a located point

    sse = {data["id"]: data for name, data in feed.poll() if name == "alert"}[alert_id]
    token = create_token(sqlite_engine, "ron", "ranger")
    with TestClient(app) as client:
        detail = client.get(f"/api/alerts/{alert_id}", headers={"Authorization": f"Bearer {token}"}).json()
        listed = client.get("/api/alerts", headers={"Authorization": f"Bearer {token}"}).json()["items"]
    rest = next(a for a in listed if a["id"] == alert_id)

    dispatcher = Dispatcher(factory, settings.alerting.notify, tmp_path / "evidence", settings.alerting.public_base_url, Metrics())
    try:
        dispatcher.run_once()
        bodies = [r.json() for r in http_recorder.wait_for("/hook", count=2)]
    finally:
        dispatcher.close()
    webhook = next(b["alert"] for b in bodies if b["alert"]["id"] == alert_id)

    fields = set(AlertOut.model_fields)
    assert set(rest) == set(sse) == set(webhook) == fields
    assert rest == sse == webhook  # same values, same formatting (times included)
    assert {k: detail[k] for k in fields} == rest  # the detail view is the same alert plus frames and verdicts
    notice = next(b for b in bodies if b["alert"]["id"] == alert_id)
    assert rest["camera_name"] in notice["text"] and notice["link"].endswith(f"?alert={alert_id}")
