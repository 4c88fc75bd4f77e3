"""Reference A.6.4: status-1 shop coupons may be echoed with a partial (or zero-filled) `coupon_info`.

A hole in such an echo says nothing about the coupon: drift does not report it, refresh keeps what state knew, and
a value upstream really changed is still seen. Pure (no sandbox): `diff.fill_echo_holes` and `plan.drift`.
"""

from __future__ import annotations

import copy
from typing import Any

from reconciler.plan import kinds
from reconciler.plan.diff import fill_echo_holes
from reconciler.plan.drift import compare, refreshed
from reconciler.resources import ResourceState

COUPON: dict[str, Any] = {
    "out_coupon_id": "draft-5",
    "type": 104,
    "promote_type": 4,
    "status": 1,
    "coupon_info": {
        "name": "直减5元",
        "promote_info": {"promote_type": 4, "finder": {"nickname": "视频号昵称"}},
        "discount_info": {"discount_fee": 500},
        "receive_info": {"start_time": 1857398400, "end_time": 1857484800, "limit_num_one_person": 1, "total_num": 10},
        "valid_info": {"valid_type": 3, "valid_second": 86400},
    },
    "create_time": 1800000000,
    "update_time": 1800000000,
    "appid": "wx1",
}


def zero_filled(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: zero_filled(v) for k, v in value.items()}
    if isinstance(value, list):
        return []
    if isinstance(value, int):
        return 0
    return "" if isinstance(value, str) else value


def resource(upstream: dict[str, Any]) -> ResourceState:
    return ResourceState(
        address="shop_coupon.draft-5",
        kind="ShopCoupon",
        upstream_id="draft-5",
        upstream=upstream,
        desired_digest="d",
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
    )


def echoes() -> list[dict[str, Any]]:
    partial = {**COUPON, "coupon_info": {"name": "直减5元"}}
    missing = {k: v for k, v in COUPON.items() if k != "coupon_info"}
    zeros = {**COUPON, "coupon_info": zero_filled(COUPON["coupon_info"])}
    return [partial, missing, zeros]


def test_partial_and_zero_filled_echoes_are_not_drift_and_refresh_keeps_what_state_knew() -> None:
    state = resource(copy.deepcopy(COUPON))
    for echo in echoes():
        assert compare(state, echo) is None
        kept = refreshed(state, echo, "2026-01-02T00:00:00Z")
        assert kept.upstream["coupon_info"] == COUPON["coupon_info"]
        assert compare(kept, echo) is None  # the next drift after refresh: still nothing


def test_a_real_upstream_edit_is_still_drift() -> None:
    edited = {**COUPON, "coupon_info": {"name": "直减6元"}}
    item = compare(resource(copy.deepcopy(COUPON)), edited)
    assert item is not None and [c.path for c in item.changes] == ["coupon_info.name"]


def test_only_status_1_shop_echoes_are_filled() -> None:
    known = copy.deepcopy(COUPON)
    active = {**COUPON, "status": 2, "coupon_info": {"name": "直减5元"}}
    assert fill_echo_holes(kinds.SHOP_RULES, active, known) is active
    product = {"state": "EFFECTIVE", "display_info": {}}
    assert fill_echo_holes(kinds.PRODUCT_RULES, product, {"display_info": {"name": "x"}}) is product
    whole = copy.deepcopy(COUPON)
    assert fill_echo_holes(kinds.SHOP_RULES, whole, known) is whole  # nothing to fill: no copy


def test_an_echo_with_holes_that_state_never_knew_stays_as_answered() -> None:
    """A coupon imported from a partial echo: nothing to fill from, so the plan compares the holes and sends the
    whole manifest body with `update` (allowed in status 1) instead of hiding the difference."""
    partial = {**COUPON, "coupon_info": {"name": "直减5元"}}
    assert fill_echo_holes(kinds.SHOP_RULES, partial, partial) == partial
