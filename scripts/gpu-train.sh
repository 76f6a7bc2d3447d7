#!/usr/bin/env bash
# One GPU training run on a lent device machine, in three steps (why each: detector/training/gpu_kit.py).
#
#   here:    bash scripts/gpu-train.sh pack       # dataset + wheels into var/gpu-kit, heavy tracked files into var/gpu-stash
#   device:  run(command="bash scripts/gpu-train.sh run", carry=["var/gpu-kit"], timeout_s=540)
#   here:    bash scripts/gpu-train.sh restore    # ALWAYS, before anything else: it puts the stashed files back
#
# `run` takes gpu_kit train's options (--imgsz, --hours, --weights, ...); its defaults fit the
# 10-minute call: 6.6 minutes of epochs at 1024 px from run 6's best. Back under $OUT: best.pt
# and last.pt (no optimizer state), results.csv, args.yaml, train.log and gpu.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
verb="${1:-}"; shift || true
case "$verb" in
  pack|restore)
    exec .venv/bin/python -m detector.training.gpu_kit "$verb" "$@" ;;
  run)
    PY="${PY:-python3}"   # the device image's python3 holds torch
    OUT="${OUT:-var/gpu-out}"; mkdir -p "$OUT"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/pinewatch-site var/gpu-kit/wheels/*.whl
    # No network there: ultralytics' AMP check would try to download a model; offline it skips at once.
    export PYTHONPATH="/tmp/pinewatch-site:$PWD" YOLO_OFFLINE=1 PYTHONUNBUFFERED=1
    { command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'; } > "$OUT/gpu.txt" 2>&1 || true
    "$PY" -m detector.training.gpu_kit train --out "$OUT" "$@" 2>&1 | tee "$OUT/train.log" ;;
  *)
    echo "usage: $0 pack|run|restore [options]" >&2; exit 2 ;;
esac
