#!/usr/bin/env bash
# The quotable speed figures (issue #10), on an IDLE box. Pause training first:
#   kill -STOP "$(cat var/train.pid)"; benchmarks/quiet_bench.sh [--quick]; kill -CONT "$(cat var/train.pid)"
#
#   benchmarks/quiet_bench.sh [--quick] [--fp32 PATH] [--int8 PATH] [--eval-json FILE]...
#
# Every `pinewatch bench` here runs with --strict: if any other process takes more than 10 % of a
# core during a contender, the bench refuses to report and this script stops, naming it.
# Runs, each writing JSON + a markdown table into benchmarks/results/<UTC time>/:
#   1. fp32 and int8: session vs pinewatch vs ultralytics (its peer always runs the fp32 ONNX),
#      at --imgsz 640 and 1280, on real 1280x960 / 1280x853 tower frames (FIgLib sequences);
#   2. (full mode) the same at 640 on sample_videos/ (640x480 clips, the README's usual frames);
#   3. pool (2 single-thread worker processes) vs one 2-thread session, batch 4, fp32 and int8.
# Accuracy is not timing-sensitive: give `pinewatch eval --json` files (made earlier, e.g. while
# training ran, niced) with --eval-json; without them the full mode measures val mAP50 here first
# (640 and 1280, both models; several minutes) and --quick leaves the rows' mAP50 as "-".
# --allow-busy (with e.g. --frames 4): checks the plumbing on a busy box; its figures are not quotable.
# --quick: 16 frames, one pass, no sample_videos block, pool at 640 only: under 4 minutes on an
# idle 2-core box.
set -euo pipefail
cd "$(dirname "$0")/.."
PW=(.venv/bin/python -m pinewatch.cli)

quick=0
strict=(--strict)
allow_busy=0
frames_override=""
fp32=models/pinewatch-smoke.onnx
int8=models/pinewatch-smoke-int8.onnx
evals=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --fp32) fp32="$2"; shift ;;
    --int8) int8="$2"; shift ;;
    --eval-json) evals+=("$2"); shift ;;
    --allow-busy) allow_busy=1; strict=() ;;  # plumbing check on a busy box: NOT quotable, dir marked -BUSY
    --frames) frames_override="$2"; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "quiet_bench: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
for model in "$fp32" "$int8"; do
  [[ -f "$model" ]] || { echo "quiet_bench: model not found: $model" >&2; exit 2; }
done

suffix=""
[[ $quick == 1 ]] && suffix+="-quick"
[[ $allow_busy == 1 ]] && suffix+="-BUSY"
out="benchmarks/results/$(date -u +%Y%m%dT%H%M%SZ)$suffix"
hires=()  # every FIgLib sequence folder: 1280-px tower frames
for folder in ../shared/sequences/*/; do hires+=(--source "${folder%/}"); done
[[ ${#hires[@]} -gt 0 ]] || { echo "quiet_bench: no high-resolution frames under ../shared/sequences" >&2; exit 2; }

echo "== machine"; uptime
if [[ $allow_busy == 0 && -f var/train.pid ]] && kill -0 "$(cat var/train.pid)" 2>/dev/null; then
  state=$(awk '{print $3}' "/proc/$(cat var/train.pid)/stat")
  if [[ "$state" != "T" ]]; then
    echo "quiet_bench: training (pid $(cat var/train.pid)) is running, state $state; pause it: kill -STOP $(cat var/train.pid)" >&2
    exit 3
  fi
  echo "training pid $(cat var/train.pid) is paused (state T)"
fi
# The 1-minute load average lags a pause by a minute or so; wait for it (the bench's own
# /proc check is the real gate).
cores=$(nproc)
settle=12; [[ $allow_busy == 1 || $quick == 1 ]] && settle=0  # quick: the bench's /proc check is the gate
for _ in $(seq $settle); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  awk -v l="$load" -v c="$cores" 'BEGIN { exit !(l < 0.5 * c) }' && break
  echo "load $load on $cores cores: waiting 10 s to settle"; sleep 10
done

mkdir -p "$out"
uptime > "$out/uptime-before.txt"
if [[ ${#evals[@]} -eq 0 && $quick == 0 ]]; then
  echo "== val mAP50 (no --eval-json given): fp32 and int8 at 640 and 1280"
  empty=$(mktemp -d)  # val only: clips and timelapses are not needed for the rows' mAP50
  for size in 640 1280; do
    "${PW[@]}" eval --model "$fp32" --model "$int8" --imgsz "$size" --shared "$empty" --json > "$out/eval-$size.json"
    evals+=("$out/eval-$size.json")
  done
  rmdir "$empty"
fi
eval_args=()
for file in "${evals[@]}"; do eval_args+=(--eval-json "$file"); done

if [[ $quick == 1 ]]; then frames=(--frames 16 --repeat 1); pool_sizes=(--imgsz 640)
else frames=(--frames 40 --repeat 3); pool_sizes=(--imgsz 640 --imgsz 1280); fi
[[ -n "$frames_override" ]] && frames=(--frames "$frames_override" --repeat 1)

bench() {  # NAME ARGS...: one strict bench run -> NAME.json + NAME.md
  local name="$1"; shift
  echo "== $name: pinewatch bench $*"
  "${PW[@]}" bench "${strict[@]}" "${frames[@]}" "${eval_args[@]}" --markdown "$out/$name.md" --json "$@" > "$out/$name.json"
  .venv/bin/python -c "import json,sys; from detector.bench import format_table; print(format_table(json.load(open(sys.argv[1]))))" "$out/$name.json"
}

for variant in fp32 int8; do
  model=$([[ $variant == fp32 ]] && echo "$fp32" || echo "$int8")
  bench "$variant-hires-peer" --model "$model" --peer ultralytics --peer-model "$fp32" \
    "${hires[@]}" --imgsz 640 --imgsz 1280
  if [[ $quick == 0 ]]; then
    bench "$variant-640-sample-videos-peer" --model "$model" --peer ultralytics --peer-model "$fp32" \
      --source sample_videos --imgsz 640
  fi
  bench "$variant-pool-vs-2-threads" --model "$model" --threads 2 --batch 4 --pool 2 \
    "${hires[@]}" "${pool_sizes[@]}"
done

uptime | tee "$out/uptime-after.txt"
{
  echo "# Quiet-box bench $(basename "$out")"
  echo
  echo "Commands: \`benchmarks/quiet_bench.sh $([[ $quick == 1 ]] && echo --quick || true) --fp32 $fp32 --int8 $int8 ${evals[*]/#/--eval-json }\`;"
  echo "uptime before: $(cat "$out/uptime-before.txt")"
  echo "uptime after: $(cat "$out/uptime-after.txt")"
  for table in "$out"/*.md; do
    [[ "$table" == "$out/SUMMARY.md" ]] && continue
    echo; echo "## $(basename "$table" .md)"; echo; cat "$table"
  done
} > "$out/SUMMARY.md"
echo "== wrote $out/SUMMARY.md"
