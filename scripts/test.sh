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
# in parallel the same way, with one worker more than CPUs (they wait on sandboxes and rate limits). mypy runs beside
# the first selection. COUPONCTL_TEST_WORKERS sets the number of workers (default: auto, one per CPU; 0: one
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

# The report's browser tests (tests/report) drive Debian's chromium through Playwright (Playwright's own browser
# download cannot work on these machines): installed here when missing, like every other dependency, with a CJK
# font so the Chinese in the report's screenshot (docs/report.png) is not boxes. Without root a developer needs
# `chromium` on PATH; in CI (CI=true) a browser that cannot be installed fails the run instead of skipping tests.
ensure_browser() {
  local missing=() log
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
    missing+=(fonts-wqy-microhei)
  fi
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== apt-get install ${missing[*]}"
    log=$(mktemp)
    if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >"$log" 2>&1; then
      rm -f "$log"
      return 0
    fi
    cat "$log" >&2
    rm -f "$log"
  fi
  command -v chromium >/dev/null 2>&1 && return 0  # only the font is missing: the screenshot shows boxes, no more
  echo "chromium is not on PATH and could not be installed (as root: apt-get install chromium)." >&2
  if [ "${CI:-}" = true ]; then
    echo "CI: the browser tests must run; failing." >&2
    exit 1
  fi
  echo "The browser tests (tests/report) will be skipped." >&2
}
ensure_browser
echo "== ruff"; .venv/bin/ruff check reconciler tests bench
echo "== ruff format"; .venv/bin/ruff format --check reconciler tests bench

# mypy (one core, ~45 s on a fresh clone) runs beside the first pytest selection; its report follows that selection.
types_log=$(mktemp)
.venv/bin/mypy >"$types_log" 2>&1 &
types_pid=$!
types_done() {
  local code=0
  wait "$types_pid" || code=$?
  echo "== mypy"
  cat "$types_log"
  rm -f "$types_log"
  return "$code"
}

workers=${COUPONCTL_TEST_WORKERS:-auto}
parallel=()
[ "$workers" = "0" ] || parallel=(-n "$workers" --dist loadfile)
# The slow tests wait on served sandboxes, rate limits and killed processes much of the time: one worker more than
# there are CPUs keeps them busy (COUPONCTL_TEST_WORKERS, when set, applies to both selections).
slow_parallel=("${parallel[@]}")
if [ "$workers" = "auto" ]; then
  slow_parallel=(-n "$(( $(nproc 2>/dev/null || echo 1) + 1 ))" --dist loadfile)
fi

if [ "$quick" = 1 ]; then
  echo "== pytest (quick: not slow, ${workers} workers)"
  fast=0
  .venv/bin/python -m pytest -m "not slow" "${parallel[@]}" "$@" || fast=$?
  types_done
  exit "$fast"
fi

# Two selections, so the quick part reports first; both always run. pytest exits 5 when a selection holds no test
# (PYTEST_ARGS naming only slow or only other tests): a failure only when neither ran anything.
fast=0 slow=0
echo "== pytest (not slow, ${workers} workers)"
.venv/bin/python -m pytest -m "not slow" "${parallel[@]}" "$@" || fast=$?
types_done
echo "== pytest (slow: tests/reliability, tests/e2e; ${slow_parallel[1]:-1} workers)"
.venv/bin/python -m pytest -m slow "${slow_parallel[@]}" "$@" || slow=$?
for code in "$fast" "$slow"; do
  if [ "$code" -ne 0 ] && [ "$code" -ne 5 ]; then
    exit "$code"
  fi
done
if [ "$fast" -eq 5 ] && [ "$slow" -eq 5 ]; then
  exit 5
fi
