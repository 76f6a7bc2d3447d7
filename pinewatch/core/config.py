"""The one configuration model: YAML file + PINEWATCH_* environment variables, one set of defaults.

Every component receives its section of `Settings`; no component defines a
default of its own for a value that lives here. Environment variables override
the file; nested fields use a double underscore, e.g. PINEWATCH_REDIS__URL or
PINEWATCH_DETECTOR__THREADS.
"""

from __future__ import annotations

import os
import re
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
# fp32: int8 lost 3.9 points of val mAP50 (models/MODEL_CARD.md), over the 1-point budget.
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

    @field_validator("masks")
    @classmethod
    def _polygons(cls, masks: list[list[Point]]) -> list[list[Point]]:
        for polygon in masks:
            if len(polygon) < 3:
                raise ValueError("a mask polygon needs at least 3 points")
            for x, y in polygon:
                if not (0 <= x <= 1 and 0 <= y <= 1):
                    raise ValueError(f"mask point {(x, y)} is outside 0..1")
        return masks


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

    channel: Literal["webhook", "email", "telegram"]
    to: str = Field(min_length=1, description="webhook URL, e-mail address or Telegram chat id")
    language: Literal["vi", "en"] | None = Field(default=None, description="empty: notify.language")


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
        for camera in self.cameras:
            if camera.id in seen:
                raise ValueError(f"duplicate camera id {camera.id!r}")
            seen.add(camera.id)
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
