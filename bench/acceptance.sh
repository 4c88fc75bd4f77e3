#!/usr/bin/env bash
# Issue 20's acceptance run: every bench figure from one checkout in one go, 10,000 coupons (every stage),
# 100,000 coupons (validate, cold plan, no-op plan against a seeded state) and `--quick` (goal 6: timed whole),
# then all three as Markdown tables.
#
#   git clone <repo> /tmp/acceptance && cd /tmp/acceptance && bash bench/acceptance.sh
#
# ~20 minutes on 2 cores (the rated apply and drift of 10,000 coupons at 20/s are ~250 s each by their floors).
# Results: the three result files (10000.json, 100000.json, quick.json) and their tables (acceptance.md)
# in the results folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
results=bench/results
mkdir -p "$results"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
start=$(date -u +%FT%TZ)
.venv/bin/python bench/run.py --coupons 10000 --runs 3 --json "$results/10000.json"
.venv/bin/python bench/run.py --coupons 100000 --runs 1 --stages validate,plan-cold,plan-noop \
  --json "$results/100000.json"
quick_start=$(date +%s)
.venv/bin/python bench/run.py --quick --json "$results/quick.json"
quick_s=$(( $(date +%s) - quick_start ))
{
  echo "Acceptance run of commit $commit, $start -> $(date -u +%FT%TZ)"
  echo
  .venv/bin/python bench/markdown.py "$results/10000.json" "$results/100000.json" "$results/quick.json"
  echo
  echo "bench/run.py --quick took ${quick_s} s of wall clock (goal 6: at most 120 s)."
} | tee "$results/acceptance.md"
