"""Suite-wide test configuration: which tests are `slow`.

`slow` marks the suites that run the CLI as a real process against a served sandbox, a hostile proxy or a killed
apply, many times over: the crash, fault, concurrency, hostile-upstream and bad-input suites (tests/reliability)
and the end-to-end runs (tests/e2e). They take most of the suite's time and are what CI is for; the inner loop
(`bash scripts/test.sh --quick`, i.e. `pytest -m "not slow"`) runs everything else. The marker is given here, by
directory, so a new test in those suites is slow without anyone remembering to say so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SLOW_DIRECTORIES = ("reliability", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            top = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:  # a test outside tests/ (given on the command line): not ours to classify
            continue
        if top in SLOW_DIRECTORIES:
            item.add_marker(pytest.mark.slow)
