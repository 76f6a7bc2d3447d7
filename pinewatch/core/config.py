"""The one configuration model: YAML file + PINEWATCH_* environment variables, one set of defaults.

Every component receives its section of `Settings`; no component defines a
default of its own for a value that lives here. Environment variables override
the file; nested fields use a double underscore, e.g. PINEWATCH_REDIS__URL or
PINEWATCH_DETECTOR__THREADS.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The shipped models and sample clips: package data in an installed wheel (setup.py copies
# them to pinewatch/assets/), the top-level models/ and sample_videos/ in a source checkout.
_PACKAGED_ASSETS = Path(__file__).resolve().parents[1] / "assets"
ASSETS_ROOT = _PACKAGED_ASSETS if _PACKAGED_ASSETS.is_dir() else PROJECT_ROOT
# fp32: the int8 file is within 1 point of its val mAP50 but alerts on rm-w 2-3 minutes later
# (models/MODEL_CARD.md, "Choosing the default variant"; benchmarks/INT8.md).
DEFAULT_MODEL = ASSETS_ROOT / "models" / "pinewatch-smoke.onnx"
SAMPLE_VIDEOS_DIR = ASSETS_ROOT / "sample_videos"


class ConfigError(ValueError):
    """Invalid configuration; the message names each bad field."""


def existing_file(path: Path, setting: str, what: str) -> Path:
    """`path` when it is a file, else ConfigError naming the path and the setting that chose it."""
    if not Path(path).is_file():
        variable = "PINEWATCH_" + setting.upper().replace(".", "__")
        raise ConfigError(f"{setting}: {what} not found: {path} (set {setting} in the config file or {variable})")
    return Path(path)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


Point = tuple[float, float]


def check_masks(masks: list[list[Point]]) -> list[list[Point]]:
    for polygon in masks:
        if len(polygon) < 3:
            raise ValueError("a mask polygon needs at least 3 points")
        for x, y in polygon:
            if not (0 <= x <= 1 and 0 <= y <= 1):
                raise ValueError(f"mask point {(x, y)} is outside 0..1")
    return masks


# --- issue 12: PTZ presets as virtual cameras (streams/sources/ptz.py, streams/patrol.py) ---
class PtzConfig(_Section):
    """How to move a PTZ camera to a preset: its HTTP API (URL template) or ONVIF GotoPreset."""

    protocol: Literal["http", "onvif"]
    url: str = Field(
        min_length=1, description="http: the move URL, {preset} replaced by the preset's token; onvif: the PTZ service URL"
    )
    method: Literal["GET", "POST", "PUT"] = Field(default="GET", description="http only")
    body: str = Field(default="", description="http only: request body, {preset} replaced by the preset's token")
    profile_token: str = Field(default="", description="onvif: the media profile's ProfileToken")
    username: str = Field(default="", description="http: basic or digest auth; onvif: WS-Security UsernameToken")
    password: str = ""
    auth: Literal["basic", "digest"] = Field(default="digest", description="http only, with username")
    settle_s: float = Field(default=3.0, ge=0, description="wait after a move before taking the frame")
    timeout_s: float = Field(default=5.0, gt=0, description="one move request's network timeout")
    retries: int = Field(default=2, ge=0, description="extra tries of a failed move (streams.reconnect_min_s backoff)")
    stuck_max_bits: int = Field(
        default=6, ge=0, le=63, description="presets whose 64-bit picture hashes differ by at most this many bits show the same picture"
    )

    @model_validator(mode="after")
    def _templates(self) -> "PtzConfig":
        from urllib.parse import urlparse

        if urlparse(self.url.replace("{preset}", "1")).scheme not in ("http", "https"):
            raise ValueError("url must be an http(s) URL")
        if self.protocol == "http":
            if "{preset}" not in self.url and "{preset}" not in self.body:
                raise ValueError("an http PTZ needs {preset} in url or body")
            for name in ("url", "body"):
                try:
                    getattr(self, name).format(preset="1")
                except (KeyError, IndexError, ValueError) as exc:
                    raise ValueError(f"{name}: only {{preset}} may stand in braces ({exc})") from None
        elif not self.profile_token:
            raise ValueError("an onvif PTZ needs profile_token")
        return self


class PresetConfig(_Section):
    """One preset of a PTZ camera: a virtual camera with id <camera id>.<preset id>."""

    id: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_-]+$")
    token: str = Field(min_length=1, max_length=100, description="the camera's preset number or ONVIF PresetToken")
    name: str = ""
    azimuth_deg: float | None = Field(default=None, ge=0, lt=360, description="compass bearing of the image centre at this preset")
    fov_deg: float | None = Field(default=None, gt=0, le=360, description="empty: the camera's fov_deg")
    masks: list[list[Point]] = Field(default_factory=list, description="this preset's masks, besides the camera's")

    @field_validator("masks")
    @classmethod
    def _polygons(cls, masks: list[list[Point]]) -> list[list[Point]]:
        return check_masks(masks)
# --- end issue 12 (PTZ) ---


class CameraConfig(_Section):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = ""
    source: str = Field(min_length=1, description="rtsp://, http(s):// snapshot URL, video file or image folder")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    azimuth_deg: float | None = Field(default=None, ge=0, lt=360, description="compass bearing of the image centre")
    fov_deg: float | None = Field(default=None, gt=0, le=360, description="horizontal field of view")
    interval_s: float = Field(default=10.0, gt=0, description="seconds between sampled frames")
    masks: list[list[Point]] = Field(default_factory=list, description="polygons in normalised 0..1 image coordinates to ignore")
    enabled: bool = True
    district: str = Field(default="", max_length=100, description="district (huyện): fire-danger levels and recipient areas by district (issue 12)")

    @field_validator("district")
    @classmethod
    def _nfc(cls, value: str) -> str:
        return unicodedata.normalize("NFC", value.strip())  # "Lạc Dương" typed or pasted compares equal (issue 12)

    # issue 12: a PTZ camera patrols its presets; each preset is a camera of its own (virtual_cameras)
    ptz: PtzConfig | None = None
    presets: list[PresetConfig] = Field(default_factory=list, description="with ptz: one virtual camera per preset")

    @field_validator("masks")
    @classmethod
    def _polygons(cls, masks: list[list[Point]]) -> list[list[Point]]:
        return check_masks(masks)

    @model_validator(mode="after")
    def _presets(self) -> "CameraConfig":
        if bool(self.presets) != (self.ptz is not None):
            raise ValueError("ptz and presets go together")
        ids = [p.id for p in self.presets]
        if len(set(ids)) != len(ids):
            raise ValueError("preset ids must be unique within a camera")
        return self

    def virtual_cameras(self) -> list["CameraConfig"]:
        """The cameras detection sees: this one, or one per preset (its own id, bearing, masks and vote).
        Each preset gets a frame once per patrol round, so its interval is interval_s times the presets."""
        if not self.presets:
            return [self]
        return [
            CameraConfig(
                id=f"{self.id}.{preset.id}",
                name=preset.name or f"{self.name or self.id} · {preset.id}",
                source=self.source,
                latitude=self.latitude,
                longitude=self.longitude,
                azimuth_deg=preset.azimuth_deg,
                fov_deg=preset.fov_deg if preset.fov_deg is not None else self.fov_deg,
                interval_s=self.interval_s * len(self.presets),
                masks=[*self.masks, *preset.masks],
                enabled=self.enabled,
                district=self.district,
            )
            for preset in self.presets
        ]


def expand_cameras(cameras: list[CameraConfig]) -> list[CameraConfig]:
    """Every camera as detection and alerting see it: PTZ cameras replaced by their presets."""
    return [virtual for camera in cameras for virtual in camera.virtual_cameras()]


class DetectorConfig(_Section):
    model_path: Path = DEFAULT_MODEL
    provider: Literal["cpu", "cuda", "tensorrt", "openvino"] = "cpu"
    threads: int = Field(default=0, ge=0, description="intra-op threads; 0 = onnxruntime decides")
    imgsz: int = Field(default=640, ge=32, multiple_of=32)
    score_threshold: float = Field(default=0.25, gt=0, lt=1)
    nms_iou: float = Field(default=0.5, gt=0, le=1)
    max_box_area: float = Field(default=0.5, gt=0, le=1, description="drop boxes larger than this fraction of the frame")
    batch_size: int = Field(default=4, ge=1)
    batch_wait_ms: float = Field(default=50, ge=0, description="longest wait to fill a batch across cameras")
    pool_workers: int = Field(
        default=0, ge=0,
        description="detector worker processes, one single-thread session each (detector.pool); 0 = off: one in-process session",
    )


class TemporalConfig(_Section):
    """Sliding-window vote: alert when `min_hits` of the last `window` frames saw overlapping boxes."""

    window: int = Field(default=4, ge=1)
    min_hits: int = Field(default=2, ge=1)
    overlap_iou: float = Field(default=0.05, ge=0, le=1, description="boxes at least this IoU (or nested) count as the same place")
    release_misses: int = Field(default=3, ge=1, description="frames without smoke before the track clears (hysteresis)")
    alert_score: float = Field(default=0.25, gt=0, lt=1, description="score a detection needs to count as a hit")
    min_mean_score: float = Field(default=0.0, ge=0, lt=1, description="mean score the hits in the window need for an alert; 0 = no floor")

    @model_validator(mode="after")
    def _hits_fit_window(self) -> "TemporalConfig":
        if self.min_hits > self.window:
            raise ValueError("min_hits must not exceed window")
        return self


# --- issue 12: night and infrared frames (streams/frame_mode.py) ---
class ModeOverrides(_Section):
    """One frame mode's detector and vote values; empty = the day value (detector.score_threshold, temporal.*)."""

    score_threshold: float | None = Field(default=None, gt=0, lt=1, description="detections below this are dropped in this mode")
    alert_score: float | None = Field(default=None, gt=0, lt=1)
    min_hits: int | None = Field(default=None, ge=1, description="at most temporal.window")
    min_mean_score: float | None = Field(default=None, ge=0, lt=1)


class FrameModeConfig(_Section):
    """Each frame is day, night_ir (greyscale / infrared) or low_light; each camera runs its mode's thresholds."""

    ir_max_channel_spread: float = Field(
        default=2.0, ge=0, le=255, description="mean max-min of B, G, R (grey levels) at or below which a frame is night_ir"
    )
    low_light_max_luminance: float = Field(default=40.0, ge=0, le=255, description="mean grey level at or below which a colour frame is low_light")
    switch_after: int = Field(default=3, ge=1, description="frames in a row of another mode before a camera switches to it")
    # night_ir: measured on AI For Mankind's IR frames with the shipped model (benchmarks/NIGHT.md):
    # no box on any smoke-free IR frame from 0.20 up (1 of 53 at 0.15), every IR plume found from
    # 0.25 down; 0.20 leaves one step of margin for fainter IR smoke than those frames hold.
    night_ir: ModeOverrides = Field(default_factory=lambda: ModeOverrides(score_threshold=0.2, alert_score=0.2))
    # low_light: no dark tower frames in ../shared to measure on, so the day values until there are.
    low_light: ModeOverrides = Field(default_factory=ModeOverrides)
# --- end issue 12 (night) ---


# --- issue 12: fire-danger levels (cấp dự báo cháy rừng I-V) ---
DANGER_LEVELS = (1, 2, 3, 4, 5)
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V"}
VOTE_FIELDS = ("window", "min_hits", "alert_score", "min_mean_score")


class DangerLevelConfig(_Section):
    """One level's vote values (empty = the temporal section's) and how long a new alert may wait."""

    window: int | None = Field(default=None, ge=1)
    min_hits: int | None = Field(default=None, ge=1)
    alert_score: float | None = Field(default=None, gt=0, lt=1, description="at least detector.score_threshold")
    min_mean_score: float | None = Field(default=None, ge=0, lt=1)
    escalate_after_min: float = Field(gt=0, description="minutes unacknowledged before the next recipient tier is told")

    def overrides(self) -> dict:
        return {name: getattr(self, name) for name in VOTE_FIELDS if getattr(self, name) is not None}


def _default_levels() -> dict[int, DangerLevelConfig]:
    # Votes chosen from `pinewatch eval --skip-val --sweep` and measured with `--danger-levels`
    # (README, "Fire-danger levels"): all keep 0 false alerts on the smoke-free clips; rm-w's first
    # alert comes 10, 8, 7, 7, 6 min after ignition from I to V. The escalation minutes are policy, not measured.
    return {
        1: DangerLevelConfig(window=4, min_hits=3, alert_score=0.4, escalate_after_min=60),
        2: DangerLevelConfig(window=4, min_hits=2, alert_score=0.3, escalate_after_min=30),
        3: DangerLevelConfig(escalate_after_min=15),  # the temporal section as it is
        4: DangerLevelConfig(window=2, min_hits=2, escalate_after_min=10),
        5: DangerLevelConfig(window=1, min_hits=1, escalate_after_min=5),
    }


class FireDangerConfig(_Section):
    """The day's fire-danger level per district or camera sets the vote (and escalation) for its cameras."""

    default_level: int = Field(default=3, ge=1, le=5, description="a camera's level on a day nobody set one for it")
    timezone: str = Field(default="Asia/Ho_Chi_Minh", description="where a day starts and ends; also the time shown in SMS")
    levels: dict[int, DangerLevelConfig] = Field(default_factory=_default_levels)
    feed_url: str = Field(default="", description="HTTP(S) CSV with columns day, level and district or camera_id; empty = none")
    feed_poll_s: float = Field(default=3600.0, ge=1, description="how often the feed is read")
    feed_timeout_s: float = Field(default=10.0, gt=0)
    publish_poll_s: float = Field(default=1.0, gt=0, description="how often alerting republishes each camera's level to the workers")

    @field_validator("levels", mode="before")
    @classmethod
    def _merge_defaults(cls, levels: object) -> object:
        """A level given in the file changes only the values it names; the others keep their defaults."""
        if not isinstance(levels, dict):
            return levels
        merged = {number: level.model_dump(exclude_unset=True) for number, level in _default_levels().items()}
        for key, values in levels.items():
            try:
                number = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"level {key!r} is not one of 1, 2, 3, 4, 5") from None
            if number not in merged:
                raise ValueError(f"level {key!r} is not one of 1, 2, 3, 4, 5")
            merged[number].update(values.model_dump(exclude_unset=True) if isinstance(values, BaseModel) else dict(values or {}))
        return merged

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


def temporal_for_level(temporal: TemporalConfig, level: DangerLevelConfig) -> TemporalConfig:
    """The vote a level runs: the temporal section with the level's values (validated together)."""
    return TemporalConfig.model_validate({**temporal.model_dump(), **level.overrides()})
# --- end issue 12 (fire danger) ---


class RedisConfig(_Section):
    url: str = "redis://127.0.0.1:6379/0"
    detections_stream: str = "pinewatch:detections"
    health_stream: str = "pinewatch:health"
    dead_letter_stream: str = "pinewatch:dead-letter"
    stream_maxlen: int = Field(default=100_000, ge=1000)
    spool_dir: Path = Path("var/spool")
    spool_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    heartbeat_prefix: str = Field(default="pinewatch:heartbeat:", description="key prefix of each camera's heartbeat (expires when silent)")
    socket_timeout_s: float = Field(default=5.0, gt=0, description="connect and command timeout for Redis calls")


class StreamsConfig(_Section):
    evidence_dir: Path = Path("var/evidence")
    open_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=10.0, gt=0)
    reconnect_min_s: float = Field(default=1.0, gt=0)
    reconnect_max_s: float = Field(default=60.0, gt=0)
    offline_after_s: float = Field(default=60.0, gt=0, description="silence after which a camera is offline")
    frozen_after: int = Field(default=6, ge=2, description="identical samples in a row that mean a frozen image")
    realtime: bool = Field(default=True, description="pace video files at their frame rate")
    loop: bool = False
    max_pending_frames: int = Field(default=64, ge=1, description="frames waiting for the detector before new ones are dropped")
    detect_timeout_s: float = Field(default=30.0, gt=0, description="longest wait for the detector's answer on one frame (then counted as dropped)")
    http_retries: int = Field(default=2, ge=0, description="extra attempts for a snapshot that failed with a timeout, connection error, 408, 429 or 5xx")
    rtsp_keepalive_below_s: float = Field(
        default=5.0, gt=0, description="RTSP cameras sampled more often than this keep their connection; slower ones connect per sample"
    )


class RecipientConfig(_Section):
    """One notification recipient with its own language."""

    channel: Literal["webhook", "email", "telegram", "zalo", "sms"]
    to: str = Field(min_length=1, description="webhook URL, e-mail address, Telegram chat id, Zalo user id (a follower of the OA) or phone number")
    language: Literal["vi", "en"] | None = Field(default=None, description="empty: notify.language")


# --- issue 12: recipient groups by area, escalation ---
LatLon = tuple[float, float]


class RecipientGroupConfig(_Section):
    """Recipients who cover an area. An alert goes to the groups whose area holds it: `tier` 0 at once,
    tier n when it is still unacknowledged after n escalation steps (its fire-danger level's
    escalate_after_min each). A district-duty group also gets every fire an operator confirms in its area."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\s].*$")
    tier: int | None = Field(default=0, ge=0, le=10, description="escalation step; null: never told of new alerts (a district group that hears only of confirmed fires)")
    district_duty: bool = Field(default=False, description="the district group: told of every confirmed fire in its area")
    cameras: list[str] = Field(default_factory=list, description="camera ids")
    districts: list[str] = Field(default_factory=list, description="cameras.district values")
    polygon: list[LatLon] = Field(default_factory=list, description="[latitude, longitude] corners; holds an alert whose located point (else camera) is inside")
    recipients: list[RecipientConfig] = Field(min_length=1)

    @field_validator("districts")
    @classmethod
    def _nfc(cls, districts: list[str]) -> list[str]:
        return [unicodedata.normalize("NFC", d.strip()) for d in districts]

    @field_validator("polygon")
    @classmethod
    def _area(cls, polygon: list[LatLon]) -> list[LatLon]:
        if polygon and len(polygon) < 3:
            raise ValueError("a polygon needs at least 3 points")
        for lat, lon in polygon:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError(f"polygon point {(lat, lon)} is not [latitude, longitude]")
        return polygon

    @property
    def everywhere(self) -> bool:
        return not (self.cameras or self.districts or self.polygon)
# --- end issue 12 ---


class NotifyConfig(_Section):
    webhook_urls: list[str] = Field(default_factory=list)
    webhook_secret: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "pinewatch@localhost"
    email_to: list[str] = Field(default_factory=list)
    telegram_base_url: str = "https://api.telegram.org"
    telegram_bot_token: str = ""
    telegram_chat_ids: list[str] = Field(default_factory=list)
    language: Literal["vi", "en"] = "en"
    max_attempts: int = Field(default=8, ge=1)
    retry_base_s: float = Field(default=5.0, gt=0)
    retry_max_s: float = Field(default=3600.0, gt=0, description="longest wait between two attempts")
    timeout_s: float = Field(default=10.0, gt=0, description="one delivery attempt's network timeout")
    poll_s: float = Field(default=1.0, gt=0, description="how often the dispatcher looks for due notifications")
    threads: int = Field(default=4, ge=1, description="deliveries in flight at once")
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    recipients: list[RecipientConfig] = Field(
        default_factory=list, description="recipients with their own language, besides the lists above (which use `language`)"
    )
    # --- issue 12: Zalo, SMS, groups ---
    zalo_base_url: str = Field(default="https://openapi.zalo.me", description="Zalo OA Open API (a local server in tests)")
    zalo_access_token: str = Field(default="", description="the OA's access token; use ${ENV}")
    sms_url: str = Field(default="", description="the SMS gateway's URL; {to} and {text} are filled in (URL-encoded)")
    sms_method: Literal["POST", "GET"] = "POST"
    sms_body_format: Literal["json", "form"] = Field(default="json", description="how sms_body_template is sent (POST)")
    sms_body_template: dict[str, str] = Field(
        default_factory=lambda: {"to": "{to}", "text": "{text}"}, description="body fields; {to} and {text} are filled in (GET: query parameters)"
    )
    sms_headers: dict[str, str] = Field(default_factory=dict, description="extra request headers (an API key: use ${ENV})")
    sms_success_contains: str = Field(default="", description="the reply body must contain this to count as sent (gateways that answer 200 to a refusal)")
    groups: list[RecipientGroupConfig] = Field(default_factory=list, description="recipients by area, with escalation tiers")

    @model_validator(mode="after")
    def _groups(self) -> "NotifyConfig":
        names = [group.name for group in self.groups]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"groups: duplicate group name {', '.join(duplicates)}")
        return self
    # --- end issue 12 ---


class AlertingConfig(_Section):
    database_url: str = "sqlite:///var/pinewatch.db"
    consumer_group: str = "alerting"
    consumer_name: str = ""  # empty: hostname-pid
    claim_idle_ms: int = Field(default=60_000, ge=1000, description="reclaim messages pending this long with a dead consumer")
    alert_window_s: float = Field(default=1800, gt=0, description="detections this close in time at overlapping places join one alert")
    triangulation_window_s: float = Field(default=1800, gt=0)
    triangulation_max_range_m: float = Field(default=50_000, gt=0, description="farthest distance a camera can see smoke")
    bearing_error_deg: float = Field(default=1.0, ge=0, description="azimuth calibration error added to each side of a cone")
    read_count: int = Field(default=32, ge=1, description="entries per XREADGROUP / XAUTOCLAIM call")
    read_block_ms: int = Field(default=2000, ge=1, description="longest XREADGROUP wait")
    max_deliveries: int = Field(
        default=5, ge=1, description="a valid message whose processing fails this often goes to the dead-letter stream"
    )
    sse_poll_s: float = Field(default=1.0, gt=0, description="how often the live feed looks for changed alerts and cameras")
    public_base_url: str = "http://127.0.0.1:8000"
    evidence_retention_days: float = Field(
        default=90, ge=0,
        description="delete the evidence files of dismissed and other-smoke alerts last seen this long ago "
        "(open, confirmed and out alerts keep theirs); 0 = keep forever",
    )
    notify: NotifyConfig = Field(default_factory=NotifyConfig)


class ApiConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    bootstrap_token: str = Field(default="", description="an admin token created at start-up if set")
    metrics_public: bool = Field(default=False, description="serve /metrics without a token (scraper on a private network)")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PINEWATCH_", env_nested_delimiter="__", extra="forbid")

    redis: RedisConfig = Field(default_factory=RedisConfig)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    temporal: TemporalConfig = Field(default_factory=TemporalConfig)
    frame_mode: FrameModeConfig = Field(default_factory=FrameModeConfig)
    fire_danger: FireDangerConfig = Field(default_factory=FireDangerConfig)  # issue 12
    streams: StreamsConfig = Field(default_factory=StreamsConfig)
    alerting: AlertingConfig = Field(default_factory=AlertingConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    cameras: list[CameraConfig] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the YAML file (passed as init values).
        return env_settings, init_settings

    @model_validator(mode="after")
    def _unique_cameras(self) -> "Settings":
        seen: set[str] = set()
        for camera in expand_cameras(self.cameras):  # a preset's id must not clash with another camera's
            if camera.id in seen:
                raise ValueError(f"duplicate camera id {camera.id!r}")
            seen.add(camera.id)
        return self

    @model_validator(mode="after")
    def _danger_levels_fit(self) -> "Settings":
        """Each level's vote must be valid with the temporal section, and must not ask for scores the detector drops (issue 12)."""
        for number, level in self.fire_danger.levels.items():
            where = f"fire_danger.levels.{number}"
            try:
                vote = temporal_for_level(self.temporal, level)
            except ValidationError as exc:
                raise ValueError(f"{where}: {exc.errors(include_url=False)[0]['msg']} (with the temporal section's values)") from None
            if vote.alert_score < self.detector.score_threshold:
                raise ValueError(
                    f"{where}.alert_score ({vote.alert_score}) is below detector.score_threshold ({self.detector.score_threshold}): "
                    "the detector drops those boxes before the vote; lower detector.score_threshold too"
                )
        known = {camera.id for camera in self.cameras} | {camera.id for camera in expand_cameras(self.cameras)}
        districts = {camera.district for camera in self.cameras if camera.district}
        for i, group in enumerate(self.alerting.notify.groups):
            unknown = sorted(set(group.cameras) - known)
            if unknown:
                raise ValueError(f"alerting.notify.groups.{i}.cameras: no camera with id {', '.join(unknown)}")
            missing = sorted(set(group.districts) - districts)
            if missing and self.cameras:
                raise ValueError(f"alerting.notify.groups.{i}.districts: no camera is in district {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _patrols_fit(self) -> "Settings":
        """Each preset is seen once a round: a round slower than offline_after_s would show every
        preset offline between visits, and a settle time over the interval would skip every slot."""
        for i, camera in enumerate(self.cameras):
            if camera.ptz is None:
                continue
            round_s = camera.interval_s * len(camera.presets)
            if round_s >= self.streams.offline_after_s:
                raise ValueError(
                    f"cameras.{i}: interval_s x {len(camera.presets)} presets = {round_s:g}s must be below "
                    f"streams.offline_after_s ({self.streams.offline_after_s:g}s)"
                )
            if camera.ptz.settle_s >= camera.interval_s:
                raise ValueError(f"cameras.{i}.ptz.settle_s ({camera.ptz.settle_s:g}s) must be below interval_s ({camera.interval_s:g}s)")
        return self

    @model_validator(mode="after")
    def _mode_hits_fit_window(self) -> "Settings":
        for mode in ("night_ir", "low_light"):
            hits = getattr(self.frame_mode, mode).min_hits
            if hits is not None and hits > self.temporal.window:
                raise ValueError(f"frame_mode.{mode}.min_hits ({hits}) must not exceed temporal.window ({self.temporal.window})")
        return self


def _describe(exc: ValidationError, origin: str) -> str:
    lines = [f"invalid configuration in {origin}:"]
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        lines.append(f"  {where}: {error['msg']}")
    return "\n".join(lines)


# ${NAME} in a YAML string value is replaced by the environment variable NAME, so that
# passwords and tokens live in the environment (or a Secret), never in the file.
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _substitute_env(value, where: tuple, path) -> object:
    if isinstance(value, dict):
        return {key: _substitute_env(item, (*where, key), path) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute_env(item, (*where, i), path) for i, item in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ:
            field = ".".join(str(p) for p in where)
            raise ConfigError(f"invalid configuration in {path}:\n  {field}: environment variable {name} is not set")
        return os.environ[name]

    return _PLACEHOLDER.sub(replace, value)


def load_settings(path: str | Path | None = None, **overrides) -> Settings:
    """Read YAML (optional) plus environment; raise ConfigError naming each bad field."""
    data: dict = {}
    origin = "environment"
    if path is not None:
        origin = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        data = _substitute_env(loaded or {}, (), path)
    data.update(overrides)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from None
