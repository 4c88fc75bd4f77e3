"""The PostgreSQL test harness itself: it says clearly when it cannot run, and its cluster is real."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.pg import PgCluster, PostgresUnavailable, start_postgres


def test_missing_binaries_are_reported_not_hidden(tmp_path: Path) -> None:
    """Without initdb/pg_ctl the harness raises PostgresUnavailable naming the directory (the fixture turns it
    into a failure under CI and a loud skip elsewhere)."""
    with pytest.raises(PostgresUnavailable, match=str(tmp_path)):
        start_postgres(bin_dir=tmp_path)


@pytest.mark.postgres
def test_cluster_serves_postgres_15_on_loopback(pg_cluster: PgCluster, pg_url: str) -> None:
    """The session cluster is a PostgreSQL 15 server on 127.0.0.1 with the couponctl database."""
    assert pg_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    with psycopg.connect(host="127.0.0.1", port=pg_cluster.port, user="postgres", dbname="couponctl") as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None and str(row[0]).startswith("15")
