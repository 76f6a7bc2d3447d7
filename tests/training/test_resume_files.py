"""What a later session needs to resume training: found in the run folder, else in models/training."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from detector.training.train import TrainSettings, committed_checkpoint, keep_for_next_session, last_checkpoint, resume_source


def _settings(tmp_path: Path) -> TrainSettings:
    return TrainSettings(data_yaml=tmp_path / "data.yaml", project=tmp_path / "runs", name="run-x")


def test_keep_copies_checkpoint_args_and_curves_and_resume_finds_them(tmp_path):
    settings = _settings(tmp_path)
    run = settings.project / settings.name
    (run / "weights").mkdir(parents=True)
    for name, text in (("weights/last.pt", "last"), ("results.csv", "epoch\n1\n"), ("args.yaml", "epochs: 30\n")):
        (run / name).write_text(text)
    models = tmp_path / "models"
    models.mkdir()
    kept = keep_for_next_session(settings, models)
    assert {p.name for p in kept} == {"run-x-last.pt", "run-x-results.csv", "run-x-args.yaml"}  # no best epoch yet
    assert resume_source(settings, models) == last_checkpoint(settings)  # this machine's run first
    for name in ("weights/last.pt", "results.csv", "args.yaml"):
        (run / name).unlink()
    assert resume_source(settings, models) == committed_checkpoint("run-x", models)  # a fresh clone
    assert committed_checkpoint("run-x", models).read_text() == "last"


def test_nothing_to_resume_names_both_places(tmp_path):
    with pytest.raises(FileNotFoundError, match="run-x-last.pt"):
        resume_source(_settings(tmp_path), tmp_path / "models")


def test_a_resumed_run_rebuilds_the_data_it_started_with():
    from pinewatch.commands.train import dataset_plan

    without = {"synthetic": 0, "review_rounds": 2}
    default = {"synthetic": 300, "review_rounds": 2}
    # A new run builds what it asks for.
    assert dataset_plan(without, False, None, default, True) == (without, True)
    # A resume on a fresh machine rebuilds from the run's kept recipe, not from today's defaults.
    assert dataset_plan(default, True, without, None, False) == (without, True)
    # A folder built for another run is rebuilt; the matching one is reused.
    assert dataset_plan(default, True, without, default, True) == (without, True)
    assert dataset_plan(default, True, without, without, True) == (without, False)
    # Runs from before recipes were kept resume on the defaults, reusing an unlabelled folder.
    assert dataset_plan(default, True, None, None, True) == (default, False)


def test_runs_kept_before_review_rounds_resume_on_the_first_round():
    from pinewatch.commands.train import dataset_plan

    run4 = {"synthetic": 300}  # models/training/pinewatch-run4-dataset.json
    first_round = {"synthetic": 300, "review_rounds": 1}
    assert dataset_plan({"synthetic": 300, "review_rounds": 2}, True, run4, None, False) == (first_round, True)
    assert dataset_plan({"synthetic": 300, "review_rounds": 2}, True, run4, run4, True) == (first_round, False)
    # A folder built with the second round is rebuilt for such a run.
    assert dataset_plan(first_round, True, run4, {"synthetic": 300, "review_rounds": 2}, True) == (first_round, True)


def test_training_on_the_cpu_takes_every_core(tmp_path):
    # Ultralytics' device pick sets torch to one thread fewer than the CPUs (one of two here); a
    # subprocess, so that the thread count of this process is left alone.
    pytest.importorskip("ultralytics")  # the train extra
    code = (
        "from pathlib import Path\n"
        "import torch\n"
        "from ultralytics import YOLO\n"
        "from ultralytics.utils.callbacks.base import default_callbacks\n"
        "from ultralytics.utils.torch_utils import select_device\n"
        "from detector.training.train import TrainSettings, use_threads\n"
        "model = YOLO('yolov8n.yaml')\n"
        "use_threads(model, TrainSettings(data_yaml=Path('data.yaml'), threads=3))\n"
        "select_device('cpu')  # what the trainer's constructor does\n"
        "before = torch.get_num_threads()\n"
        "assert 'on_pretrain_routine_start' in default_callbacks\n"
        "for callback in model.callbacks['on_pretrain_routine_start']:\n"
        "    callback(None)\n"
        "print(before, torch.get_num_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    before, after = out.split()[-2:]
    assert int(before) == max(1, min(8, (os.cpu_count() or 1) - 1)) and int(after) == 3
