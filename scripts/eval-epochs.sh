#!/usr/bin/env bash
# The small-smoke benchmark for every saved epoch of a run, beside ultralytics' val (which holds
# 3 smoke boxes under 32 px, so it cannot see what the model issue is about).
#   bash scripts/eval-epochs.sh pinewatch-run11     # again after each epoch: done epochs are skipped
# Per epoch: ONNX export, then `pinewatch eval --sweep --json` at 640 (clips and sequences only) and
# at the 1280 cap (with our val there, the operating point of a high-resolution camera), into
# var/epochs/RUN/; then one line per epoch. Accuracy only, so it may run beside training.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${1:?usage: $0 RUN_NAME}"
OUT="var/epochs/$RUN"; mkdir -p "$OUT"
for ckpt in runs/"$RUN"/weights/epoch*.pt; do
  [ -e "$ckpt" ] || continue
  k="${ckpt##*/epoch}"; k="${k%.pt}"; e=$((k + 1))   # ultralytics numbers the files from 0
  [ -s "$OUT/e$e-1280.json" ] && continue
  cp "$ckpt" "$OUT/e$e.pt"
  nice -n 10 .venv/bin/python -c "from pathlib import Path; from detector.training.export import export_onnx; export_onnx(Path('$OUT/e$e.pt'), Path('$OUT/e$e.onnx'))" > "$OUT/e$e-export.log" 2>&1
  rm "$OUT/e$e.pt"
  for size in 640 1280; do
    skip_val=--skip-val; [ "$size" = 1280 ] && skip_val=
    nice -n 10 .venv/bin/pinewatch eval --model "$OUT/e$e.onnx" $skip_val --sweep --imgsz "$size" --json > "$OUT/e$e-$size.tmp" 2> "$OUT/e$e-$size.err"
    mv "$OUT/e$e-$size.tmp" "$OUT/e$e-$size.json"
  done
done
.venv/bin/python - "$OUT" "runs/$RUN/results.csv" <<'PY'
import json, sys
from pathlib import Path
from detector.training.curves import read_curves
out, results = Path(sys.argv[1]), Path(sys.argv[2])
val = {}
if results.exists():
    curves = read_curves(results)
    for epoch, map50, map5095 in zip(curves["epoch"], curves["metrics/mAP50(B)"], curves["metrics/mAP50-95(B)"]):
        val[int(epoch)] = f"{map50:.3f} / {map5095:.3f}"
def line(path):
    d = json.loads(path.read_text())[0]
    seq = {q["sequence"][9:13]: q["minutes_to_detection"] for q in d["sequences"]}
    false = sum(q["alerts_before_ignition"] for q in d["sequences"]) + sum(c["alerts"] for c in d["clips"] if c["clip"].startswith("nosmoke"))
    small = d["small_smoke"]; best = max(small["best_score_per_frame"].values())
    # Alerts after ignition away from wc-s's labelled plume do not count as its detection (detector.evaluate.smoke_region).
    off = sum(len(q.get("misplaced_alerts", [])) for q in d["sequences"])
    val = ""
    if d.get("val"):
        smoke = next(c for c in d["val"]["classes"] if c["label"] == "smoke")
        val = f'val mAP50 {d["val"]["map50"]:.3f} (smoke P/R {smoke["precision"]:.2f}/{smoke["recall"]:.2f}), '
    return val + f'wc-s best {best:.3f}, boxed {small["frames_with_smoke_found_iou30"]}/14, alerts rm-w {seq["rm-w"]} wc-s {seq["wc-s"]} min, false {false}, off the plume {off}'
print("epoch | val mAP50 / mAP50-95 | at 640 | at the 1280 cap")
for e in sorted(int(p.stem[1:].split("-")[0]) for p in out.glob("e*-1280.json")):
    print(f"{e} | {val.get(e, '?')} | {line(out / f'e{e}-640.json')} | {line(out / f'e{e}-1280.json')}")
PY
