"""The val curves that `pinewatch train --keep` redraws into models/training/curves.png."""

from pathlib import Path

import pytest

from detector.training.curves import plot_runs, read_curves

MODELS = Path(__file__).resolve().parents[2] / "models" / "training"


def test_read_curves_takes_the_val_columns_of_an_ultralytics_results_csv(tmp_path):
    results = tmp_path / "pinewatch-run9-results.csv"
    # ultralytics pads its headers with spaces in some versions; a cut-off last row has empty cells.
    results.write_text(
        "epoch, metrics/mAP50(B), metrics/mAP50-95(B),lr/pg0\n1,0.30,0.12,0.001\n2,0.35,0.15,0.001\n3,,,0.001\n"
    )
    assert read_curves(results) == {"epoch": [1.0, 2.0], "metrics/mAP50(B)": [0.30, 0.35], "metrics/mAP50-95(B)": [0.12, 0.15]}


def test_the_committed_curves_of_every_run_are_drawn(tmp_path):
    pytest.importorskip("matplotlib")  # the train extra
    for committed in MODELS.glob("*-results.csv"):
        assert read_curves(committed)["epoch"], committed
    out = plot_runs(MODELS, tmp_path / "curves.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
