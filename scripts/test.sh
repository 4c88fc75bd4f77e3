#!/usr/bin/env bash
# The test command: installs everything into ./.venv, then lint, format check, types and tests.
#
#   bash scripts/test.sh            the whole suite: what CI runs (.ci/run) and what the README names
#   bash scripts/test.sh --quick    the inner loop (under 3 minutes on 2 cores): the same checks, then every test
#                                   not marked `slow`, in parallel
#   bash scripts/test.sh [--quick] PYTEST_ARGS...   paths, -k, -x ... are passed to pytest
#
# `slow` (given by directory in tests/conftest.py) marks the crash, fault, concurrency, hostile-upstream and
# bad-input suites (tests/reliability) and the end-to-end runs (tests/e2e). The rest runs in parallel with
# pytest-xdist, one test file per worker at a time (--dist loadfile), so a module's served sandbox starts once
# and each worker has its own PostgreSQL cluster (tests/pg.py). The whole suite runs the slow tests afterwards,
# in parallel the same way. COUPONCTL_TEST_WORKERS sets the number of workers (default: auto, one per CPU; 0: one
# process, no xdist).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
echo "== ruff"; .venv/bin/ruff check reconciler tests bench
echo "== ruff format"; .venv/bin/ruff format --check reconciler tests bench
echo "== mypy"; .venv/bin/mypy

workers=${COUPONCTL_TEST_WORKERS:-auto}
parallel=()
[ "$workers" = "0" ] || parallel=(-n "$workers" --dist loadfile)

if [ "$quick" = 1 ]; then
  echo "== pytest (quick: not slow, ${workers} workers)"
  exec .venv/bin/python -m pytest -m "not slow" "${parallel[@]}" "$@"
fi

# Two selections, so the quick part reports first; both always run. pytest exits 5 when a selection holds no test
# (PYTEST_ARGS naming only slow or only other tests): a failure only when neither ran anything.
fast=0 slow=0
echo "== pytest (not slow, ${workers} workers)"
.venv/bin/python -m pytest -m "not slow" "${parallel[@]}" "$@" || fast=$?
echo "== pytest (slow: tests/reliability, tests/e2e; ${workers} workers)"
.venv/bin/python -m pytest -m slow "${parallel[@]}" "$@" || slow=$?
for code in "$fast" "$slow"; do
  if [ "$code" -ne 0 ] && [ "$code" -ne 5 ]; then
    exit "$code"
  fi
done
if [ "$fast" -eq 5 ] && [ "$slow" -eq 5 ]; then
  exit 5
fi
