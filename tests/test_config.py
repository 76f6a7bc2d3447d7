from pathlib import Path

import pytest

from pinewatch.core.config import ConfigError, Settings, load_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "cameras.example.yaml"


def test_defaults_validate():
    settings = load_settings()
    assert settings.temporal.min_hits <= settings.temporal.window
    assert settings.redis.detections_stream == "pinewatch:detections"


def test_error_names_the_field(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("cameras:\n  - id: tower-1\n    source: rtsp://x/stream\n    fov_deg: -5\n")
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert "cameras.0.fov_deg" in str(err.value)
    assert str(config) in str(err.value)


def test_unknown_field_is_rejected(tmp_path):
    config = tmp_path / "typo.yaml"
    config.write_text("detector:\n  treshold: 0.3\n")
    with pytest.raises(ConfigError, match="detector.treshold"):
        load_settings(config)


def test_mask_outside_frame_is_rejected():
    with pytest.raises(ConfigError, match="cameras.0.masks"):
        load_settings(cameras=[{"id": "a", "source": "x.mp4", "masks": [[[0, 0], [1.5, 0], [0, 1]]]}])


def test_duplicate_camera_ids_rejected():
    with pytest.raises(ConfigError, match="duplicate camera id"):
        load_settings(cameras=[{"id": "a", "source": "x"}, {"id": "a", "source": "y"}])


def test_min_hits_cannot_exceed_window():
    with pytest.raises(ConfigError, match="temporal"):
        load_settings(temporal={"window": 2, "min_hits": 3})


def test_environment_overrides_file(tmp_path, monkeypatch):
    config = tmp_path / "c.yaml"
    config.write_text("detector:\n  threads: 1\nredis:\n  url: redis://file:6379/0\n")
    monkeypatch.setenv("PINEWATCH_DETECTOR__THREADS", "2")
    settings = load_settings(config)
    assert settings.detector.threads == 2
    assert settings.redis.url == "redis://file:6379/0"


def test_bad_environment_value_names_the_field(monkeypatch):
    monkeypatch.setenv("PINEWATCH_DETECTOR__THREADS", "many")
    with pytest.raises(ConfigError, match="detector.threads"):
        load_settings()


def test_not_yaml_and_missing_file(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("cameras: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.yaml")


def test_example_config_loads():
    if not EXAMPLE.exists():
        pytest.fail("cameras.example.yaml is missing")
    settings = load_settings(EXAMPLE)
    assert settings.cameras and all(isinstance(c.id, str) for c in settings.cameras)
    assert isinstance(settings, Settings)


def test_tiling_is_gone_not_silently_ignored(tmp_path):
    """`detector.tiling` was a setting nothing read; tiles measured worse than a larger input
    (benchmarks/TILES.md), so the setting left, and a config that still sets it is refused."""
    config = tmp_path / "old.yaml"
    config.write_text("detector:\n  tiling: true\n")
    with pytest.raises(ConfigError, match="detector.tiling"):
        load_settings(config)


def test_mean_score_floor_reaches_the_vote():
    from streams.wiring import temporal_params

    assert temporal_params(Settings(temporal={"min_mean_score": 0.3}).temporal).min_mean_score == 0.3
