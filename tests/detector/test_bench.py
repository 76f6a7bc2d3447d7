import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector import bench, machine, media
from detector.cpu import int8_dot_product_flags
from pinewatch.cli import main


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    for i in range(4):
        frame = cv2.GaussianBlur(rng.integers(0, 256, (360, 640, 3), dtype=np.uint8), (7, 7), 2)
        cv2.imwrite(str(folder / f"{i:02d}.jpg"), frame)
    return folder


@pytest.fixture
def foreign_spinner():
    """A busy process that is NOT our descendant (double fork: its parent exits), like a training job."""
    out = subprocess.run(
        ["sh", "-c", f"{sys.executable} -c 'while True: pass' >/dev/null 2>&1 & echo $!"],
        capture_output=True, text=True, check=True,
    ).stdout
    pid = int(out.strip())
    time.sleep(0.3)
    yield pid
    os.kill(pid, signal.SIGKILL)


def run_bench(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["bench", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def tiny(synthetic_model, image_folder, *extra: str) -> list[str]:
    return ["--model", str(synthetic_model), "--source", str(image_folder), "--frames", "4", "--batch", "2",
            "--threads", "1", *extra]


def test_bench_json_on_a_tiny_model(capsys, synthetic_model, image_folder, monkeypatch, tmp_path):
    monkeypatch.setenv("PINEWATCH_DETECTOR__IMGSZ", "64")
    markdown = tmp_path / "out.md"
    code, out, _ = run_bench(capsys, *tiny(synthetic_model, image_folder, "--json", "--map50", f"{synthetic_model}=0.412",
                                           "--markdown", str(markdown)))
    assert code == 0
    report = json.loads(out)
    assert report["frames"] == 4 and report["provider"] == "CPUExecutionProvider" and report["overlap"] is True
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["onnxruntime"] and len(machine["load_average"]) == 3
    assert machine["int8_dot_product"] == sorted(int8_dot_product_flags() or ())  # int8 speed depends on them
    assert machine["preflight_others"]["wall_s"] > 0.5
    (run,) = report["runs"]
    assert run["imgsz"] == 64 and run["input_hw_first_frame"] == [64, 64]  # 640x360 -> 64x36 -> stride 32
    results = {r["name"]: r for r in run["results"]}
    assert set(results) == {"session", "pinewatch"}
    for r in results.values():
        assert r["fps"] > 0 and 0 < r["p50_ms"] <= r["p95_ms"]
        assert r["val_map50"] == 0.412 and r["model"] == str(synthetic_model)
        assert r["others"]["wall_s"] > 0 and r["others"]["core_fraction"] >= 0 and len(r["load_before"]) == 3
    assert set(results["pinewatch"]["stages_ms"]) == {"decode", "decode_wait", "pre", "infer", "post", "temporal"}
    assert report["quiet"] == (not report["busy"])
    table = markdown.read_text()
    assert "| 64 (64x64) | pinewatch | synthetic.onnx | 0.412 |" in table and "onnxruntime" in table


def test_two_input_sizes_pool_and_eval_json(capsys, synthetic_model, image_folder, tmp_path):
    evaluation = tmp_path / "eval.json"
    evaluation.write_text("some log line\n" + json.dumps([{"model": str(synthetic_model), "imgsz": 64, "val": {"map50": 0.3}}]))
    code, out, _ = run_bench(capsys, *tiny(synthetic_model, image_folder, "--imgsz", "64", "--imgsz", "128",
                                           "--pool", "2", "--no-overlap", "--eval-json", str(evaluation),
                                           "--map50", f"{synthetic_model}@128=0.25", "--json"))
    assert code == 0
    report = json.loads(out)
    assert [r["imgsz"] for r in report["runs"]] == [64, 128]
    assert report["runs"][1]["input_hw_first_frame"] == [96, 128]  # rectangular: 640x360 at 128 -> 72 -> 96
    for run in report["runs"]:
        results = {r["name"]: r for r in run["results"]}
        assert set(results) == {"session", "pinewatch", "pool"}
        assert all(r["val_map50"] == {64: 0.3, 128: 0.25}[run["imgsz"]] for r in results.values())
        assert "decode_wait" not in results["pinewatch"]["stages_ms"]
        assert results["pool"]["fps"] > 0


def test_eval_figures_apply_to_their_size_and_file_only(synthetic_model, tmp_path, capsys):
    from detector.bench import map50_key
    from pinewatch.commands.bench import read_map50

    copy = tmp_path / "model.onnx"
    copy.write_bytes(synthetic_model.read_bytes())
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    evaluation = tmp_path / "eval.json"
    evaluation.write_text(json.dumps([
        {"model": str(copy), "imgsz": 640, "sha256": digest, "val": {"map50": 0.4}},
        {"model": str(synthetic_model), "imgsz": 640, "sha256": "0" * 64, "val": {"map50": 0.3}},  # another file since
    ]))
    found = read_map50([], [evaluation])
    assert found == {map50_key(copy, 640): 0.4}  # nothing for 1280, nothing for the changed file
    assert "has changed since it was evaluated" in capsys.readouterr().err


def test_others_exclude_our_children_and_count_foreign_processes(foreign_spinner):
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        others = machine.process_ticks()
        assert foreign_spinner in others and child.pid not in others and os.getpid() not in others
        sample = machine.sample_others(1.0)
        # It inherits our niceness, so on a busy box it gets little CPU; on a quiet one a core.
        assert sample.ticks[foreign_spinner][1] > 0 and child.pid not in sample.ticks
    finally:
        child.kill()
        child.wait()


def test_strict_refuses_to_report_on_a_busy_box_and_names_the_process(capsys, synthetic_model, image_folder, foreign_spinner, monkeypatch):
    monkeypatch.setenv("PINEWATCH_DETECTOR__IMGSZ", "64")
    code, out, err = run_bench(capsys, *tiny(synthetic_model, image_folder, "--strict", "--json"))
    assert code == 3 and out == ""
    assert "busy" in err and "kill -STOP" in err
    # Without --strict the same run reports, flagged. /proc counts CPU in 10 ms ticks and a tiny
    # run lasts about a millisecond, so enough passes that the spinner's core cannot round to zero.
    code, out, err = run_bench(capsys, *tiny(synthetic_model, image_folder, "--json", "--repeat", "20"))
    report = json.loads(out)
    assert code == 0 and report["quiet"] is False and "not quotable" in err
    flagged = [r for r in report["runs"][0]["results"] if r["others"]["busy"]]
    assert flagged and report["busy"]


def test_others_share_flag_and_names():
    others = machine.OthersCpu()
    tick = machine.CLOCK_TICKS
    others.add({1: ("trainer", 0), 2: ("sshd", 5)}, {1: ("trainer", tick), 2: ("sshd", 5), 3: ("newborn", tick // 10)}, 2.0)
    assert others.core_fraction == pytest.approx(0.55, abs=0.01)  # 1.1 s of CPU in 2 s
    facts = others.as_dict()
    assert facts["busy"] is True and facts["box_share"] == pytest.approx(0.55 / machine.cores(), abs=0.01)
    assert [p["comm"] for p in facts["top"]] == ["trainer", "newborn"]  # sshd used nothing
    report = {"runs": [{"imgsz": 640, "results": [{"name": "pool", "others": facts}]}]}
    (line,) = bench.busy_processes(report)
    assert line.startswith("pool at 640: others used 0.55 of a core (1 trainer 0.50")
    quiet = machine.OthersCpu()
    quiet.add({1: ("trainer", 0)}, {1: ("trainer", tick // 20)}, 1.0)
    assert quiet.as_dict()["busy"] is False and bench.busy_processes({"runs": [{"imgsz": 640, "results": [{"name": "x", "others": quiet.as_dict()}]}]}) == []


def test_video_frames_are_spread_over_the_whole_clip_in_one_pass(clips_dir):
    clip = clips_dir / "smoke_hpwren_mixed_640x480.mp4"
    everything = [d.image() for d in media.video_frames(clip)]
    picked = bench._video_frames(clip, 5)
    assert len(picked) == 5
    indices = [next(i for i, f in enumerate(everything) if np.array_equal(f, p)) for p in picked]
    assert indices == sorted(indices) and indices[0] == 0 and indices[-1] >= 0.7 * len(everything)


def test_bench_refuses_a_missing_model(capsys, tmp_path):
    code, _, err = run_bench(capsys, "--model", str(tmp_path / "nope.onnx"), "--json")
    assert code == 2 and "model not found" in err


def test_bench_rejects_a_malformed_map50(capsys, synthetic_model):
    code, _, err = run_bench(capsys, "--model", str(synthetic_model), "--map50", "0.3")
    assert code == 2 and "PATH[@IMGSZ]=VALUE" in err


@pytest.mark.slow
def test_bench_with_ultralytics_peer_on_real_clip(capsys, dev_model, clips_dir):
    pytest.importorskip("ultralytics")
    clip = clips_dir / "smoke_hpwren_mixed_640x480.mp4"
    code, out, _ = run_bench(capsys, "--model", str(dev_model), "--source", str(clip), "--frames", "3",
                             "--threads", "1", "--peer", "ultralytics", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["model"] == str(dev_model) and report["frames"] == 3
    assert [r["name"] for r in report["runs"][0]["results"]] == ["pinewatch", "session", "ultralytics"]
    assert all(r["fps"] > 0 and r["p95_ms"] >= r["p50_ms"] for r in report["runs"][0]["results"])
