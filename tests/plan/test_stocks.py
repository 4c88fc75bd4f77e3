"""The stock rules of the planner (decision D29; reference B.4, B.10): literal stocks in, changes and calls out."""

from __future__ import annotations

from copy import deepcopy
from datetime import UTC, datetime
from typing import Any

from reconciler.plan.actions import PlanContext
from reconciler.plan.request_numbers import stock_add_generation, stock_add_request_no
from reconciler.plan.stock_calls import BUNDLES, STOCKS, Calls
from reconciler.plan.stocks import StockPlan, added_after_create, declared_stock_count, plan_stocks
from reconciler.resources import IgnoreRule, ResourceState

BRAND = "120344"
ADDRESS = "product_coupon.coffee"
COUPON_ID = "1000000013"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def stock(*, max_count: int = 1000, remark: str = "first batch", per_day: int | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"max_count": max_count, "max_count_per_user": 1}
    if per_day is not None:
        rule["max_count_per_day"] = per_day
    return {
        "remark": remark,
        "coupon_code_mode": "WECHATPAY",
        "stock_send_rule": rule,
        "single_usage_rule": {
            "coupon_available_period": {
                "available_begin_time": "2026-11-11T00:00:00+08:00",
                "available_end_time": "2026-12-11T00:00:00+08:00",
            }
        },
        "usage_rule_display_info": {"coupon_usage_method_list": ["OFFLINE"], "usage_description": "全场可用"},
        "coupon_display_info": {"code_display_mode": "QRCODE"},
        "notify_config": {"notify_appid": "wx0000000000000001"},
        "store_scope": "NONE",
    }


def upstream_stock(body: dict[str, Any], stock_id: str, *, state: str = "SENDING", sent: int = 0) -> dict[str, Any]:
    """A stock as state records it: what was sent plus the response-only fields (reference B.4)."""
    return {
        **deepcopy(body),
        "stock_id": stock_id,
        "product_coupon_id": COUPON_ID,
        "brand_id": BRAND,
        "state": state,
        "sent_count_info": {"total_sent_count": sent, "today_sent_count": 0},
    }


def calls(*, coupon_id: str | None = COUPON_ID, environment: str | None = None) -> Calls:
    ctx = PlanContext(lineage="lin", serial=3, now=NOW, default_brand_id=BRAND, environment=environment)
    return Calls(ctx, ADDRESS, BRAND, coupon_id, 0, state())


def state(extra: dict[str, Any] | None = None) -> ResourceState:
    return ResourceState(
        address=ADDRESS,
        kind="ProductCoupon",
        upstream_id=COUPON_ID,
        upstream={},
        desired_digest="",
        brand_id=BRAND,
        updated_at="2026-10-20T08:00:01Z",
        extra=extra or {},
    )


def plan(want: dict[str, Any], have: dict[str, Any], *, protect: bool = False, **kwargs: Any) -> StockPlan:
    return plan_stocks(calls(), {"stocks": want}, {"stocks": have}, protect=protect, **kwargs)


def ops(result: StockPlan) -> list[tuple[str, str | None, str | None, str]]:
    return [(c.operation, c.stock_name, c.stock_id, c.role) for c in result.calls]


def body(call_payload: Any) -> dict[str, Any]:
    return {k: v for k, v in call_payload.items() if k != "out_request_no"}


def test_same_stocks_need_nothing() -> None:
    result = plan({"main": stock()}, {"main": upstream_stock(stock(), "S1", sent=842)})
    assert result == StockPlan()


def test_raising_max_count_is_one_update_budget_call() -> None:
    result = plan({"main": stock(max_count=5000)}, {"main": upstream_stock(stock(), "S1", sent=1000)})
    assert ops(result) == [("product.stock.update_budget", "main", "S1", "new")]
    (call,) = result.calls
    assert call.target == COUPON_ID
    assert body(call.payload) == {
        "brand_id": BRAND,
        "update_mode": "MAX_COUNT",
        "current_max_count": 1000,
        "target_max_count": 5000,
    }
    assert next(iter(call.payload)) == "out_request_no"
    [change] = result.changes
    assert (change.path, change.before, change.after, change.effect) == (
        "stocks.main.stock_send_rule.max_count",
        1000,
        5000,
        "update",
    )


def test_both_budget_dimensions_are_two_calls() -> None:
    result = plan({"main": stock(max_count=5000, per_day=200)}, {"main": upstream_stock(stock(per_day=100), "S1")})
    modes = [c.payload["update_mode"] for c in result.calls]
    assert modes == ["MAX_COUNT", "MAX_COUNT_PER_DAY"]
    per_day = result.calls[1].payload
    assert (per_day["current_max_count_per_day"], per_day["target_max_count_per_day"]) == (100, 200)
    assert result.calls[0].out_request_no != result.calls[1].out_request_no


def test_lowering_below_the_sent_count_is_blocked_with_the_figures() -> None:
    result = plan({"main": stock(max_count=500)}, {"main": upstream_stock(stock(), "S1", sent=842)})
    assert result.calls == ()
    [blocker] = result.blocked
    assert "500 is below the 842 coupons already sent" in blocker.reason
    assert "at least 842" in blocker.remedy
    assert result.changes[0].effect == "blocked"


def test_lowering_to_the_sent_count_is_allowed() -> None:
    result = plan({"main": stock(max_count=842)}, {"main": upstream_stock(stock(), "S1", sent=842)})
    assert ops(result) == [("product.stock.update_budget", "main", "S1", "new")]


def test_patchable_fields_are_one_patch_with_exactly_the_changed_fields() -> None:
    want = stock(remark="second")
    want["coupon_display_info"] = {"code_display_mode": "BARCODE"}
    result = plan({"main": want}, {"main": upstream_stock(stock(), "S1")})
    assert ops(result) == [("product.stock.patch", "main", "S1", "new")]
    assert body(result.calls[0].payload) == {
        "brand_id": BRAND,
        "remark": "second",
        "coupon_display_info": {"code_display_mode": "BARCODE"},
    }
    assert {c.path for c in result.changes} == {
        "stocks.main.remark",
        "stocks.main.coupon_display_info.code_display_mode",
    }


def test_patch_then_budget_then_add_then_deactivate() -> None:
    want = {"main": stock(remark="again", max_count=2000), "weekend": stock(remark="周末")}
    have = {"main": upstream_stock(stock(), "S1"), "old": upstream_stock(stock(), "S2")}
    result = plan(want, have)
    assert ops(result) == [
        ("product.stock.patch", "main", "S1", "new"),
        ("product.stock.update_budget", "main", "S1", "new"),
        ("product.stock.add", "weekend", None, "new"),
        ("product.stock.deactivate", "old", "S2", "new"),
    ]
    add = result.calls[2]
    assert body(add.payload) == {"brand_id": BRAND, "stock": stock(remark="周末")}
    deactivate = result.calls[3]
    assert body(deactivate.payload) == {
        "brand_id": BRAND,
        "deactivate_reason": "removed from manifests by couponctl: product_coupon.coffee stocks.old",
    }
    paths = {(c.path, c.change) for c in result.changes}
    assert ("stocks.weekend", "add") in paths and ("stocks.old", "remove") in paths


def test_add_number_ignores_lineage_and_body_and_names_generation() -> None:
    result = plan({"main": stock(), "weekend": stock(remark="周末")}, {"main": upstream_stock(stock(), "S1")})
    add = result.calls[0]
    assert add.out_request_no == stock_add_request_no(BRAND, ADDRESS, "weekend", 0, 0)
    assert add.payload["out_request_no"] == add.out_request_no
    assert stock_add_generation(add.out_request_no, BRAND, ADDRESS, "weekend", 0) == 0
    # another environment never shares the number (decision D26)
    other = plan_stocks(
        calls(environment="staging"), {"stocks": {"weekend": stock()}}, {"stocks": {}}, protect=False
    ).calls[0]
    assert other.out_request_no != add.out_request_no
    # a name declared again after its removal is the next generation (recorded by apply)
    again = plan(
        {"main": stock(), "weekend": stock()}, {"main": upstream_stock(stock(), "S1")}, generations={"weekend": 2}
    )
    assert again.calls[0].out_request_no == stock_add_request_no(BRAND, ADDRESS, "weekend", 0, 3)


def test_bundle_add_numbers_differ_from_stock_add_numbers() -> None:
    assert stock_add_request_no(BRAND, ADDRESS, "main", 0, 0) != stock_add_request_no(
        BRAND, ADDRESS, "main", 0, 0, bundle=True
    )


def test_a_fixed_field_replaces_the_stock_create_before_destroy() -> None:
    want = stock()
    want["coupon_code_mode"] = "UPLOAD"
    want["remark"] = "new"
    result = plan({"main": want}, {"main": upstream_stock(stock(), "S1")})
    assert ops(result) == [
        ("product.stock.add", "main", None, "new"),
        ("product.stock.deactivate", "main", "S1", "old"),
    ]
    assert result.calls[0].out_request_no == stock_add_request_no(BRAND, ADDRESS, "main", 0, 1)
    effects = {c.path: c.effect for c in result.changes}
    assert effects == {"stocks.main.coupon_code_mode": "forces_replacement", "stocks.main.remark": "update"}


def test_setting_a_per_day_cap_replaces_the_stock() -> None:
    result = plan({"main": stock(per_day=100)}, {"main": upstream_stock(stock(), "S1")})
    assert [c.operation for c in result.calls] == ["product.stock.add", "product.stock.deactivate"]


def test_removing_a_patchable_field_replaces_the_stock() -> None:
    want = stock()
    del want["remark"]
    result = plan({"main": want}, {"main": upstream_stock(stock(), "S1")})
    assert [c.operation for c in result.calls] == ["product.stock.add", "product.stock.deactivate"]


def test_protect_blocks_replacing_and_deactivating_stocks() -> None:
    want = stock()
    want["coupon_code_mode"] = "UPLOAD"
    replaced = plan({"main": want}, {"main": upstream_stock(stock(), "S1")}, protect=True)
    assert replaced.calls == () and "protect: true forbids replacing stocks.main" in replaced.blocked[0].reason
    removed = plan(
        {"main": stock()}, {"main": upstream_stock(stock(), "S1"), "b": upstream_stock(stock(), "S2")}, protect=True
    )
    assert removed.calls == () and "deactivating stocks.b" in removed.blocked[0].reason
    # protect never stops what destroys nothing
    raised = plan({"main": stock(max_count=9000)}, {"main": upstream_stock(stock(), "S1")}, protect=True)
    assert [c.operation for c in raised.calls] == ["product.stock.update_budget"] and not raised.blocked


def test_auditing_stock_defers_its_changes() -> None:
    result = plan({"main": stock(max_count=5000)}, {"main": upstream_stock(stock(), "S1", state="AUDITING")})
    assert result.calls == () and result.deferred
    assert result.changes[0].effect == "deferred"


def test_ended_stock_blocks_its_changes_with_a_remedy() -> None:
    for ended in ("STOPPED", "DEACTIVATED"):
        result = plan({"main": stock(max_count=5000)}, {"main": upstream_stock(stock(), "S1", state=ended)})
        assert result.calls == ()
        [blocker] = result.blocked
        assert ended in blocker.reason and "new name" in blocker.remedy


def test_ended_stock_removed_from_the_manifest_needs_no_call() -> None:
    result = plan(
        {"main": stock()},
        {"main": upstream_stock(stock(), "S1"), "b": upstream_stock(stock(), "S2", state="DEACTIVATED")},
    )
    assert result == StockPlan()


def test_unknown_stock_id_or_state_blocks_with_refresh() -> None:
    have = upstream_stock(stock(), "S1", state="FROZEN")
    result = plan({"main": stock(max_count=5000)}, {"main": have})
    assert "unknown state 'FROZEN'" in result.blocked[0].reason and "refresh" in result.blocked[0].remedy
    no_id = upstream_stock(stock(), "S1")
    del no_id["stock_id"]
    assert "upstream id" in plan({"main": stock(max_count=5000)}, {"main": no_id}).blocked[0].reason


def test_the_200_stock_cap_is_counted_offline() -> None:
    have = {f"s{i}": upstream_stock(stock(), f"S{i}") for i in range(199)}
    have["ended"] = upstream_stock(stock(), "SX", state="DEACTIVATED")  # not effective: not counted
    want = {name: stock() for name in have if name != "ended"}
    ok = plan({**want, "a": stock()}, have)
    assert not ok.blocked
    over = plan({**want, "a": stock(), "b": stock()}, have)
    [blocker] = over.blocked
    assert "199 effective stocks and 2 added make 201" in blocker.reason


def test_ignored_stock_fields_are_notes_and_patches_keep_upstream_values() -> None:
    want = stock(remark="manifest")
    want["store_scope"] = "ALL"
    have = upstream_stock(stock(remark="console"), "S1")
    result = plan({"main": want}, {"main": have}, ignore=[IgnoreRule("stocks.main.remark", "edited in the console")])
    assert body(result.calls[0].payload) == {"brand_id": BRAND, "store_scope": "ALL"}
    assert result.notes == ("stocks.main.remark differs upstream but is ignored (edited in the console)",)


def test_new_coupon_adds_every_stock_after_the_first() -> None:
    want = {"stocks": {"main": stock(), "weekend": stock(remark="周末"), "night": stock(remark="夜")}}
    added = added_after_create(calls(coupon_id=None), want)
    assert [(c.operation, c.stock_name, c.target) for c in added] == [
        ("product.stock.add", "weekend", None),
        ("product.stock.add", "night", None),
    ]
    assert declared_stock_count(want) == 3


def bundle(max_count: int = 1000) -> dict[str, Any]:
    return {
        "remark": "三次递进",
        "coupon_code_mode": "WECHATPAY",
        "stock_send_rule": {"max_count": max_count, "max_count_per_user": 1},
        "progressive_bundle_usage_rule": {
            "coupon_available_period": {
                "available_begin_time": "2026-11-11T00:00:00+08:00",
                "available_end_time": "2026-12-11T00:00:00+08:00",
            },
            "normal_coupon_list": [{"threshold": 3000, "discount_amount": d} for d in (500, 800, 1000)],
        },
        "usage_rule_display_info": {"coupon_usage_method_list": ["OFFLINE"], "usage_description": "每次可用一张"},
        "coupon_display_info": {"code_display_mode": "QRCODE"},
        "notify_config": {"notify_appid": "wx0000000000000001"},
        "store_scope": "ALL",
    }


def upstream_bundle(body: dict[str, Any], bundle_id: str, *, sent: int = 0, state: str = "SENDING") -> dict[str, Any]:
    steps = [
        {"stock_id": f"{bundle_id}{i}", "state": state, "sent_count_info": {"total_sent_count": sent}} for i in range(3)
    ]
    return {**deepcopy(body), "stock_bundle_id": bundle_id, "stock_list": steps}


def bundle_plan(want: dict[str, Any], have: dict[str, Any], **kwargs: Any) -> StockPlan:
    return plan_stocks(calls(), {"stock_bundles": want}, {"stock_bundles": have}, protect=False, **kwargs)


def test_bundle_budget_raise_and_patch() -> None:
    want = bundle(max_count=3000)
    want["remark"] = "四次"
    result = bundle_plan({"main": want}, {"main": upstream_bundle(bundle(), "B1")})
    assert ops(result) == [
        ("product.bundle.patch", "main", "B1", "new"),
        ("product.bundle.update_budget", "main", "B1", "new"),
    ]
    assert body(result.calls[1].payload)["target_max_count"] == 3000


def test_bundle_budget_below_sent_is_blocked() -> None:
    result = bundle_plan({"main": bundle(max_count=10)}, {"main": upstream_bundle(bundle(), "B1", sent=40)})
    assert "below the 40 coupons already sent" in result.blocked[0].reason


def test_bundle_add_and_removal_deactivates_each_step_stock() -> None:
    result = bundle_plan({"more": bundle()}, {"main": upstream_bundle(bundle(), "B1")})
    assert ops(result) == [
        ("product.bundle.add", "more", None, "new"),
        *[("product.stock.deactivate", "main", f"B1{i}", "new") for i in range(3)],
    ]
    assert body(result.calls[0].payload) == {"brand_id": BRAND, "stock_bundle": bundle()}
    assert result.calls[0].out_request_no == stock_add_request_no(BRAND, ADDRESS, "more", 0, 0, bundle=True)


def test_auditing_bundle_step_defers_the_bundle() -> None:
    result = bundle_plan({"main": bundle(max_count=3000)}, {"main": upstream_bundle(bundle(), "B1", state="AUDITING")})
    assert result.calls == () and result.deferred


def test_families_are_distinct() -> None:
    assert STOCKS.add == "product.stock.add" and BUNDLES.add == "product.bundle.add"
    assert BUNDLES.bundle and not STOCKS.bundle


def test_declared_stock_deactivated_outside_couponctl_is_blocked_with_a_remedy() -> None:
    result = plan({"main": stock()}, {"main": upstream_stock(stock(), "S1", state="DEACTIVATED")})
    assert result.calls == ()
    [blocker] = result.blocked
    assert "deactivated outside couponctl" in blocker.reason and "new name" in blocker.remedy
    # a stock that simply ended (its end time passed) is no difference
    assert plan({"main": stock()}, {"main": upstream_stock(stock(), "S1", state="STOPPED")}) == StockPlan()
