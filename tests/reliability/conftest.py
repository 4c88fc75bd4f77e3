"""Fixtures of the reliability suite (contract §2.4, §4; docs/reliability.md): served sandboxes, a throwaway
PostgreSQL cluster, the `--soak` multiplier, and the figures every test adds to (printed at the end of the run).

    pytest tests/reliability                 # the default run (part of the README's test command)
    pytest tests/reliability --soak 10       # ten times the trials and fault runs
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pg import PgCluster, PostgresUnavailable, start_postgres
from tests.sandbox_server import ServedSandbox, served_sandbox

FIGURES: Counter[str] = Counter()
STARTED = time.monotonic()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak",
        type=int,
        default=int(os.environ.get("COUPONCTL_SOAK", "1")),
        metavar="N",
        help="reliability suite: multiply crash trials and fault runs by N (default 1; also $COUPONCTL_SOAK)",
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    figures = dict(sorted(FIGURES.items()))
    figures["elapsed_s"] = round(time.monotonic() - STARTED)
    terminalreporter.write_sep("-", "reliability figures (docs/reliability.md)")
    for key, value in figures.items():
        terminalreporter.write_line(f"{key}: {value}")
    out = os.environ.get("COUPONCTL_RELIABILITY_FIGURES")
    if out:
        Path(out).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def soak(request: pytest.FixtureRequest) -> int:
    try:
        value = int(request.config.getoption("--soak"))
    except ValueError:  # the option is only registered when this conftest is an initial one
        value = int(os.environ.get("COUPONCTL_SOAK", "1"))
    return max(1, value)


@pytest.fixture(scope="session")
def figures() -> Counter[str]:
    """Session-wide counters: trials, kills, faults injected, duplicates found, ..."""
    return FIGURES


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL 15 cluster for the whole session (fails in CI when it cannot start)."""
    try:
        cluster = start_postgres()
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"!!! PostgreSQL reliability tests NOT RUN (this would fail in CI): {exc}")
    yield cluster
    cluster.stop()


@dataclass(frozen=True)
class StateBackend:
    """One state backend: `new_url(dir)` makes the URL of a state that does not exist yet."""

    name: str  # "sqlite" | "postgres"
    new_url: Callable[[Path], str]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> StateBackend:
    """Each test using it runs on SQLite (a file per state) and on PostgreSQL (a fresh database per state)."""
    if request.param == "sqlite":
        return StateBackend("sqlite", lambda root: f"sqlite:///{root / 'state' / 'couponctl.db'}")
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return StateBackend("postgres", lambda _root: cluster.new_database("rel"))


@pytest.fixture(scope="module")
def module_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSandbox]:
    """One sandbox served over HTTP for a whole module (tests give every trial its own names)."""
    with served_sandbox(tmp_path_factory.mktemp("sandbox")) as served:
        yield served
