"""Point 8 of issue 14: message fields have length limits, so SQLite and PostgreSQL see the
same thing (a 10 MB `model` is refused at the boundary, not stored by one and not the other)."""

from __future__ import annotations

import json

import pytest

from pinewatch.core.messages import MessageError, decode, encode
from tests.alerting.helpers import at, detection, health


def _with(message, **changes) -> dict[str, str]:
    fields = encode(message)
    payload = json.loads(fields["payload"])
    payload.update(changes)
    return {**fields, "payload": json.dumps(payload)}


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"model": "m" * 10_000_000}, "model"),
        ({"event_id": "e" * 201}, "event_id"),
        ({"camera_id": "c" * 201}, "camera_id"),
        ({"frame_width": 2**70}, "frame_width"),
        ({"frame_height": 100_001}, "frame_height"),
        ({"detections": [{"label": "smoke", "score": 0.5, "box": [0, 0, 1, 1]}] * 1001}, "detections"),
    ],
)
def test_detection_fields_are_bounded(changes, field):
    with pytest.raises(MessageError, match=field) as caught:
        decode(_with(detection("tower-a", at(0)), **changes))
    assert len(str(caught.value)) < 2000  # the reason does not repeat the 10 MB input


def test_health_detail_is_bounded_without_losing_the_event():
    """A worker must always be able to report; an over-long detail is cut, not refused."""
    event = decode(_with(health("tower-a", "error", at(0)), detail="d" * 5_000_000))
    assert len(event.detail) == 2000 and event.detail.endswith("…")
    assert decode(_with(health("tower-a", "error", at(0)), detail="d" * 2000)).detail == "d" * 2000
