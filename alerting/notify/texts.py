"""Notification text in the recipient's language (Vietnamese or English)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from alerting.api.schemas import AlertOut
from alerting.coords import format_point

TELEGRAM_CAPTION_LIMIT = 1024


@dataclass(frozen=True)
class AlertSummary:
    """What a message says about an alert, read from the store when it is sent."""

    alert_id: int
    kind: str  # "new", "confirmed" or "escalated" (issue 12)
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
    danger_level: int | None = None  # issue 12: the camera's fire-danger level (1-5) the day it opened

    @classmethod
    def of(cls, alert: AlertOut, kind: str, link: str) -> AlertSummary:
        """From the one alert shape (alerting.views.alert_model), never from the row field by field."""
        # The incident's one point (all its cameras' cones) when there is one, else the alert's own.
        location = (alert.incident.location if alert.incident else None) or alert.location
        return cls(
            alert_id=alert.id, kind=kind, camera_id=alert.camera_id, camera_name=alert.camera_name,
            label=alert.label, score=alert.score, first_seen=alert.first_seen, last_seen=alert.last_seen,
            frame_count=alert.frame_count, bearing_deg=alert.bearing_deg,
            latitude=location.latitude if location else None, longitude=location.longitude if location else None,
            uncertainty_m=location.uncertainty_m if location else None, link=link, danger_level=alert.danger_level,
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
        "location": "Estimated location: {point}",
        "link": "Details: {link}",
        "alert": "Alert #{id}",
        # issue 12: fire-danger level, escalation, SMS (GSM-7, sent without diacritics)
        "subject_escalated": "[pinewatch] NOT ACKNOWLEDGED: {label} at {camera}",
        "headline_escalated": "Nobody has acknowledged this {label} alert from camera {camera} yet: it is passed on to you.",
        "danger": "Fire-danger level: {roman} ({name})",
        "danger_names": {1: "low", 2: "moderate", 3: "high", 4: "dangerous", 5: "extremely dangerous"},
        "sms_kind": {"new": "PINEWATCH {LABEL}", "confirmed": "PINEWATCH CONFIRMED {LABEL}", "escalated": "PINEWATCH UNANSWERED {LABEL}"},
        "sms_level": " level {roman}",
        "sms_bearing": ", bearing {bearing:.0f} deg",
        "sms": "{kind} #{id}{level}: {camera}{bearing}, {time}. {link}",
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
        "location": "Vị trí ước tính: {point}",
        "link": "Chi tiết: {link}",
        "alert": "Cảnh báo #{id}",
        # issue 12
        "subject_escalated": "[pinewatch] CHƯA AI TIẾP NHẬN: {label} tại {camera}",
        "headline_escalated": "Cảnh báo {label} của camera {camera} chưa được ai tiếp nhận: chuyển tiếp cho anh/chị.",
        "danger": "Cấp dự báo cháy rừng: cấp {roman} ({name})",
        "danger_names": {1: "thấp", 2: "trung bình", 3: "cao", 4: "nguy hiểm", 5: "cực kỳ nguy hiểm"},
        "sms_kind": {"new": "CẢNH BÁO {LABEL}", "confirmed": "ĐÃ XÁC NHẬN {LABEL}", "escalated": "CHƯA XỬ LÝ {LABEL}"},
        "sms_level": " cấp {roman}",
        "sms_bearing": ", hướng {bearing:.0f} độ",
        "sms": "{kind} #{id}{level} tại {camera}{bearing}, {time}. {link}",
    },
}

LANGUAGES = tuple(_STRINGS)


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


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
    if summary.danger_level is not None:  # issue 12
        lines.insert(2, danger_line(summary.danger_level, language))
    if summary.bearing_deg is not None:
        lines.append(strings["bearing"].format(bearing=summary.bearing_deg))
    if summary.latitude is not None and summary.longitude is not None:
        # Only the digits the uncertainty supports (alerting.coords).
        lines.append(strings["location"].format(point=format_point(summary.latitude, summary.longitude, summary.uncertainty_m)))
    lines.append(strings["link"].format(link=summary.link))
    return Text(subject=subject, body="\n".join(lines))


# --- issue 12: the fire-danger level line, one-SMS texts -----------------------

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V"}
SMS_LIMIT = 160  # GSM-7 septets in one SMS; UCS-2 (needed for diacritics) would allow only 70
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€")  # each takes two septets (escape + character)
MIN_CAMERA_CHARS = 8


def danger_line(level: int, language: str) -> str:
    strings = _STRINGS[language]
    return strings["danger"].format(roman=ROMAN[level], name=strings["danger_names"][level])


def gsm7_length(text: str) -> int | None:
    """Septets the text takes in GSM-7, or None when a character is not in GSM-7."""
    length = 0
    for char in text:
        if char in _GSM7_BASIC:
            length += 1
        elif char in _GSM7_EXTENDED:
            length += 2
        else:
            return None
    return length


def without_diacritics(text: str) -> str:
    """Vietnamese as rangers' SMS write it (Cấp -> Cap, đ -> d); anything else outside GSM-7 becomes '?'."""
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return "".join(c if gsm7_length(c) is not None else "?" for c in plain)


def render_sms(summary: AlertSummary, language: str, timezone: str) -> str:
    """One GSM-7 SMS (at most SMS_LIMIT septets): kind, alert, level, camera, bearing, local time, link.
    A long camera name is shortened to fit; the link is never cut."""
    strings = _STRINGS[language]
    label = strings["label"].get(summary.label, summary.label)
    kind = strings["sms_kind"][summary.kind].format(LABEL=label.upper())
    local = summary.first_seen.astimezone(ZoneInfo(timezone))
    values = {
        "kind": kind,
        "id": summary.alert_id,
        "level": strings["sms_level"].format(roman=ROMAN[summary.danger_level]) if summary.danger_level else "",
        "bearing": strings["sms_bearing"].format(bearing=summary.bearing_deg) if summary.bearing_deg is not None else "",
        "time": local.strftime("%H:%M %d/%m"),
        "link": summary.link,
    }
    camera = without_diacritics(summary.camera_name)
    text = without_diacritics(strings["sms"].format(camera=camera, **values))
    over = gsm7_length(text) - SMS_LIMIT
    if over > 0 and len(camera) > MIN_CAMERA_CHARS:
        camera = camera[: max(MIN_CAMERA_CHARS, len(camera) - over - 1)].rstrip() + "."
        text = without_diacritics(strings["sms"].format(camera=camera, **values))
    if gsm7_length(text) > SMS_LIMIT:  # only a very long public_base_url gets here: keep the link whole
        head = text[: -len(summary.link)]
        text = head[: max(0, SMS_LIMIT - gsm7_length(summary.link) - 1)] + " " + summary.link
    return text
