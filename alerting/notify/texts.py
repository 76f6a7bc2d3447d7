"""Notification text in the recipient's language (Vietnamese or English)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerting.api.schemas import AlertOut

TELEGRAM_CAPTION_LIMIT = 1024


@dataclass(frozen=True)
class AlertSummary:
    """What a message says about an alert, read from the store when it is sent."""

    alert_id: int
    kind: str  # "new" or "confirmed"
    camera_id: str
    camera_name: str
    label: str
    score: float
    first_seen: datetime
    last_seen: datetime
    frame_count: int
    bearing_deg: float | None
    latitude: float | None
    longitude: float | None
    uncertainty_m: float | None
    link: str

    @classmethod
    def of(cls, alert: AlertOut, kind: str, link: str) -> AlertSummary:
        """From the one alert shape (alerting.views.alert_model), never from the row field by field."""
        location = alert.location
        return cls(
            alert_id=alert.id, kind=kind, camera_id=alert.camera_id, camera_name=alert.camera_name,
            label=alert.label, score=alert.score, first_seen=alert.first_seen, last_seen=alert.last_seen,
            frame_count=alert.frame_count, bearing_deg=alert.bearing_deg,
            latitude=location.latitude if location else None, longitude=location.longitude if location else None,
            uncertainty_m=location.uncertainty_m if location else None, link=link,
        )


@dataclass(frozen=True)
class Text:
    subject: str
    body: str

    @property
    def caption(self) -> str:
        if len(self.body) <= TELEGRAM_CAPTION_LIMIT:
            return self.body
        return self.body[: TELEGRAM_CAPTION_LIMIT - 1] + "…"


_STRINGS = {
    "en": {
        "label": {"smoke": "smoke", "fire": "fire"},
        "subject_new": "[pinewatch] {Label} detected at {camera}",
        "subject_confirmed": "[pinewatch] CONFIRMED {label} at {camera}",
        "headline_new": "Possible {label} detected by camera {camera}.",
        "headline_confirmed": "An operator CONFIRMED {label} seen by camera {camera}.",
        "first_seen": "First seen: {time}",
        "last_seen": "Last seen: {time} ({frames} frames)",
        "score": "Confidence: {score:.0%}",
        "bearing": "Bearing from the camera: {bearing:.0f}°",
        "location": "Estimated location: {lat:.5f}, {lon:.5f} (± {radius})",
        "link": "Details: {link}",
        "alert": "Alert #{id}",
    },
    "vi": {
        "label": {"smoke": "khói", "fire": "lửa"},
        "subject_new": "[pinewatch] Phát hiện {label} tại {camera}",
        "subject_confirmed": "[pinewatch] ĐÃ XÁC NHẬN {label} tại {camera}",
        "headline_new": "Camera {camera} có thể đã phát hiện {label}.",
        "headline_confirmed": "Nhân viên trực đã XÁC NHẬN {label} do camera {camera} phát hiện.",
        "first_seen": "Phát hiện lần đầu: {time}",
        "last_seen": "Lần cuối: {time} ({frames} khung hình)",
        "score": "Độ tin cậy: {score:.0%}",
        "bearing": "Hướng từ camera: {bearing:.0f}°",
        "location": "Vị trí ước tính: {lat:.5f}, {lon:.5f} (± {radius})",
        "link": "Chi tiết: {link}",
        "alert": "Cảnh báo #{id}",
    },
}

LANGUAGES = tuple(_STRINGS)


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _radius(metres: float | None) -> str:
    if metres is None:
        return "?"
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"


def render(summary: AlertSummary, language: str) -> Text:
    strings = _STRINGS[language]
    label = strings["label"].get(summary.label, summary.label)
    names = {"label": label, "Label": label[:1].upper() + label[1:], "camera": summary.camera_name}
    subject = strings[f"subject_{summary.kind}"].format(**names)
    lines = [
        strings[f"headline_{summary.kind}"].format(**names),
        strings["alert"].format(id=summary.alert_id),
        strings["first_seen"].format(time=_time(summary.first_seen)),
        strings["last_seen"].format(time=_time(summary.last_seen), frames=summary.frame_count),
        strings["score"].format(score=summary.score),
    ]
    if summary.bearing_deg is not None:
        lines.append(strings["bearing"].format(bearing=summary.bearing_deg))
    if summary.latitude is not None and summary.longitude is not None:
        lines.append(
            strings["location"].format(
                lat=summary.latitude, lon=summary.longitude, radius=_radius(summary.uncertainty_m)
            )
        )
    lines.append(strings["link"].format(link=summary.link))
    return Text(subject=subject, body="\n".join(lines))
