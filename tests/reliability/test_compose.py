"""docker-compose.yml agrees with the code: commands, PINEWATCH_* names, ports, paths, and Redis
with AOF. No container engine runs here, so this is what can be proven without one."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from alerting.store.tokens import MIN_BOOTSTRAP_LENGTH
from pinewatch.cli import build_parser
from pinewatch.core.config import PROJECT_ROOT, Settings, load_settings

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES = COMPOSE["services"]
PINEWATCH = {name: s for name, s in SERVICES.items() if s.get("image", "").startswith("pinewatch")}
_INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[?-][^}]*)?\}")


def _env(service: dict) -> dict[str, str]:
    """The service's environment with compose's ${VAR:?…} filled in with stand-in values."""
    return {k: _INTERPOLATION.sub(lambda m: f"{m.group(1).lower()}-stand-in-value", str(v)) for k, v in service["environment"].items()}


def _mount(service: dict, target_prefix: str) -> str | None:
    for volume in service["volumes"]:
        source, target = volume.split(":")[:2]
        if target_prefix == target or target_prefix.startswith(target.rstrip("/") + "/"):
            return source
    return None


def test_there_are_an_api_and_a_worker_on_the_one_image():
    commands = {name: s["command"][0] for name, s in PINEWATCH.items()}
    assert set(commands.values()) == {"run", "serve"}
    entrypoint = re.search(r'^ENTRYPOINT \["(\w+)"\]', (PROJECT_ROOT / "Dockerfile").read_text(), re.M)
    assert entrypoint and entrypoint.group(1) == "pinewatch"


@pytest.mark.parametrize("name", sorted(PINEWATCH))
def test_commands_are_pinewatch_commands_and_the_config_is_mounted(name):
    command = PINEWATCH[name]["command"]
    args = build_parser().parse_args(command)
    assert args.func.__module__ == f"pinewatch.commands.{command[0]}"
    assert _mount(PINEWATCH[name], args.config) == "./cameras.yaml"
    assert (PROJECT_ROOT / "cameras.example.yaml").is_file()  # what the header says to copy


def _settings_field(parts: list[str]) -> bool:
    model: type = Settings
    for part in parts:
        field = model.model_fields.get(part)
        if field is None:
            return False
        model = field.annotation
    return True


@pytest.mark.parametrize("name", sorted(PINEWATCH))
def test_every_pinewatch_variable_is_a_settings_field(name):
    for key in PINEWATCH[name]["environment"]:
        if key.startswith("PINEWATCH_"):
            assert _settings_field(key.removeprefix("PINEWATCH_").lower().split("__")), key


@pytest.mark.parametrize("name", sorted(PINEWATCH))
def test_settings_from_the_compose_environment(name, monkeypatch):
    for key, value in _env(PINEWATCH[name]).items():
        monkeypatch.setenv(key, value)
    settings = load_settings(PROJECT_ROOT / "cameras.example.yaml")
    redis_url = urlsplit(settings.redis.url)
    assert (redis_url.hostname, redis_url.port) == ("redis", 6379)
    assert "--appendonly" in SERVICES["redis"]["command"]
    assert SERVICES["redis"]["command"][SERVICES["redis"]["command"].index("--appendonly") + 1] == "yes"
    data_volume = _mount(PINEWATCH[name], str(settings.streams.evidence_dir))
    assert data_volume in COMPOSE["volumes"]  # on the shared named volume, not in the container
    if PINEWATCH[name]["command"][0] == "run":
        assert _mount(PINEWATCH[name], str(settings.redis.spool_dir)) in COMPOSE["volumes"]
    else:
        database = urlsplit(settings.alerting.database_url)
        postgres = SERVICES["postgres"]["environment"]
        assert database.hostname == "postgres" and database.port == 5432
        assert (database.username, database.path.lstrip("/")) == (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"])
        assert "${PG_PASSWORD" in PINEWATCH[name]["environment"]["PINEWATCH_ALERTING__DATABASE_URL"]
        assert "${PG_PASSWORD" in postgres["POSTGRES_PASSWORD"]  # one secret, from the environment
        assert len(settings.api.bootstrap_token) >= MIN_BOOTSTRAP_LENGTH
        published = [p.split(":") for p in PINEWATCH[name]["ports"]]
        assert [int(container) for _, container in published] == [settings.api.port]
        assert settings.api.host == "0.0.0.0"  # reachable through the published port
        probe = " ".join(PINEWATCH[name]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{settings.api.port}/healthz" in probe


def test_api_and_worker_share_the_evidence_directory():
    dirs = {_env(s)["PINEWATCH_STREAMS__EVIDENCE_DIR"] for s in PINEWATCH.values()}
    assert len(dirs) == 1
    [evidence_dir] = dirs
    sources = {_mount(s, evidence_dir) for s in PINEWATCH.values()}
    assert len(sources) == 1 and sources.pop() in COMPOSE["volumes"]


def test_the_data_volume_is_the_image_users_home():
    """A named volume mounted on a directory the image made for its user is writable by it."""
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    home = re.search(r"useradd [^\n]*--home (\S+) pinewatch", dockerfile).group(1)
    assert re.search(rf"chown pinewatch {re.escape(home)}", dockerfile)
    for service in PINEWATCH.values():
        assert f"pinewatch-data:{home}" in service["volumes"]


def _check_jsonschema() -> str | None:
    here = Path(sys.executable).with_name("check-jsonschema")
    return str(here) if here.exists() else shutil.which("check-jsonschema")


@pytest.mark.skipif(_check_jsonschema() is None, reason="check-jsonschema (PyPI) is not installed")
def test_compose_file_validates_against_the_compose_spec():
    result = subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workers_split_the_cameras_into_shards_each_with_its_own_spool():
    from pinewatch.core.shard import parse_shard

    workers = {name: s for name, s in PINEWATCH.items() if s["command"][0] == "run"}
    shards = [parse_shard(build_parser().parse_args(s["command"]).shard) for s in workers.values()]
    assert len(workers) >= 2 and {s.count for s in shards} == {len(workers)}
    assert sorted(s.index for s in shards) == list(range(len(workers)))  # each shard run once
    spools = {_env(s)["PINEWATCH_REDIS__SPOOL_DIR"] for s in workers.values()}
    assert len(spools) == len(workers)  # a spool belongs to one process
    for service in workers.values():
        assert service["healthcheck"] == {"disable": True}  # no HTTP in a worker
