"""Issue 14 item 1: a zero-byte or foreign file, or a database with other tables, is refused as a state.

An emptied state (`: > state/couponctl.db`) or a wrong `[state] url` must never be taken for a new, empty state:
planning against it would propose creating every coupon again. A missing SQLite file and an empty PostgreSQL
database are still fine new states.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from reconciler.errors import StateError
from reconciler.store import open_store, upgrade_state

ADVICE = "if you meant a new state, remove it"


def test_zero_byte_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "couponctl.db"
    db.write_bytes(b"")
    with pytest.raises(StateError, match=r"is not a couponctl state \(the file is empty\); " + ADVICE):
        open_store(f"sqlite:///{db}")
    with pytest.raises(StateError, match="the file is empty"):
        upgrade_state(f"sqlite:///{db}")
    assert db.stat().st_size == 0


def test_non_sqlite_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "couponctl.db"
    db.write_text("# a TOML file saved under the wrong name\n", encoding="utf-8")
    with pytest.raises(StateError, match=r"\(the file is not an SQLite database\); " + ADVICE):
        open_store(f"sqlite:///{db}")


def test_sqlite_database_of_another_program_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    before = db.read_bytes()
    with pytest.raises(StateError, match=r"\(it has tables \(users\) but no couponctl schema\); " + ADVICE):
        open_store(f"sqlite:///{db}")
    assert db.read_bytes() == before  # not switched to WAL, no table added


def test_missing_file_is_a_new_state_and_reopens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state/couponctl.db"
    first = open_store(url)
    lineage = first.lineage
    first.close()
    again = open_store(url)
    assert again.lineage == lineage
    again.close()


@pytest.mark.postgres
def test_postgres_database_with_other_tables_is_refused(pg_cluster: object) -> None:
    from tests.pg import PgCluster

    assert isinstance(pg_cluster, PgCluster)
    url = pg_cluster.new_database()
    try:
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE orders (id integer)"))
        engine.dispose()
        with pytest.raises(StateError, match=r"\(it has tables \(orders\) but no couponctl schema\); if you meant"):
            open_store(url)
        with pytest.raises(StateError, match="point \\[state\\] url at an empty database"):
            open_store(url)
    finally:
        pg_cluster.drop_database(url)


@pytest.mark.postgres
def test_empty_postgres_database_is_a_new_state(pg_cluster: object) -> None:
    from tests.pg import PgCluster

    assert isinstance(pg_cluster, PgCluster)
    url = pg_cluster.new_database()
    try:
        store = open_store(url)
        lineage = store.lineage
        store.close()
        again = open_store(url)
        assert again.lineage == lineage
        again.close()
    finally:
        pg_cluster.drop_database(url)
