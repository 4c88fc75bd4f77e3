"""The planner's read of state (decision D36, store/planning.py), on SQLite and PostgreSQL: markers and row digests
from one scan, rows decoded on demand and equal to `resources()`, markers written without moving the serial, and
every change to a row (put, move, a raw SQL update) giving it another digest."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from reconciler.store import SqlStateStore
from reconciler.store.planning import mark_converged, planning_state
from tests.store.test_store import product, shop


def _fill(store: SqlStateStore) -> None:
    for resource in (shop("a"), shop("b", status=3), product("c"), *(shop(f"n{i:04d}") for i in range(1200))):
        store.put(resource)


def test_rows_are_decoded_on_demand_and_equal_the_stores_own(store: SqlStateStore) -> None:
    _fill(store)
    rows = planning_state(store)
    assert len(rows) == 1203 and rows.decoded == 0 and list(rows) == sorted(rows)
    assert {r.marker for r in rows.recorded.values()} == {""}  # nothing marked yet
    assert len({r.row for r in rows.recorded.values()}) == 1203  # one digest per row
    rows.load(["shop_coupon.a", "product_coupon.c", "shop_coupon.missing"])
    assert rows.decoded == 2
    assert rows["product_coupon.c"] == store.get("product_coupon.c")
    assert "shop_coupon.missing" not in rows and rows.get("shop_coupon.missing") is None
    assert dict(rows.items()) == store.resources()  # a full scan through the mapping reads batches, not rows


def test_markers_are_recorded_without_moving_the_serial(store: SqlStateStore) -> None:
    _fill(store)
    serial = store.serial
    assert mark_converged(store, {"shop_coupon.a": "m" * 64, "product_coupon.c": "n" * 64}) == 2
    recorded = planning_state(store).recorded
    assert recorded["shop_coupon.a"].marker == "m" * 64 and recorded["product_coupon.c"].marker == "n" * 64
    assert recorded["shop_coupon.b"].marker == ""
    assert store.serial == serial and mark_converged(store, {}) == 0


def test_every_change_to_a_row_changes_its_digest(store: SqlStateStore) -> None:
    _fill(store)
    before = planning_state(store).recorded
    store.put(replace(shop("a"), protect=True))
    store.move("shop_coupon.b", "shop_coupon.b2")
    with store.engine.begin() as conn:  # a write that is not the store's (a migration, a hand edit)
        conn.execute(sa.text("UPDATE resources SET extra = :x WHERE address = 'product_coupon.c'"), {"x": '{"x":1}'})
    after = planning_state(store).recorded
    assert after["shop_coupon.a"].row != before["shop_coupon.a"].row
    assert after["shop_coupon.b2"].row != before["shop_coupon.b"].row
    assert after["product_coupon.c"].row != before["product_coupon.c"].row
    assert after["shop_coupon.n0001"] == before["shop_coupon.n0001"]  # an untouched row keeps its digest
