"""Product coupons with named stocks through the whole planner (decision D29): create, update, replace, defer."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from reconciler.plan.kinds import STOCK_RESPONSE_ONLY
from reconciler.plan.model import Action, ActionType
from reconciler.plan.request_numbers import stock_add_request_no
from reconciler.resources import ResourceState
from tests.plan.literals import BRAND, plan_of, product, product_body, product_state
from tests.plan.test_stocks import bundle, stock, upstream_bundle, upstream_stock

ADDRESS = "product_coupon.coffee"


def body(stocks: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A product body (scope ALL, NORMAL ¥20 off) with these named stocks in place of `stock`."""
    out = {k: v for k, v in product_body(**kwargs).items() if k not in ("stock", "stocks")}
    out["stocks"] = deepcopy(stocks)
    return out


def state(stocks: dict[str, Any], coupon_state: str = "EFFECTIVE", **kwargs: Any) -> ResourceState:
    return product_state("coffee", coupon_state, body=body(stocks, **kwargs))


def only(want: dict[str, Any], have: ResourceState | None, **kwargs: Any) -> Action:
    plan = plan_of([product("coffee", body=want, **kwargs)], [have] if have else [])
    assert len(plan.actions) == 1, plan.actions
    return plan.actions[0]


def ops(action: Action) -> list[tuple[str, str | None, str | None]]:
    return [(c.operation, c.stock_name, c.target) for c in action.calls]


def test_matching_stocks_plan_nothing() -> None:
    have = state({"main": upstream_stock(stock(), "S1", sent=842)})
    plan = plan_of([product("coffee", body=body({"main": stock()}))], [have])
    assert plan.actions == () and plan.unchanged == 1


def test_new_coupon_with_three_stocks_is_one_create_then_two_adds() -> None:
    want = body({"main": stock(), "weekend": stock(remark="周末"), "night": stock(remark="夜")})
    action = only(want, None)
    assert action.type is ActionType.CREATE
    assert ops(action) == [
        ("product.create", None, None),
        ("product.stock.add", "weekend", None),
        ("product.stock.add", "night", None),
    ]
    create = action.calls[0].payload
    assert create["stock"] == stock() and "stocks" not in create
    assert action.calls[1].out_request_no == stock_add_request_no(BRAND, ADDRESS, "weekend", 0, 0)


def test_sold_out_budget_raise_is_exactly_one_update_budget() -> None:
    have = state({"main": upstream_stock(stock(max_count=1000), "S1", sent=1000)})
    action = only(body({"main": stock(max_count=5000)}), have)
    assert action.type is ActionType.UPDATE
    assert ops(action) == [("product.stock.update_budget", "main", "1000000013")]
    assert action.calls[0].stock_id == "S1"
    assert [(c.path, c.before, c.after) for c in action.changes] == [
        ("stocks.main.stock_send_rule.max_count", 1000, 5000)
    ]


def test_plan_with_stock_calls_is_format_1_4() -> None:
    have = state({"main": upstream_stock(stock(), "S1")})
    plan = plan_of([product("coffee", body=body({"main": stock(max_count=5000)}))], [have])
    assert plan.format_version == "1.4"


def test_second_stock_declared_is_one_add_and_removed_is_one_deactivation() -> None:
    one = {"main": upstream_stock(stock(), "S1")}
    added = only(body({"main": stock(), "weekend": stock(remark="周末")}), state(one))
    assert ops(added) == [("product.stock.add", "weekend", "1000000013")]
    two = {**one, "weekend": upstream_stock(stock(remark="周末"), "S2")}
    removed = only(body({"main": stock()}), state(two))
    assert removed.type is ActionType.UPDATE
    assert ops(removed) == [("product.stock.deactivate", "weekend", "1000000013")]
    assert removed.calls[0].stock_id == "S2"


def test_lowering_below_sent_blocks_the_coupon_with_the_figures() -> None:
    have = state({"main": upstream_stock(stock(), "S1", sent=842)})
    action = only(body({"main": stock(max_count=500)}), have)
    assert action.type is ActionType.BLOCKED
    assert "500 is below the 842 coupons already sent" in (action.reason or "")
    assert "at least 842" in (action.remedy or "")


def test_display_and_stocks_in_the_designed_order() -> None:
    have = state({"main": upstream_stock(stock(), "S1"), "old": upstream_stock(stock(), "S9")})
    want = body({"main": stock(remark="改", max_count=3000), "new": stock()}, display_name="咖啡满100减25")
    action = only(want, have)
    assert [c.operation for c in action.calls] == [
        "product.patch",
        "product.stock.patch",
        "product.stock.update_budget",
        "product.stock.add",
        "product.stock.deactivate",
    ]


def test_auditing_coupon_defers_stock_changes() -> None:
    have = state({"main": upstream_stock(stock(), "S1", state="AUDITING")}, coupon_state="AUDITING")
    action = only(body({"main": stock(max_count=5000)}), have)
    assert action.type is ActionType.DEFERRED and not action.calls
    assert all(c.effect == "deferred" for c in action.changes)


def test_auditing_stock_alone_is_deferred_never_not_applied() -> None:
    have = state({"main": upstream_stock(stock(), "S1", state="AUDITING")})
    action = only(body({"main": stock(max_count=5000)}), have)
    assert action.type is ActionType.DEFERRED
    assert "AUDITING" in (action.reason or "")


def test_entity_change_replaces_with_all_stocks_then_deactivates_the_old_coupon() -> None:
    have = state({"main": upstream_stock(stock(), "S1"), "weekend": upstream_stock(stock(), "S2")})
    want = body({"main": stock(), "weekend": stock()}, discount_amount=2500)
    action = only(want, have)
    assert action.type is ActionType.REPLACE
    assert [(c.operation, c.stock_name, c.target, c.role) for c in action.calls] == [
        ("product.create", None, None, "new"),
        ("product.stock.add", "weekend", None, "new"),
        ("product.deactivate", None, "1000000013", "old"),
    ]
    # the new coupon is generation 1: its adds never replay the old coupon's
    assert action.calls[1].out_request_no == stock_add_request_no(BRAND, ADDRESS, "weekend", 1, 0)


def test_deactivated_coupon_still_declared_is_recreated_with_its_stocks() -> None:
    have = state({"main": upstream_stock(stock(), "S1")}, coupon_state="DEACTIVATED")
    action = only(body({"main": stock(), "b": stock()}), have)
    assert action.type is ActionType.REPLACE
    assert [c.operation for c in action.calls] == ["product.create", "product.stock.add"]


def test_protect_blocks_a_stock_deactivation_but_not_a_raise() -> None:
    two = {"main": upstream_stock(stock(), "S1"), "weekend": upstream_stock(stock(), "S2")}
    blocked = only(body({"main": stock()}), state(two), protect=True)
    assert blocked.type is ActionType.BLOCKED and "protect" in (blocked.reason or "")
    raised = only(body({"main": stock(max_count=9000), "weekend": stock()}), state(two), protect=True)
    assert raised.type is ActionType.UPDATE


def bundle_body(bundles: dict[str, Any]) -> dict[str, Any]:
    """A PROGRESSIVE_BUNDLE coupon (reference B.0, B.4) with these named stock bundles."""
    out = {k: v for k, v in body({}).items() if k not in ("stocks", "single_usage_info")}
    return {
        **out,
        "usage_mode": "PROGRESSIVE_BUNDLE",
        "progressive_bundle_usage_info": {"count": 3, "interval_days": 1},
        "stock_bundles": deepcopy(bundles),
    }


def test_bundle_coupon_is_created_with_its_first_bundle_then_adds_the_others() -> None:
    action = only(bundle_body({"main": bundle(), "more": bundle(max_count=50)}), None)
    assert ops(action) == [("product.create", None, None), ("product.bundle.add", "more", None)]
    assert action.calls[0].payload["stock_bundle"] == bundle() and "stock_bundles" not in action.calls[0].payload


def test_bundle_budget_raise_is_one_bundle_update_budget() -> None:
    have = product_state("coffee", body=bundle_body({"main": upstream_bundle(bundle(), "B1", sent=30)}))
    action = only(bundle_body({"main": bundle(max_count=3000)}), have)
    assert action.type is ActionType.UPDATE
    assert [(c.operation, c.stock_name, c.stock_id) for c in action.calls] == [
        ("product.bundle.update_budget", "main", "B1")
    ]


def test_what_upstream_adds_to_a_stock_is_never_a_difference() -> None:
    """Every field of the one response-only list (plan/kinds.py, reference B.4) on a stock in state, timestamps and
    a bundle step's `stock_bundle_info` included, plans nothing: neither a patch nor a replacement."""
    listed = {
        **upstream_stock(stock(), "S1", sent=842),
        "create_time": "2026-10-20T08:00:01+08:00",
        "update_time": "2026-11-02T09:30:00+08:00",
        "stock_bundle_info": {"stock_bundle_id": "B1", "stock_bundle_index": 0},
        "out_request_no": "sa-1",
    }
    assert {"create_time", "update_time", "stock_bundle_info", "out_request_no"} <= STOCK_RESPONSE_ONLY
    plan = plan_of([product("coffee", body=body({"main": stock()}))], [state({"main": listed})])
    assert plan.actions == () and plan.unchanged == 1
