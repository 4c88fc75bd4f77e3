"""Drift of a product coupon's stocks (decision D29): the stocks list read by refresh/drift, named as state names
them, compared field by field; console additions and deactivations reported; counters recorded, never drift."""

from __future__ import annotations

from typing import Any

from reconciler.plan import stock_calls
from reconciler.plan.drift import compare, refreshed
from reconciler.plan.kinds import PRODUCT_RULES, STOCK_RESPONSE_ONLY
from reconciler.plan.stock_drift import OUTSIDE_KEY, has_stocks, with_listed_stocks
from reconciler.resources import IgnoreRule, ResourceState

NOW = "2026-11-29T00:00:00Z"
COUPON = {"product_coupon_id": "1000000001", "state": "EFFECTIVE", "scope": "ALL", "display_info": {"name": "咖啡券"}}


def stock(
    stock_id: str, remark: str, *, sent: int = 0, state: str = "SENDING", max_count: int = 1000
) -> dict[str, Any]:
    return {
        "stock_id": stock_id,
        "product_coupon_id": "1000000001",
        "remark": remark,
        "stock_send_rule": {"max_count": max_count, "max_count_per_user": 1},
        "state": state,
        "sent_count_info": {"total_sent_count": sent, "today_sent_count": 0},
    }


def resource(**extra: Any) -> ResourceState:
    upstream = {**COUPON, "stocks": {"main": stock("s1", "主批次"), "weekend": stock("s2", "周末")}}
    return ResourceState(
        "product_coupon.coffee", "ProductCoupon", "1000000001", upstream, "d", brand_id="120344", extra=extra
    )


def listed_as(res: ResourceState, *stocks: dict[str, Any]) -> dict[str, Any]:
    return with_listed_stocks(res, dict(COUPON), list(stocks))


def test_the_same_stocks_with_new_counters_are_no_drift_but_refresh_records_the_counters() -> None:
    """sent_count_info and a SENDING -> PAUSED move are upstream's own: no drift; refresh keeps them in state."""
    res = resource()
    current = listed_as(res, stock("s1", "主批次", sent=842), stock("s2", "周末", state="PAUSED"))
    assert compare(res, current) is None
    after = refreshed(res, current, NOW)
    assert after.upstream["stocks"]["main"]["sent_count_info"]["total_sent_count"] == 842
    assert after.upstream["stocks"]["weekend"]["state"] == "PAUSED"


def test_a_console_edit_of_a_stock_is_reported_by_the_stock_name() -> None:
    res = resource()
    current = listed_as(res, stock("s1", "改过", max_count=3000), stock("s2", "周末"))
    item = compare(res, current)
    assert item is not None and item.category == "changed"
    assert {(c.path, c.before, c.after) for c in item.changes} == {
        ("stocks.main.remark", "主批次", "改过"),
        ("stocks.main.stock_send_rule.max_count", 1000, 3000),
    }


def test_an_ignore_drift_rule_on_a_stock_field_silences_it() -> None:
    res = resource()
    current = listed_as(res, stock("s1", "改过"), stock("s2", "周末"))
    assert compare(res, current, [IgnoreRule("stocks.main.remark", "a test")]) is None


def test_a_stock_added_in_the_console_is_reported_and_never_recorded_under_a_name() -> None:
    res = resource()
    current = listed_as(res, stock("s1", "主批次"), stock("s2", "周末"), stock("s9", "临时"))
    item = compare(res, current)
    assert item is not None and item.changes == ()
    assert item.note == "stock s9 (临时) added outside couponctl"
    after = refreshed(res, current, NOW)
    assert set(after.upstream["stocks"]) == {"main", "weekend"} and OUTSIDE_KEY not in after.upstream


def test_a_stock_deactivated_in_the_console_is_drift_and_stays_in_state_deactivated() -> None:
    res = resource()
    current = listed_as(res, stock("s1", "主批次"), stock("s2", "周末", state="DEACTIVATED"))
    item = compare(res, current)
    assert item is not None
    assert [(c.path, c.before, c.after) for c in item.changes] == [("stocks.weekend.state", "SENDING", "DEACTIVATED")]
    assert item.note == "stock weekend (s2) deactivated outside couponctl"
    after = refreshed(res, current, NOW)
    assert after.upstream["stocks"]["weekend"]["state"] == "DEACTIVATED"
    assert compare(after, listed_as(after, stock("s1", "主批次"), stock("s2", "周末", state="DEACTIVATED"))) is None


def test_stocks_couponctl_deactivated_or_deposed_are_not_outside_additions() -> None:
    """A stock couponctl deactivated (gone from state, DEACTIVATED upstream) and a deposed one (replaced, its
    deactivation pending) are not "added outside couponctl"."""
    res = resource(deposed_stocks=[{"name": "main", "id": "s0", "family": "stock"}])
    current = listed_as(
        res, stock("s0", "旧"), stock("s1", "主批次"), stock("s2", "周末"), stock("s7", "删了", state="DEACTIVATED")
    )
    assert compare(res, current) is None


def test_a_coupon_read_without_its_stock_list_keeps_the_stocks_of_state() -> None:
    """GET alone (no listing): nothing about stocks is drift and refresh keeps the recorded ones."""
    res = resource()
    assert has_stocks(res)
    assert compare(res, dict(COUPON)) is None
    assert refreshed(res, dict(COUPON), NOW).upstream["stocks"] == res.upstream["stocks"]


def test_a_bundle_is_named_by_its_bundle_id_and_its_steps_recorded() -> None:
    bundle = {"stock_bundle_id": "b1", "remark": "阶梯", "stock_list": [{"stock_id": "b1-1"}, {"stock_id": "b1-2"}]}
    upstream = {**COUPON, "stock_bundles": {"main": bundle}}
    res = ResourceState("product_coupon.ladder", "ProductCoupon", "1000000001", upstream, "d")
    steps = [
        {**stock(f"b1-{i}", "阶梯", sent=5), "stock_bundle_info": {"stock_bundle_id": "b1", "stock_bundle_index": i}}
        for i in (1, 2)
    ]
    current = with_listed_stocks(res, dict(COUPON), steps)
    assert compare(res, current) is None
    after = refreshed(res, current, NOW)
    assert [
        s["sent_count_info"]["total_sent_count"] for s in after.upstream["stock_bundles"]["main"]["stock_list"]
    ] == [
        5,
        5,
    ]


def test_a_bundle_edited_in_the_console_is_drift_on_the_bundle_field() -> None:
    """A bundle's fields live on each of its step stocks (reference B.4): the first step's remark edited in the
    console is the change `stock_bundles.main.remark`."""
    bundle = {"stock_bundle_id": "b1", "remark": "阶梯", "stock_list": [{"stock_id": "b1-1"}]}
    res = ResourceState(
        "product_coupon.ladder", "ProductCoupon", "1000000001", {**COUPON, "stock_bundles": {"main": bundle}}, "d"
    )
    step = {**stock("b1-1", "改了"), "stock_bundle_info": {"stock_bundle_id": "b1", "stock_bundle_index": 0}}
    item = compare(res, with_listed_stocks(res, dict(COUPON), [step]))
    assert item is not None
    assert [(c.path, c.before, c.after) for c in item.changes] == [("stock_bundles.main.remark", "阶梯", "改了")]


def test_drift_and_the_planner_share_one_list_of_response_only_stock_fields() -> None:
    """plan/kinds.py holds the one list (reference B.4); a listed stock's new timestamps are neither drift nor,
    through the same list, a planner difference."""
    assert STOCK_RESPONSE_ONLY is stock_calls.RESPONSE_ONLY
    assert {("stocks", "*", f) for f in STOCK_RESPONSE_ONLY} <= set(PRODUCT_RULES.read_only_nested)
    res = resource()
    current = listed_as(
        res,
        {**stock("s1", "主批次"), "update_time": "2026-11-28T10:00:00+08:00"},
        {**stock("s2", "周末"), "create_time": "2026-11-01T10:00:00+08:00"},
    )
    assert compare(res, current) is None
