"""The bench counts every mutating call (bench/operations.py): its list is derived from couponctl's one list of
mutating operations and names each call as the sandbox's call log does."""

from __future__ import annotations

from typing import Any

from bench.operations import CLIENT_MUTATING, MUTATING, SANDBOX_NAME
from reconciler.plan.model import MUTATING_OPERATIONS
from reconciler.sandbox import PRODUCT_OPERATIONS, SHOP_OPERATIONS
from tests.providers.test_stocks_against_sandbox import World, run
from tests.sandbox.stock_support import stock_body

# The sandbox's operations that change nothing: reads, the shop confirmation probe, the notify configuration.
SANDBOX_NOT_MUTATING = {
    "shop.get",
    "shop.get_list",
    "shop.confirm",
    "product.get",
    "product.stocks.list",
    "product.stocks.get",
    "product.stocks.associated_stores",
    "product.notify_configs",
}


def test_every_mutating_operation_has_one_sandbox_name_and_no_other_sandbox_call_mutates() -> None:
    assert set(CLIENT_MUTATING) == MUTATING_OPERATIONS
    assert len(MUTATING) == len(MUTATING_OPERATIONS)  # one sandbox name each, none shared
    assert set(SHOP_OPERATIONS) | set(PRODUCT_OPERATIONS) == MUTATING | SANDBOX_NOT_MUTATING
    assert not MUTATING & SANDBOX_NOT_MUTATING
    assert {SANDBOX_NAME[op] for op in ("product.stock.add", "product.media.upload", "shop.update_stock")} <= MUTATING


def test_the_bench_counts_each_call_of_a_stock_lifecycle_and_no_read() -> None:
    """A coupon created, a stock added, patched, raised and deactivated, its stocks listed: five mutating calls in
    the sandbox's call log (the bench's former hand list counted only the create)."""

    async def scenario(w: World) -> list[dict[str, Any]]:
        pid = await w.coupon()
        added = await w.product.execute(w.call("product.stock.add", {"stock": stock_body()}, target=pid))
        assert added.entity is not None
        sid = str(added.entity["stock_id"])
        await w.product.execute(w.call("product.stock.patch", {"remark": "周末"}, target=pid, stock_id=sid))
        budget = {"update_mode": "MAX_COUNT", "current_max_count": 1000, "target_max_count": 5000}
        await w.product.execute(w.call("product.stock.update_budget", budget, target=pid, stock_id=sid))
        await w.product.read_stocks(pid)
        gone = {"deactivate_reason": "removed"}
        await w.product.execute(w.call("product.stock.deactivate", gone, target=pid, stock_id=sid))
        calls: list[dict[str, Any]] = (await w.admin.get("/_sandbox/calls")).json()["calls"]
        return calls

    calls = run(scenario)
    counted = [c["operation"] for c in calls if c["operation"] in MUTATING]
    assert counted == [
        "product.create",
        "product.stocks.create",
        "product.stocks.patch",
        "product.stocks.update_budget",
        "product.stocks.deactivate",
    ]
    assert "product.stocks.list" in {c["operation"] for c in calls}
