"""`pinewatch run --shard I/N`: the cameras of one config split across N workers (the
Kubernetes StatefulSet passes `ordinal/N`), every enabled camera in exactly one shard."""

from __future__ import annotations

import pytest
import yaml

from pinewatch.cli import main
from pinewatch.core.config import Settings
from pinewatch.core.shard import Shard, parse_shard
from streams.worker import select_cameras


def _settings(count: int, disabled: frozenset[int] = frozenset()) -> Settings:
    cameras = [{"id": f"cam{k:03d}", "source": f"{k}.mp4", "enabled": k not in disabled} for k in range(count)]
    return Settings(cameras=cameras)


@pytest.mark.parametrize("cameras,shards", [(200, 4), (7, 3), (5, 5), (3, 1), (10, 4)])
def test_every_enabled_camera_is_in_exactly_one_shard(cameras, shards):
    settings = _settings(cameras, disabled=frozenset({1, 4}) if cameras > 5 else frozenset())
    enabled = [c.id for c in settings.cameras if c.enabled]
    parts = [[c.id for c in select_cameras(settings, None, Shard(i, shards))] for i in range(shards)]
    assert sorted(sum(parts, [])) == sorted(enabled)  # all of them, none twice
    assert max(map(len, parts)) - min(map(len, parts)) <= 1  # balanced
    again = [[c.id for c in select_cameras(settings, None, Shard(i, shards))] for i in range(shards)]
    assert again == parts  # deterministic


def test_the_split_follows_config_order():
    settings = _settings(6)
    assert [c.id for c in select_cameras(settings, None, Shard(1, 3))] == ["cam001", "cam004"]


@pytest.mark.parametrize(
    "text,hostname,expected",
    [("0/4", "box", Shard(0, 4)), ("3/4", "box", Shard(3, 4)), ("ordinal/4", "pinewatch-worker-2", Shard(2, 4)),
     ("ordinal/1", "w-0", Shard(0, 1))],
)
def test_parse(text, hostname, expected):
    assert parse_shard(text, hostname) == expected


@pytest.mark.parametrize(
    "text,hostname,says",
    [("4/4", "box", "below N"), ("1/0", "box", "N >= 1"), ("x/2", "box", "a number or 'ordinal'"), ("2", "box", "I/N"),
     ("ordinal/3", "laptop", "does not end with -<number>"), ("ordinal/3", "pinewatch-worker-3", "below N")],
)
def test_bad_shards_are_refused_with_the_reason(text, hostname, says):
    with pytest.raises(ValueError, match=says):
        parse_shard(text, hostname)


def test_run_refuses_a_bad_shard_in_one_line(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"cameras": [{"id": "a", "source": "a.mp4"}]}))
    assert main(["run", "--config", str(config), "--shard", "2/2"]) == 2
    assert capsys.readouterr().err.strip() == "pinewatch: --shard 2/2: I must be below N (more workers than shards?)"


def test_a_shard_without_cameras_is_a_config_error():
    with pytest.raises(ValueError, match="no enabled camera to run in shard 2/3"):
        select_cameras(_settings(2), None, Shard(2, 3))
