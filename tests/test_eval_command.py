"""`pinewatch eval` end to end: the shipped model over a cut of the real wc-s timelapse and its labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pinewatch.cli import main

ROOT = Path(__file__).resolve().parents[1]
WC_S = ROOT.parent / "shared" / "sequences" / "20190925_wc-s-mobo-c"


@pytest.mark.slow
def test_eval_reads_the_labelled_plume_into_the_sequence_report(tmp_path, capsys):
    if not (WC_S / "labels").is_dir():
        pytest.skip("../shared is not beside the checkout")
    # Two frames before ignition and the first three labelled ones, under the real folder name.
    cut = tmp_path / "shared" / "sequences" / WC_S.name
    (cut / "labels").mkdir(parents=True)
    frames = sorted(WC_S.glob("*.jpg"))
    ignition = next(i for i, f in enumerate(frames) if "_+00000" in f.name)
    for frame in frames[ignition - 2 : ignition + 3]:
        (cut / frame.name).symlink_to(frame)
        label = WC_S / "labels" / f"{frame.stem}.txt"
        if label.exists():
            (cut / "labels" / label.name).symlink_to(label)
    code = main(["eval", "--skip-val", "--json", "--shared", str(tmp_path / "shared"), "--model", str(ROOT / "models" / "pinewatch-smoke.onnx")])
    assert code == 0
    (report,) = json.loads(capsys.readouterr().out)
    (sequence,) = report["sequences"]
    assert sequence["sequence"] == WC_S.name and sequence["frames"] == 5
    x1, y1, x2, y2 = sequence["smoke_region"]  # the hull of the three labelled boxes, at the left edge
    assert x1 < 0.01 and x2 < 0.05 and 0.4 < y1 < y2 < 0.55
    assert isinstance(sequence["misplaced_alerts"], list)
    assert report["small_smoke"]["frames"] == 3  # the labelled frames of the cut
    assert [clip["clip"] for clip in report["clips"]] == ["smoke_hpwren_mixed"]  # sample_videos/
