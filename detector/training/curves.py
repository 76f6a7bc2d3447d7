"""Every run's val curves in one picture (models/training/curves.png), redrawn by `pinewatch train --keep`.

The model issue stays open while val improves and may close when the curves of several
sessions are flat: this is the picture that shows which.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

METRICS = (("metrics/mAP50(B)", "val mAP50"), ("metrics/mAP50-95(B)", "val mAP50-95 (ultralytics' fitness: 0.1 mAP50 + 0.9 mAP50-95)"))


def read_results(results_csv: Path, columns: list[str] | None = None) -> dict[str, list[float]]:
    """{column: [value per epoch]} of an ultralytics results.csv, for `columns` (default: all).

    Its headers are padded with spaces in some versions; an epoch cut off mid-write has empty
    cells in the asked columns and is left out.
    """
    with results_csv.open(newline="") as handle:
        rows = [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(handle)]
    if columns is None:
        columns = list(rows[0]) if rows else []
    complete = [row for row in rows if all((row.get(name) or "").strip() for name in columns)]
    return {name: [float(row[name]) for row in complete] for name in columns}


def read_curves(results_csv: Path) -> dict[str, list[float]]:
    """epoch and the METRICS columns of an ultralytics results.csv."""
    return read_results(results_csv, ["epoch", *(name for name, _ in METRICS)])


def _run_order(path: Path) -> tuple[int, str]:
    # pinewatch-run7-results.csv -> 7; the fine-tuning run (-ft-) came second.
    match = re.search(r"-run(\d+)-", path.name)
    return (int(match.group(1)) if match else 2, path.name)


def plot_runs(models_dir: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no screen here
    import matplotlib.pyplot as plt

    files = sorted(models_dir.glob("*-results.csv"), key=_run_order)
    figure, axes = plt.subplots(1, len(METRICS), figsize=(12, 4.5), constrained_layout=True)
    for results in files:
        curves = read_curves(results)
        label = results.name.removeprefix("pinewatch-").removesuffix("-results.csv")
        for axis, (column, _) in zip(axes, METRICS):
            axis.plot(curves["epoch"], curves[column], marker="o", markersize=3, label=label)
    for axis, (_, title) in zip(axes, METRICS):
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("epoch of the run (each run starts from an earlier run's checkpoint)")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    # The val split follows the dataset recipe, which changed between runs 1-2 and the rest.
    figure.suptitle("Val by epoch, every run (ultralytics' own val during training; runs with different dataset recipes saw different val splits)", fontsize=10)
    figure.savefig(out, dpi=80)
    plt.close(figure)
    return out
