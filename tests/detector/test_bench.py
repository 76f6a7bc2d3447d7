import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pinewatch.cli import main


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    for i in range(4):
        frame = cv2.GaussianBlur(rng.integers(0, 256, (360, 640, 3), dtype=np.uint8), (7, 7), 2)
        cv2.imwrite(str(folder / f"{i:02d}.jpg"), frame)
    return folder


def run_bench(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["bench", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_bench_json_on_a_tiny_model(capsys, synthetic_model, image_folder, monkeypatch):
    monkeypatch.setenv("PINEWATCH_DETECTOR__IMGSZ", "64")
    code, out, _ = run_bench(capsys, "--model", str(synthetic_model), "--source", str(image_folder),
                             "--frames", "4", "--batch", "2", "--threads", "1", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["frames"] == 4 and report["imgsz"] == 64 and report["provider"] == "CPUExecutionProvider"
    results = {r["name"]: r for r in report["results"]}
    assert set(results) == {"session", "pinewatch"}
    for r in results.values():
        assert r["fps"] > 0 and 0 < r["p50_ms"] <= r["p95_ms"]
    assert set(results["pinewatch"]["stages_ms"]) == {"decode", "pre", "infer", "post", "temporal"}


def test_bench_refuses_a_missing_model(capsys, tmp_path):
    code, _, err = run_bench(capsys, "--model", str(tmp_path / "nope.onnx"), "--json")
    assert code == 2 and "model not found" in err


@pytest.mark.slow
def test_bench_with_ultralytics_peer_on_real_clip(capsys, dev_model, clips_dir):
    pytest.importorskip("ultralytics")
    clip = clips_dir / "smoke_hpwren_mixed_640x480.mp4"
    code, out, _ = run_bench(capsys, "--model", str(dev_model), "--source", str(clip), "--frames", "3",
                             "--threads", "1", "--peer", "ultralytics", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["model"] == str(dev_model) and report["frames"] == 3
    assert [r["name"] for r in report["results"]] == ["session", "pinewatch", "ultralytics"]
    assert all(r["fps"] > 0 and r["p95_ms"] >= r["p50_ms"] for r in report["results"])
