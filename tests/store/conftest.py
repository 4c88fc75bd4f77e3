"""Fixtures of the state-store tests: every store test runs against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.store import SqlStateStore, open_store
from tests.pg import PgCluster, PostgresUnavailable, start_postgres


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL 15 cluster for the whole session (fails in CI when it cannot start)."""
    try:
        cluster = start_postgres()
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"!!! PostgreSQL tests NOT RUN (this would fail in CI): {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_url(pg_cluster: PgCluster) -> str:
    """SQLAlchemy URL of the session cluster's `couponctl` database (shared: use `pg_cluster.new_database()` for a
    private one)."""
    return pg_cluster.url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a state that does not exist yet: a SQLite file, or a fresh PostgreSQL database (dropped after
    the test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/state/couponctl.db"
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    url = cluster.new_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStateStore]:
    """An opened, empty state store."""
    s = open_store(store_url)
    yield s
    s.close()
