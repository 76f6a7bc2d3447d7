import json
from datetime import datetime, timedelta, timezone

import pytest

from pinewatch.core.messages import (
    SCHEMA_VERSION,
    BoxDetection,
    DetectionEvent,
    HealthEvent,
    MessageError,
    decode,
    encode,
)


def _event(**changes) -> DetectionEvent:
    fields = dict(
        event_id="tower-1:1700000000000",
        camera_id="tower-1",
        captured_at=datetime(2026, 11, 23, 5, 0, tzinfo=timezone(timedelta(hours=7))),
        detections=[BoxDetection(label="smoke", score=0.8, box=[0.1, 0.2, 0.3, 0.4])],
        evidence_path="tower-1/2026/11/23/050000.jpg",
        frame_width=1280,
        frame_height=720,
    )
    fields.update(changes)
    return DetectionEvent(**fields)


def test_round_trip_through_redis_fields():
    event = _event()
    fields = encode(event)
    assert fields["schema_version"] == str(SCHEMA_VERSION) and fields["type"] == "detection"
    as_bytes = {k.encode(): v.encode() for k, v in fields.items()}
    decoded = decode(as_bytes)
    assert decoded == event
    assert decoded.captured_at.utcoffset() == timedelta(0)  # normalised to UTC
    assert decoded.captured_at.hour == 22


def test_health_round_trip():
    event = HealthEvent(camera_id="tower-2", at=datetime.now(timezone.utc), status="frozen", detail="same image 6 times")
    assert decode(encode(event)) == event


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"schema_version": "99", "type": "detection", "payload": "{}"}, "schema_version"),
        ({"type": "detection", "payload": "{}"}, "schema_version"),
        ({"schema_version": "1", "type": "gossip", "payload": "{}"}, "unknown message type"),
        ({"schema_version": "1", "type": "detection", "payload": "{not json"}, "not JSON"),
        ({"schema_version": "1", "type": "detection", "payload": "{}"}, "invalid detection payload"),
    ],
)
def test_malformed_entries_say_why(fields, reason):
    with pytest.raises(MessageError, match=reason):
        decode(fields)


def test_box_outside_frame_is_invalid():
    payload = json.loads(encode(_event())["payload"])
    payload["detections"][0]["box"] = [0.5, 0.5, 0.4, 1.2]
    with pytest.raises(MessageError, match="box"):
        decode({"schema_version": "1", "type": "detection", "payload": json.dumps(payload)})


def test_naive_timestamp_is_invalid():
    payload = json.loads(encode(_event())["payload"])
    payload["captured_at"] = "2026-11-23T05:00:00"
    with pytest.raises(MessageError, match="timezone"):
        decode({"schema_version": "1", "type": "detection", "payload": json.dumps(payload)})


def test_event_needs_a_detection():
    with pytest.raises(ValueError):
        _event(detections=[])
