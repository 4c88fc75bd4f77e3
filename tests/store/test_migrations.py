"""Schema versions: a state from the first schema is upgraded without losing a row; a newer one is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from reconciler.errors import StateVersionError
from reconciler.store import open_store, upgrade_state
from reconciler.store import schema as state_schema

RESOURCE_V1 = {
    "address": "shop_coupon.d11",
    "kind": "ShopCoupon",
    "upstream_id": "d11",
    "upstream": '{"coupon_info":{"name":"双11满100减20"},"status":2}',
    "desired_digest": "d" * 64,
    "status": "2",
    "protect": True,
    "brand_id": None,
    "created_at": "2026-11-01T00:00:00.000000Z",
    "updated_at": "2026-11-02T00:00:00.000000Z",
}


def write_first_schema_state(url: str) -> None:
    """Create a state at revision r0001 only, and fill every table with plain SQL (as couponctl 0.1 would)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        state_schema.upgrade(conn, "r0001")
        conn.execute(
            sa.text(
                "INSERT INTO meta (id, lineage, serial, created_at, couponctl_version) "
                "VALUES (1, '6f1c1d2e-0000-4000-8000-000000000001', 41, '2026-11-01T00:00:00Z', '0.0.1')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO resources (address, kind, upstream_id, upstream, desired_digest, status, protect, "
                "brand_id, created_at, updated_at) VALUES (:address, :kind, :upstream_id, :upstream, "
                ":desired_digest, :status, :protect, :brand_id, :created_at, :updated_at)"
            ),
            [
                RESOURCE_V1,
                {
                    **RESOURCE_V1,
                    "address": "product_coupon.c",
                    "kind": "ProductCoupon",
                    "upstream_id": "PC1",
                    "upstream": '{"state":"EFFECTIVE","stock":{"stock_id":"S1","state":"SENDING"}}',
                    "status": "EFFECTIVE",
                    "brand_id": "120344",
                },
            ],
        )
        conn.execute(
            sa.text(
                "INSERT INTO runs (run_id, command, actor, git_commit, plan_digest, started_at, finished_at, outcome, "
                "summary) VALUES (7, 'apply', 'alice', 'abc123', 'p', '2026-11-01T00:00:00Z', "
                "'2026-11-01T00:01:00Z', 'ok', :summary)"
            ),
            {"summary": '{"applied":2}'},
        )
        conn.execute(
            sa.text(
                "INSERT INTO calls (run_id, address, operation, outcome, out_request_no, request_id, http_status, "
                "at) VALUES (7, 'product_coupon.c', 'product.create', 'ok', 'REQ-1234567', 'RID-1', 200, "
                "'2026-11-01T00:00:30Z')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO intents (run_id, address, operation, target, out_request_no, payload, payload_digest, "
                "created_at) VALUES (7, 'shop_coupon.d11', 'shop.update_status', 'd11', NULL, :payload, "
                "'q', '2026-11-01T00:00:40Z')"
            ),
            {"payload": '{"status":4}'},
        )
    engine.dispose()


def test_first_schema_state_is_upgraded_without_losing_a_row(store_url: str) -> None:
    """Opening a revision-1 state migrates it to the head and keeps lineage, serial, resources, history, intents."""
    write_first_schema_state(store_url)
    store = open_store(store_url)
    try:
        assert store.lineage == "6f1c1d2e-0000-4000-8000-000000000001"
        assert store.serial == 41
        resources = store.resources()
        assert sorted(resources) == ["product_coupon.c", "shop_coupon.d11"]
        d11 = resources["shop_coupon.d11"]
        assert d11.upstream == {"coupon_info": {"name": "双11满100减20"}, "status": 2}
        assert d11.protect is True
        assert d11.created_at == "2026-11-01T00:00:00.000000Z"
        assert d11.extra == {}  # the column revision 2 added
        assert resources["product_coupon.c"].brand_id == "120344"
        # revision 3 (decision D29): the create's stock is the `main` entry of the named stocks
        assert resources["product_coupon.c"].upstream == {
            "state": "EFFECTIVE",
            "stocks": {"main": {"stock_id": "S1", "state": "SENDING"}},
        }
        (run,) = store.runs()
        assert (run.run_id, run.actor, run.git_commit, run.summary) == (7, "alice", "abc123", {"applied": 2})
        (call,) = store.calls(7)
        assert (call.out_request_no, call.request_id) == ("REQ-1234567", "RID-1")
        (intent,) = store.open_intents()
        assert intent.payload == {"status": 4}
        with store.engine.connect() as conn:
            assert state_schema.current_revision(conn) == state_schema.head_revision()
            indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("calls")}
        assert "ix_calls_run_id" in indexes
    finally:
        store.close()


def test_upgrade_state_reports_both_revisions(store_url: str) -> None:
    """The explicit upgrade says where the state came from and where it is now."""
    write_first_schema_state(store_url)
    assert upgrade_state(store_url) == ("r0001", state_schema.head_revision())
    assert upgrade_state(store_url) == (state_schema.head_revision(), state_schema.head_revision())


def test_migrations_are_known_in_order() -> None:
    """Four revisions ship (the first schema, extra and indexes, named stocks: decision D29, the asset map: D33), and
    both readers of them agree."""
    assert state_schema.known_revisions() == ("r0001", "r0002", "r0003", "r0004", "r0005")
    assert state_schema.alembic_revisions() == ["r0001", "r0002", "r0003", "r0004", "r0005"]
    assert state_schema.head_revision() == "r0005"


def test_a_state_from_a_newer_couponctl_is_refused(store_url: str) -> None:
    """A schema revision this couponctl does not know is refused, naming both revisions, and nothing is changed."""
    open_store(store_url).close()
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'r0099'"))
        conn.execute(sa.text("UPDATE meta SET couponctl_version = '9.0.0'"))
    engine.dispose()
    with pytest.raises(StateVersionError) as err:
        open_store(store_url)
    message = str(err.value)
    assert "r0099" in message and state_schema.head_revision() in message and "9.0.0" in message
    assert "upgrade couponctl" in message
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "r0099"
    engine.dispose()
