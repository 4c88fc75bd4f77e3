"""Fixtures of the state-store tests: every store test runs against SQLite and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.store import SqlStateStore, open_store
from tests.pg import PgCluster, pg_cluster, pg_url

__all__ = ["pg_cluster", "pg_url"]  # the session fixtures, re-exported so pytest finds them here


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
