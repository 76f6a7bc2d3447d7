"""Issue 13.3: the built wheel, installed into a fresh venv, finds its model and sample clips.

Offline and fast: the wheel is built without build isolation from a copy of the sources (the
working tree stays clean), installed with --no-deps, and the fresh venv borrows the project
venv's already-installed dependencies through a .pth line (which does not pull in the
editable install: .pth files of an added directory are not run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "sample_videos" / "smoke_hpwren_mixed.mp4"
SOURCES = ["pyproject.toml", "setup.py", "README.md", "pinewatch", "detector", "streams", "alerting", "models", "sample_videos"]

pytestmark = pytest.mark.slow


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        skip = ("__pycache__", "training") if name == "models" else ("__pycache__",)  # models/training: checkpoints
        (shutil.copytree(path, src / name, ignore=shutil.ignore_patterns(*skip)) if path.is_dir() else shutil.copy2(path, src / name))
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", base / "dist", src)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (base / "dist").glob("pinewatch-*.whl")
    venv = base / "venv"
    made = run(sys.executable, "-m", "venv", venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = run(python, "-m", "pip", "install", "--no-deps", "--no-index", wheel)
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PINEWATCH_") and k != "PYTHONPATH"}


def test_scan_from_another_directory_uses_the_packaged_model(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy2(CLIP, elsewhere / "sample.mp4")
    where = run(installed / "bin" / "python", "-c", "import pinewatch, pinewatch.core.config as c; print(pinewatch.__file__); print(c.DEFAULT_MODEL); print(c.SAMPLE_VIDEOS_DIR)", cwd=elsewhere, env=clean_env())
    package, model, samples = where.stdout.split()
    assert str(installed) in package and str(installed) in model, where.stdout + where.stderr
    assert sorted(p.name for p in Path(samples).glob("*.mp4")) == sorted(p.name for p in (ROOT / "sample_videos").glob("*.mp4"))

    scan = run(installed / "bin" / "pinewatch", "scan", "sample.mp4", "--json", "--interval", "10", cwd=elsewhere, env=clean_env())
    assert scan.returncode == 0, scan.stderr
    records = [json.loads(line) for line in scan.stdout.splitlines()]
    assert [r["index"] for r in records if r["type"] == "frame"] == [0, 1, 2, 3, 4]
    assert "pinewatch-smoke.onnx" in scan.stderr and str(installed) in scan.stderr


def test_a_missing_model_names_the_path_and_the_setting(installed, tmp_path):
    env = {**clean_env(), "PINEWATCH_DETECTOR__MODEL_PATH": str(tmp_path / "gone.onnx")}
    scan = run(installed / "bin" / "pinewatch", "scan", CLIP, cwd=tmp_path, env=env)
    assert scan.returncode == 2
    assert "detector.model_path" in scan.stderr and str(tmp_path / "gone.onnx") in scan.stderr
    assert "PINEWATCH_DETECTOR__MODEL_PATH" in scan.stderr
