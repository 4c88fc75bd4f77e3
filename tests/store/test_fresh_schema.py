"""A new state is created at the newest schema in one step (`schema.create_current`): it must be the schema that
running every migration from nothing gives, on both backends, so that the next migration finds what it expects
whichever way a state began."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from reconciler.store import open_store
from reconciler.store import schema as state_schema
from tests.pg import PgCluster


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/migrated.db", f"sqlite:///{tmp_path}/created.db"
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    urls = cluster.new_database(), cluster.new_database()
    yield urls
    for url in urls:
        cluster.drop_database(url)


def _type(column: dict[str, Any]) -> str:
    return str(column["type"].compile(dialect=sa.dialects.sqlite.dialect())).upper()


def reflected(url: str) -> dict[str, Any]:
    """Every table's columns (name, type, nullability, server default), primary key, foreign keys, indexes, unique
    and check constraints, as the database reports them."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        out: dict[str, Any] = {}
        for table in sorted(inspector.get_table_names()):
            out[table] = {
                "columns": [
                    (c["name"], _type(c), c["nullable"], None if c.get("default") is None else str(c["default"]))
                    for c in inspector.get_columns(table)
                ],
                "pk": sorted(inspector.get_pk_constraint(table)["constrained_columns"]),
                "fks": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                    for f in inspector.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)
                ),
                "uniques": sorted(
                    (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
                ),
                "checks": sorted(
                    (c["name"], " ".join(c["sqltext"].split())) for c in inspector.get_check_constraints(table)
                ),
            }
        return out
    finally:
        engine.dispose()


def test_a_new_state_has_the_schema_every_migration_gives(two_urls: tuple[str, str]) -> None:
    migrated_url, created_url = two_urls
    engine = sa.create_engine(migrated_url)
    with engine.begin() as conn:
        state_schema.upgrade(conn)  # every revision, from nothing
    engine.dispose()
    open_store(created_url).close()  # how couponctl creates a state

    migrated, created = reflected(migrated_url), reflected(created_url)
    assert set(created) == set(migrated) == {
        "alembic_version", "assets", "calls", "intents", "lock", "meta", "resources", "runs"
    }  # fmt: skip
    for table in migrated:
        assert created[table] == migrated[table], table
    engine = sa.create_engine(created_url)
    try:
        with engine.connect() as conn:
            assert state_schema.current_revision(conn) == state_schema.head_revision()
    finally:
        engine.dispose()


def test_a_new_state_opens_at_the_newest_revision_and_keeps_a_lineage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state/couponctl.db"
    (tmp_path / "state").mkdir()
    first = open_store(url)
    lineage = first.lineage
    first.close()
    again = open_store(url, create=False, migrate=False)  # no migration pending: opens as is
    assert again.lineage == lineage
    again.close()
