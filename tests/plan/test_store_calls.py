"""The store association batches of the planner (decision D34; reference B.1, B.4): literal stocks in, batched
calls with deterministic journal numbers out."""

from __future__ import annotations

from typing import Any

from reconciler.plan.stocks import added_after_create, plan_stocks
from reconciler.plan.store_calls import STORE_BATCH_MAX, store_request_no, stores_drift, summary
from reconciler.render.values import leaves
from reconciler.stocks import create_body
from tests.plan.test_stocks import ADDRESS, BRAND, COUPON_ID, calls, stock, upstream_stock

IDS = [str(100_000_000 + i) for i in range(1, 1201)]


def specific(ids: list[str], **kw: Any) -> dict[str, Any]:
    return {**stock(**kw), "store_scope": "SPECIFIC", "stores": ids}


def plan(want: dict[str, Any], have: dict[str, Any]) -> Any:
    return plan_stocks(calls(), {"stocks": want}, {"stocks": have}, protect=False)


def store_ids(call: Any) -> list[str]:
    return [s["store_id"] for s in call.payload["store_list"]]


def test_1200_new_stores_are_six_batches_of_200_in_order() -> None:
    result = plan({"main": specific(IDS)}, {"main": upstream_stock(specific([]), "S1")})
    assert [c.operation for c in result.calls] == ["product.stock.associate_stores"] * 6
    assert [store_ids(c) for c in result.calls] == [IDS[i : i + 200] for i in range(0, 1200, 200)]
    first = result.calls[0]
    assert (first.target, first.stock_id, first.stock_name) == (COUPON_ID, "S1", "main")
    assert first.payload == {"brand_id": BRAND, "store_list": [{"store_id": s} for s in IDS[:200]]}
    assert "out_request_no" not in first.payload  # the API takes none: the number is the journal's only
    assert len({c.out_request_no for c in result.calls}) == 6
    [change] = result.changes
    assert change.path == "stocks.main.stores" and change.before == "0 stores"
    assert change.after == (
        "1,200 stores: +1,200 (100000001, 100000002, 100000003, …) (6 calls: product.stock.associate_stores)"
    )


def test_the_same_stores_need_nothing_and_removing_10_is_one_disassociate_call() -> None:
    have = {"main": upstream_stock(specific(IDS), "S1")}
    assert plan({"main": specific(IDS)}, have).calls == ()
    kept = IDS[:500] + IDS[510:]
    result = plan({"main": specific(kept)}, have)
    [call] = result.calls
    assert call.operation == "product.stock.disassociate_stores" and store_ids(call) == IDS[500:510]


def test_numbers_depend_on_address_stock_operation_index_and_batch_not_the_lineage() -> None:
    batch = IDS[:200]
    number = store_request_no(ADDRESS, "main", "product.stock.associate_stores", 0, batch)
    assert number == store_request_no(ADDRESS, "main", "product.stock.associate_stores", 0, list(batch))
    others = {
        store_request_no(ADDRESS, "other", "product.stock.associate_stores", 0, batch),
        store_request_no(ADDRESS, "main", "product.stock.disassociate_stores", 0, batch),
        store_request_no(ADDRESS, "main", "product.stock.associate_stores", 1, batch),
        store_request_no(ADDRESS, "main", "product.stock.associate_stores", 0, IDS[1:201]),
        store_request_no(ADDRESS, "main", "product.stock.associate_stores", 0, batch, "staging"),
    }
    assert number not in others and len(others) == 5
    result = plan({"main": specific(IDS[:200])}, {"main": upstream_stock(specific([]), "S1")})
    assert result.calls[0].out_request_no == number  # the plan's number is that derivation (lineage "lin" unused)


def test_a_resumed_plan_sends_only_what_state_does_not_know() -> None:
    have = {"main": upstream_stock(specific(IDS[:400]), "S1")}  # two batches landed before a crash
    result = plan({"main": specific(IDS)}, have)
    assert [store_ids(c) for c in result.calls] == [IDS[i : i + 200] for i in range(400, 1200, 200)]


def test_a_new_stock_is_added_without_stores_then_associated_by_name() -> None:
    result = plan(
        {"main": specific(IDS[:10]), "extra": specific(IDS[:300])},
        {"main": upstream_stock(specific(IDS[:10]), "S1")},
    )
    ops = [(c.operation, c.stock_name, c.stock_id) for c in result.calls]
    assert ops == [
        ("product.stock.add", "extra", None),
        ("product.stock.associate_stores", "extra", None),
        ("product.stock.associate_stores", "extra", None),
    ]
    assert "stores" not in result.calls[0].payload["stock"]


def test_a_replaced_stock_gets_all_its_stores_after_the_add() -> None:
    have = {"main": upstream_stock(specific(IDS[:10], max_count=1000), "S1")}
    want = specific(IDS[:10], max_count=1000)
    want["coupon_code_mode"] = "UPLOAD"  # fixed at creation: a new stock replaces it
    result = plan({"main": want}, have)
    ops = [(c.operation, c.stock_id, c.role) for c in result.calls]
    assert ops == [
        ("product.stock.add", None, "new"),
        ("product.stock.associate_stores", None, "new"),
        ("product.stock.deactivate", "S1", "old"),
    ]


def test_a_new_coupon_creates_without_stores_then_associates_every_stock() -> None:
    body = {"stocks": {"main": specific(IDS[:250]), "b": specific(IDS[:1])}}
    assert "stores" not in create_body(body)["stock"]
    extra = added_after_create(calls(coupon_id=None), body)
    assert [(c.operation, c.stock_name, c.target) for c in extra] == [
        ("product.stock.add", "b", None),
        ("product.stock.associate_stores", "main", None),
        ("product.stock.associate_stores", "main", None),
        ("product.stock.associate_stores", "b", None),
    ]


def test_an_ended_stock_gets_no_store_calls() -> None:
    have = {"main": upstream_stock(specific(IDS[:10]), "S1", state="STOPPED")}
    assert not [c for c in plan({"main": specific(IDS[:20])}, have).calls if "stores" in c.operation]


def test_plans_show_counts_and_the_first_ids_never_the_whole_list() -> None:
    assert summary(IDS) == "1,200 stores: 100000001, 100000002, 100000003, …"
    assert list(leaves({"stocks": {"main": {"stores": IDS}}}, "")) == [("stocks.main.stores", summary(IDS))]
    assert STORE_BATCH_MAX == 200


def test_drift_is_one_summarised_change() -> None:
    [change] = stores_drift("main", {"stores": IDS[:5]}, {"stores": [*IDS[1:5], "9"]})
    assert change.path == "stocks.main.stores"
    assert change.after == "5 stores: +1 (9); -1 (100000001)"
    assert stores_drift("main", {"stores": IDS[:5]}, {"stores": IDS[:5]}) == []
