"""Suite-wide test configuration: which tests are `slow`, and the order the slow files are handed out in.

`slow` marks the suites that run the CLI as a real process against a served sandbox, a hostile proxy or a killed
apply, many times over: the crash, fault, concurrency, hostile-upstream and bad-input suites (tests/reliability)
and the end-to-end runs (tests/e2e). They take most of the suite's time and are what CI is for; the inner loop
(`bash scripts/test.sh --quick`, i.e. `pytest -m "not slow"`) runs everything else. The marker is given here, by
directory, so a new test in those suites is slow without anyone remembering to say so.

Order: with `--dist loadfile` (scripts/test.sh) xdist hands each worker one file at a time, in collection order, and
by default first re-sorts the files by their NUMBER of tests, which puts the few-test, long files (the crash and
canary suites: two tests, over a minute each) last, so one worker runs them alone while the other idles. Here the
files are handed out by measured TIME instead, longest first (`LONGEST_FIRST`; the short files then fill both workers
up to the end), and xdist's re-sort is turned off. A file not listed runs after the listed ones, in collection order:
list a new file here when it takes more than ~1% of the slow run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SLOW_DIRECTORIES = ("reliability", "e2e")
# The slow files, longest first: their test times summed from `--durations=0` of a whole slow run (2 workers,
# 2026-11-30; shares of the 2,380 s the 126 tests took: crash 16%, upstream readiness 13%, policies 7%, ...).
LONGEST_FIRST = (
    "reliability/test_crash.py",
    "e2e/test_upstream_readiness_e2e.py",
    "e2e/test_policies_e2e.py",
    "reliability/test_code_secrets.py",
    "reliability/test_secrets.py",
    "e2e/test_shop_quantities_e2e.py",
    "e2e/test_codes_e2e.py",
    "reliability/test_faults.py",
    "e2e/test_stores_e2e.py",
    "e2e/test_drift_e2e.py",
    "reliability/test_concurrency.py",
    "e2e/test_stocks_acceptance.py",
    "e2e/test_state_loss_e2e.py",
    "e2e/test_interrupt_e2e.py",
    "reliability/test_bad_input.py",
    "reliability/test_stock_reliability.py",
    "e2e/test_renames_and_saved_plans_e2e.py",
    "e2e/test_expected_unmanaged_e2e.py",
    "e2e/test_small_fixes_e2e.py",
    "e2e/test_environments_e2e.py",
    "e2e/test_team_habits_e2e.py",
)


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "dist", "no") in ("loadfile", "loadscope"):
        config.option.loadscopereorder = False  # xdist's re-sort by test count: see the module's docstring


def relative(item: pytest.Item) -> str | None:
    """The item's file relative to tests/ ("e2e/test_codes_e2e.py"), None outside tests/."""
    try:
        return item.path.resolve().relative_to(TESTS).as_posix()
    except ValueError:  # a test outside tests/ (given on the command line): not ours to classify
        return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    for item in items:
        path = relative(item)
        if path is not None and path.split("/")[0] in SLOW_DIRECTORIES:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: rank.get(relative(item) or "", len(rank)))  # stable: each file's own order is kept
