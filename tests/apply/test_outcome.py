"""The state each successful call leaves behind (pure; reconciler.apply.outcome)."""

from __future__ import annotations

from reconciler.apply.outcome import state_after_call
from reconciler.plan.model import Action, ActionType, Call
from reconciler.providers.base import CallResult
from reconciler.resources import ResourceState

NOW = "2026-11-23T00:00:00Z"
COUPON = {"out_coupon_id": "c1", "type": 104, "promote_type": 4, "coupon_info": {"name": "直减"}}


def shop_action(kind: ActionType, after: dict[str, object] | None = COUPON) -> Action:
    return Action("shop_coupon.c1", "ShopCoupon", kind, None, after, desired_digest="d1")


def test_shop_add_records_what_was_sent_in_status_1() -> None:
    """After `add`, state holds the coupon as sent, in status 1 (reference A.6.1: new coupons start at 1)."""
    call = Call("shop.add", {"coupon": COUPON}, target="c1")
    change = state_after_call(shop_action(ActionType.CREATE), call, CallResult("shop.add", "c1"), None, NOW)
    assert change.put is not None
    assert change.put.upstream == {**COUPON, "status": 1}
    assert change.put.desired_digest == "d1" and change.put.created_at == NOW


def test_shop_status_moves_and_void_of_removed_coupon_forgets_it() -> None:
    """update_status records the new status; voiding a coupon removed from manifests drops it from state."""
    prev = ResourceState("shop_coupon.c1", "ShopCoupon", "c1", {**COUPON, "status": 1}, "d1", created_at="t0")
    call = Call("shop.update_status", {"out_coupon_id": "c1", "status": 2}, target="c1")
    moved = state_after_call(
        shop_action(ActionType.TRANSITION), call, CallResult("shop.update_status", "c1"), prev, NOW
    )
    assert moved.put is not None and moved.put.upstream["status"] == 2 and moved.put.created_at == "t0"
    void = Call("shop.update_status", {"out_coupon_id": "c1", "status": 4}, target="c1")
    gone = state_after_call(shop_action(ActionType.DEACTIVATE, after=None), void, CallResult("x", "c1"), prev, NOW)
    assert gone.put is None and gone.remove == "shop_coupon.c1"


def test_product_replace_keeps_the_old_coupon_deposed_until_deactivated() -> None:
    """Create-before-destroy: after the create the old id is deposed; the old deactivation clears it."""
    old = ResourceState(
        "product_coupon.p",
        "ProductCoupon",
        "100",
        {"state": "EFFECTIVE", "stocks": {"main": {"x": 1}}},
        "d0",
        brand_id="b",
    )
    action = Action(
        "product_coupon.p", "ProductCoupon", ActionType.REPLACE, old.upstream, {}, desired_digest="d2", brand_id="b"
    )
    create = Call("product.create", {"out_request_no": "n1"}, out_request_no="n1")
    entity = {"product_coupon_id": "200", "state": "EFFECTIVE", "stock": {"x": 2}}
    after_create = state_after_call(action, create, CallResult("product.create", "200", entity), old, NOW).put
    assert after_create is not None
    assert after_create.upstream_id == "200"
    assert after_create.extra["deposed"] == {"product_coupon_id": "100", "brand_id": "b"}
    deactivate = Call("product.deactivate", {"out_request_no": "n2"}, target="100", role="old")
    done = state_after_call(action, deactivate, CallResult("product.deactivate", "100", {}), after_create, NOW).put
    assert done is not None and "deposed" not in done.extra and done.upstream_id == "200"


def test_product_patch_keeps_the_stock_recorded_at_creation() -> None:
    """PATCH answers without stock; the stock recorded at creation stays in state (reference B.2)."""
    prev = ResourceState(
        "product_coupon.p", "ProductCoupon", "100", {"state": "EFFECTIVE", "stocks": {"main": {"x": 1}}}, "d0"
    )
    action = Action("product_coupon.p", "ProductCoupon", ActionType.UPDATE, prev.upstream, {}, desired_digest="d1")
    call = Call("product.patch", {"out_request_no": "n"}, target="100")
    entity = {"product_coupon_id": "100", "state": "EFFECTIVE", "display_info": {"name": "新"}}
    put = state_after_call(action, call, CallResult("product.patch", "100", entity), prev, NOW).put
    assert (
        put is not None
        and put.upstream["stocks"] == {"main": {"x": 1}}
        and put.upstream["display_info"] == {"name": "新"}
    )
