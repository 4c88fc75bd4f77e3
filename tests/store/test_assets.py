"""The asset map (decision D33) on both backends: recorded at once, replaced by sha256, no serial bump; revision 4."""

from __future__ import annotations

from reconciler.store import SqlStateStore
from reconciler.store import schema as state_schema
from reconciler.store.api import Asset

SHA = "3f2a" + "0" * 60


def test_an_upload_is_recorded_and_replaced_by_its_digest_without_bumping_the_serial(store: SqlStateStore) -> None:
    serial = store.serial
    assert store.assets() == {}
    store.put_asset(Asset(SHA, "https://img.example/a.png", 1234, "2026-11-29T10:00:00.000000Z", "RID-1"))
    store.put_asset(Asset("b" * 64, "https://img.example/b.png", 10, "2026-11-29T10:00:01.000000Z"))
    store.put_asset(Asset(SHA, "https://img.example/a2.png", 1234, "2026-11-29T10:00:02.000000Z", "RID-2"))
    assets = store.assets()
    assert list(assets) == ["3f2a" + "0" * 60, "b" * 64]
    assert assets[SHA] == Asset(SHA, "https://img.example/a2.png", 1234, "2026-11-29T10:00:02.000000Z", "RID-2")
    assert assets["b" * 64].request_id is None
    assert store.serial == serial


def test_revision_4_is_the_asset_table() -> None:
    assert "r0004" in state_schema.known_revisions()
    assert "r0004" in state_schema.alembic_revisions()
