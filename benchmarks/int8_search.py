"""Search int8 recipes on an fp32 model: quantise each variant, measure its val mAP50, write INT8.md.

    nice -n 15 .venv/bin/python benchmarks/int8_search.py --model models/pinewatch-smoke.onnx

Each variant is written under var/int8/ (never models/) by `pinewatch export --from-onnx`, and
measured by `pinewatch eval --model X --json` on the val split of data/yolo (read only). Only val
mAP50 is wanted here, so eval gets an empty --shared folder: the clips and timelapses are skipped
(`pinewatch eval` without it measures those too). Accuracy does not depend on timing, so this may
run on a busy box; INT8.md is rewritten after every variant, so a cut-short search keeps its rows.
Activation ranges are cached per (model, frames, method) in var/int8/cache, so variants that differ
only in what stays float calibrate once.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PINEWATCH = [sys.executable, "-m", "pinewatch.cli"]

# name -> `pinewatch export` recipe options. Order: cheapest calibration first, so the
# percentile ranges (one calibration) serve the exclusion variants.
VARIANTS: dict[str, list[str]] = {
    # Every variant names --[no-]float-first-conv: export's default recipe must not leak into a row.
    "p5-tail": ["--calibration", "percentile", "--symmetric", "--head", "float-tail", "--no-float-first-conv"],
    "p5-tail-conv0": ["--calibration", "percentile", "--symmetric", "--head", "float-tail", "--float-first-conv"],
    "p5-head-conv0": ["--calibration", "percentile", "--symmetric", "--head", "float-head", "--float-first-conv"],
    "minmax-tail-conv0": ["--calibration", "minmax", "--no-symmetric", "--head", "float-tail", "--float-first-conv"],
    "p5asym-tail-conv0": ["--calibration", "percentile", "--no-symmetric", "--head", "float-tail", "--float-first-conv"],
    "p5-lastconvs-conv0": ["--calibration", "percentile", "--symmetric", "--head", "float-tail-and-last-convs", "--float-first-conv"],
    "entropy-tail-conv0": ["--calibration", "entropy", "--no-symmetric", "--head", "float-tail", "--float-first-conv"],
    "p4-tail-conv0": ["--calibration", "percentile", "--percentile", "99.99", "--symmetric", "--head", "float-tail", "--float-first-conv"],
    "p5-all-concat": ["--calibration", "percentile", "--symmetric", "--head", "quantize-all", "--float-output-concat", "--float-first-conv"],
    "p5asym-head-conv0": ["--calibration", "percentile", "--no-symmetric", "--head", "float-head", "--float-first-conv"],
}


def val_map50(model: Path, empty_shared: Path) -> dict:
    out = subprocess.run(
        [*PINEWATCH, "eval", "--model", str(model), "--shared", str(empty_shared), "--json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    report = json.loads(out[out.index("["):])[0]  # tolerate log lines before the JSON
    classes = {c["label"]: c["ap50"] for c in report["val"]["classes"]} if "classes" in report["val"] else {}
    return {"map50": report["val"]["map50"], "classes": classes, "images": report["val"].get("images")}


def recipe_of(model: Path) -> str:
    import onnx

    meta = {p.key: p.value for p in onnx.load(model, load_external_data=False).metadata_props}
    return meta.get("int8_recipe", "")


def excluded_count(line: str) -> str:
    # "int8: PATH (200 calibration frames, 106 nodes kept in float, LABEL)"
    return line.split("frames, ")[1].split(" nodes")[0] if "nodes kept" in line else "?"


def within_rule(delta_points: float) -> bool:
    return delta_points >= -1.0


def best_paragraph(fp32: dict, rows: list[dict]) -> str:
    best = max(rows, key=lambda r: r["map50"])
    delta = 100 * (best["map50"] - fp32["map50"])
    verdict = (
        "within the 1-point rule, so int8 may become the default if it is also faster on a quiet box and alerts "
        "no later on the timelapses "
        "(models/MODEL_CARD.md, \"Choosing the default variant\")"
        if within_rule(delta)
        else "not within the 1-point rule, so int8 does not become the default"
    )
    return (
        f"Best: **{best['name']}** ({best['calibration']}; {best['float']} in float), {delta:+.2f} points against fp32: "
        f"{verdict}. `pinewatch export`'s default recipe (`detector.training.quantize.Int8Recipe`) should be the best "
        "row's; for a new model:"
    )


def write_table(path: Path, model: Path, fp32: dict, rows: list[dict]) -> None:
    shown = model.relative_to(ROOT) if model.is_relative_to(ROOT) else model
    lines = [
        "# int8 recipes: val mAP50 against fp32",
        "",
        f"Measured on `{shown}` ({fp32.get('label') or 'the fp32 model given'}). These numbers belong to that "
        "model; re-run the search for another one.",
        "",
        f"Command: `nice -n 15 .venv/bin/python benchmarks/int8_search.py --model {shown}` "
        "(each row: `pinewatch export --from-onnx` into var/int8/, then `pinewatch eval --model X --json`, val split "
        f"of data/yolo, {fp32.get('images')} images, 640 px, our evaluator). Calibration: 200 AI For Mankind tower "
        "frames of the training split (`detector.training.quantize.calibration_frames`, seed 0), per-channel s8 "
        "weights unless the row says per-tensor, u8 activations, static QDQ. Accuracy only: no timing here (the box "
        "was busy with training); speed comes from `benchmarks/quiet_bench.sh`.",
        "",
        "The 1-point rule: int8 may be at most 0.010 below fp32's val mAP50.",
        "",
        "| variant | calibration | kept in float | nodes in float | val mAP50 | fp32 val mAP50 | Δ (points) | smoke AP50 | fire AP50 | within 1 point |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        delta = 100 * (r["map50"] - fp32["map50"])
        lines.append(
            f"| {r['name']} | {r['calibration']} | {r['float']} | {r['nodes']} | {r['map50']:.3f} | {fp32['map50']:.3f} | "
            f"{delta:+.2f} | {r['classes'].get('smoke', float('nan')):.3f} | {r['classes'].get('fire', float('nan')):.3f} | "
            f"{'yes' if within_rule(delta) else 'no'} |"
        )
    lines += [
        "",
        f"fp32: val mAP50 {fp32['map50']:.3f} (smoke AP50 {fp32['classes'].get('smoke', float('nan')):.3f}, "
        f"fire AP50 {fp32['classes'].get('fire', float('nan')):.3f}).",
        "",
        *([best_paragraph(fp32, rows)] if rows else []),
        "",
        "```bash",
        "nice -n 15 .venv/bin/pinewatch export --from-onnx NEW.onnx --out var/int8 --int8-name NEW-int8.onnx   # defaults = the recipe",
        "nice -n 15 .venv/bin/pinewatch eval --model NEW.onnx --model var/int8/NEW-int8.onnx --json > var/int8/eval-new.json",
        "```",
        "",
        "Earlier, on the run-1 model (shipped until 2026-12-07; val mAP50 0.322 on these 270 images), the best recipe "
        "was p5asym-head-conv0 at -1.3 points and none passed the rule; keeping the first conv in float was worth "
        "+4.2 points there.",
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "pinewatch-smoke.onnx")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "int8")
    parser.add_argument("--table", type=Path, default=ROOT / "benchmarks" / "INT8.md")
    parser.add_argument("--only", help="comma-separated variant names (default: all)")
    parser.add_argument("--label", default="", help="what the model is, for the table (e.g. 'run 6, epoch 3')")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(VARIANTS)
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "search.json"
    done = json.loads(results_path.read_text()) if results_path.exists() else {}
    with tempfile.TemporaryDirectory() as empty_shared:
        if "fp32" not in done or done["fp32"].get("model") != str(args.model):
            done["fp32"] = {"model": str(args.model), **val_map50(args.model, Path(empty_shared))}
            results_path.write_text(json.dumps(done, indent=1))
        if args.label:
            done["fp32"]["label"] = args.label
        print(f"fp32 val mAP50 {done['fp32']['map50']:.3f}", flush=True)
        for name in names:
            target = args.out / f"{name}.onnx"
            if name in done and Path(done[name]["path"]).is_file():
                continue
            started = time.monotonic()
            export = subprocess.run(
                [*PINEWATCH, "export", "--from-onnx", str(args.model), "--out", str(args.out),
                 "--int8-name", target.name, *VARIANTS[name]],
                cwd=ROOT, check=True, capture_output=True, text=True,
            ).stdout.strip().splitlines()[-1]
            accuracy = val_map50(target, Path(empty_shared))
            options = VARIANTS[name]
            calibration = options[options.index("--calibration") + 1]
            if "--percentile" in options:
                calibration += f" {options[options.index('--percentile') + 1]}"
            elif calibration == "percentile":
                calibration += " 99.999"
            kept = []
            head = options[options.index("--head") + 1]
            kept.append({"quantize-all": "", "float-tail": "head decode tail", "float-head": "whole head",
                         "float-tail-and-last-convs": "head decode tail + last branch convs"}[head])
            if head == "quantize-all" and "--float-output-concat" in options:
                kept.append("output concat")
            elif head != "quantize-all":
                kept.append("output concat")
            if "--float-first-conv" in options:
                kept.append("first conv")
            if "--no-per-channel" in options:
                kept.append("(per-tensor weights)")
            calibration += ", symmetric ranges" if "--symmetric" in options else ", asymmetric ranges"
            done[name] = {"path": str(target), "calibration": calibration, "float": ", ".join(k for k in kept if k) or "nothing",
                          "nodes": excluded_count(export), "recipe": recipe_of(target), **accuracy}
            results_path.write_text(json.dumps(done, indent=1))
            print(f"{name}: val mAP50 {accuracy['map50']:.3f} ({time.monotonic() - started:.0f} s)", flush=True)
            rows = [{"name": n, **done[n]} for n in VARIANTS if n in done]
            write_table(args.table, args.model, done["fp32"], rows)
    rows = [{"name": n, **done[n]} for n in VARIANTS if n in done]
    write_table(args.table, args.model, done["fp32"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
