"""ProductCoupon rows of contract §2.2, mixed plans, --target, and request numbers: literal inputs, expected plans."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from reconciler.plan.model import Action, ActionType
from reconciler.plan.request_numbers import out_request_no, payload_digest
from reconciler.stocks import create_body
from tests.plan.literals import (
    BRAND,
    LINEAGE,
    plan_of,
    product,
    product_body,
    product_state,
    shop,
    shop_body,
    shop_state,
)
from tests.plan.stock_literals import live

REQUEST_NO = re.compile(r"^[0-9A-Za-z_-]{6,40}$")  # reference B.9


def only(desired: list[Any], state: list[Any]) -> Action:
    plan = plan_of(desired, state)
    assert len(plan.actions) == 1, plan.actions
    return plan.actions[0]


def without_number(payload: Any) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "out_request_no"}


def test_not_in_state_is_created_with_brand_and_request_number() -> None:
    """A new product coupon is one create carrying the body, the brand and a valid out_request_no."""
    action = only([product("coffee")], [])
    assert action.type is ActionType.CREATE
    (call,) = action.calls
    assert call.operation == "product.create" and call.target is None
    body = product_body()
    # the create sends the first (here only) named stock as `stock`, in the map's place (reference B.5, D29)
    sent = {("stock" if k == "stocks" else k): (v["main"] if k == "stocks" else v) for k, v in body.items()}
    assert sent == create_body(body)
    assert without_number(call.payload) == {"brand_id": BRAND, **sent}
    assert list(call.payload) == ["out_request_no", "brand_id", *sent]
    assert call.out_request_no == call.payload["out_request_no"]
    assert REQUEST_NO.match(call.out_request_no or "")


def test_display_info_differs_while_effective_is_a_patch_of_the_whole_display_info() -> None:
    """Only display_info differs, EFFECTIVE: PATCH with exactly out_request_no, display_info and brand_id."""
    new = product_body(display_name="咖啡满100减25")
    action = only([product("coffee", body=new)], [product_state("coffee")])
    assert action.type is ActionType.UPDATE
    (call,) = action.calls
    assert (call.operation, call.target) == ("product.patch", "1000000013")
    assert set(call.payload) == {"out_request_no", "display_info", "brand_id"}
    assert call.payload["display_info"] == new["display_info"]
    assert [(c.path, c.before, c.after) for c in action.changes] == [
        ("display_info.name", "咖啡满100减20", "咖啡满100减25")
    ]


def test_display_info_differs_while_auditing_is_deferred_not_an_error() -> None:
    """Under review, a display change waits: deferred, no call, and the plan stays applyable."""
    desired = [product("coffee", body=product_body(display_name="新名字券"))]
    plan = plan_of(desired, [product_state("coffee", "AUDITING")])
    (action,) = plan.actions
    assert action.type is ActionType.DEFERRED
    assert action.calls == ()
    assert "waiting for review" in (action.reason or "")
    assert plan.applyable


def test_immutable_field_differs_is_replaced_create_before_destroy() -> None:
    """A changed discount forces replacement: create the new coupon, then deactivate the old one."""
    new = product_body(discount_amount=3000)
    action = only([product("coffee", body=new)], [product_state("coffee")])
    assert action.type is ActionType.REPLACE
    create, deactivate = action.calls
    assert (create.operation, create.role, create.target) == ("product.create", "new", None)
    assert without_number(create.payload) == {"brand_id": BRAND, **create_body(new)}
    assert (deactivate.operation, deactivate.role, deactivate.target) == ("product.deactivate", "old", "1000000013")
    assert without_number(deactivate.payload) == {
        "deactivate_reason": "replaced by couponctl: product_coupon.coffee",
        "brand_id": BRAND,
    }
    (change,) = action.changes
    assert change.path == "single_usage_info.normal_coupon.discount_amount"
    assert (change.before, change.after, change.effect) == (2000, 3000, "forces_replacement")


def test_removed_effective_coupon_is_deactivated() -> None:
    """A product coupon removed from the manifests is deactivated (irreversible)."""
    action = only([], [product_state("coffee")])
    assert action.type is ActionType.DEACTIVATE
    (call,) = action.calls
    assert (call.operation, call.target) == ("product.deactivate", "1000000013")
    assert without_number(call.payload) == {
        "deactivate_reason": "removed from manifests by couponctl: product_coupon.coffee",
        "brand_id": BRAND,
    }


def test_deactivated_upstream_but_declared_is_recreated_without_deactivate() -> None:
    """DEACTIVATED upstream and still declared: replace by creating a new coupon; nothing to deactivate."""
    action = only([product("coffee")], [product_state("coffee", "DEACTIVATED")])
    assert action.type is ActionType.REPLACE
    assert [c.operation for c in action.calls] == ["product.create"]


def test_protect_blocks_replacement() -> None:
    """protect: true turns a replacement into a blocked action with a remedy."""
    desired = [product("coffee", body=product_body(out_product_no="tea"), protect=True)]
    plan = plan_of(desired, [product_state("coffee")])
    (action,) = plan.actions
    assert action.type is ActionType.BLOCKED
    assert action.changes[0].effect == "forces_replacement"
    assert action.remedy is not None and "protect: false" in action.remedy
    assert not plan.applyable


def test_protect_in_state_blocks_deactivation_of_a_removed_coupon() -> None:
    """A removed coupon protected in state is not deactivated."""
    action = only([], [product_state("coffee", protect=True)])
    assert action.type is ActionType.BLOCKED


def test_only_stock_differs_is_a_stock_call_never_not_applied() -> None:
    """A stock budget raised after creation is one update-budget call on that stock (decision D29), with the reason."""
    have = product_state("coffee", body=live(product_body(), sent=842))
    plan = plan_of([product("coffee", body=product_body(max_count=5000))], [have])
    (action,) = plan.actions
    assert action.type is ActionType.UPDATE
    assert [(c.operation, c.target, c.stock_name, c.stock_id) for c in action.calls] == [
        ("product.stock.update_budget", "1000000013", "main", "1000000013001")
    ]
    (change,) = action.changes
    assert (change.path, change.before, change.after, change.effect) == (
        "stocks.main.stock_send_rule.max_count",
        1000,
        5000,
        "update",
    )
    assert "stock APIs" in (action.reason or "")
    assert plan.has_changes


def test_a_stock_whose_id_state_does_not_know_is_blocked_with_refresh() -> None:
    plan = plan_of([product("coffee", body=product_body(max_count=5000))], [product_state("coffee")])
    (action,) = plan.actions
    assert action.type is ActionType.BLOCKED and "refresh" in (action.remedy or "")


def test_removed_deactivated_coupon_is_forgotten() -> None:
    """A removed coupon already DEACTIVATED upstream is dropped from state without a call."""
    action = only([], [product_state("coffee", "DEACTIVATED")])
    assert action.type is ActionType.FORGET
    assert action.calls == ()


def test_matching_product_coupon_needs_nothing() -> None:
    """product_coupon_id, state and brand_id upstream are not compared with the body."""
    plan = plan_of([product("coffee")], [product_state("coffee")])
    assert plan.actions == () and plan.unchanged == 1


def test_mixed_plan_has_one_action_per_address_in_file_order() -> None:
    """Creates, updates, blocks and removals of both kinds in one plan: one action each, unchanged counted."""
    desired = [
        shop("new-shop"),
        shop("same-shop"),
        shop("edit-draft", "draft", body=shop_body("edit-draft", coupon_type=104)),
        shop("active-edit", body=shop_body("active-edit", name="改了名字")),
        product("coffee", body=product_body(display_name="咖啡新名字")),
        product("tea", body=product_body(out_product_no="tea")),
    ]
    state = [
        shop_state("same-shop", 2),
        shop_state("edit-draft", 1),
        shop_state("active-edit", 2),
        shop_state("gone-active", 2),
        product_state("coffee"),
        product_state("tea", coupon_id="1000000099"),
        product_state("old-product", coupon_id="1000000077"),
    ]
    plan = plan_of(desired, state)
    summary = [(a.address, a.type.value) for a in plan.actions]
    assert summary == [
        ("product_coupon.coffee", "update"),
        ("product_coupon.tea", "replace"),
        ("shop_coupon.active-edit", "blocked"),
        ("shop_coupon.edit-draft", "update"),
        ("shop_coupon.new-shop", "create"),
        ("product_coupon.old-product", "deactivate"),
        ("shop_coupon.gone-active", "deactivate"),
    ]
    assert plan.unchanged == 1
    assert not plan.applyable


def test_target_limits_the_plan_and_is_recorded() -> None:
    """--target plans only the matching addresses and records the targets on the plan."""
    plan = plan_of([shop("a"), shop("b"), product("coffee")], [], targets=("shop_coupon.a",))
    assert [a.address for a in plan.actions] == ["shop_coupon.a"]
    assert plan.targets == ("shop_coupon.a",)
    kind_plan = plan_of([shop("a"), shop("b"), product("coffee")], [], targets=("shop_coupon",))
    assert [a.address for a in kind_plan.actions] == ["shop_coupon.a", "shop_coupon.b"]


def test_target_matching_nothing_is_a_warning() -> None:
    """A --target that matches no coupon says so."""
    plan = plan_of([shop("a")], [], targets=("shop_coupon.typo",))
    assert plan.actions == ()
    assert plan.warnings == ("--target shop_coupon.typo matches no declared or managed coupon",)


# --------------------------------------------------------------------------------------------------- request numbers


def test_request_number_is_deterministic_and_well_formed() -> None:
    """Same inputs give the same number, 6-40 characters of [0-9A-Za-z_-] (reference B.9)."""
    first = out_request_no(LINEAGE, "product_coupon.x", "product.create:new:new@1", "ab" * 32)
    assert first == out_request_no(LINEAGE, "product_coupon.x", "product.create:new:new@1", "ab" * 32)
    assert REQUEST_NO.match(first) and len(first) == 32


def test_request_number_differs_when_any_input_differs() -> None:
    """Lineage, address, action and payload each change the number."""
    base = (LINEAGE, "product_coupon.x", "product.create:new:new@1", "ab" * 32)
    numbers = {out_request_no(*base)}
    for i, other in enumerate(("other-lineage", "product_coupon.y", "product.patch:1:v", "cd" * 32)):
        args = list(base)
        args[i] = other
        numbers.add(out_request_no(*args))
    assert len(numbers) == 5


def test_payload_digest_ignores_the_request_number_itself() -> None:
    """The digest a number is derived from does not depend on the number."""
    assert payload_digest({"a": 1, "out_request_no": "x" * 10}) == payload_digest({"a": 1})


def test_same_change_planned_twice_gets_the_same_numbers() -> None:
    """Re-planning the same change (e.g. after a crash) yields the same request numbers."""
    state = [product_state("coffee")]
    desired = [product("coffee", body=product_body(discount_amount=3000)), product("new")]
    first = [c.out_request_no for a in plan_of(desired, state).actions for c in a.calls]
    second = [c.out_request_no for a in plan_of(desired, state).actions for c in a.calls]
    assert first == second and len(set(first)) == 3


def test_different_change_gets_a_different_number() -> None:
    """Two different display changes of one coupon never share a number."""
    state = [product_state("coffee")]
    one = plan_of([product("coffee", body=product_body(display_name="名字一号券"))], state).actions[0]
    two = plan_of([product("coffee", body=product_body(display_name="名字二号券"))], state).actions[0]
    assert one.calls[0].out_request_no != two.calls[0].out_request_no


def test_changing_back_after_an_apply_gets_a_new_number() -> None:
    """A -> B -> A: the second patch to A does not reuse the first one's number (state version differs)."""
    a_state = product_state("coffee")
    b_body = product_body(display_name="名字二号券")
    to_b = plan_of([product("coffee", body=b_body)], [a_state]).actions[0]
    b_state = replace(product_state("coffee", body=b_body), updated_at="2026-10-21T09:00:00Z")
    back_to_a = plan_of([product("coffee")], [b_state]).actions[0]
    to_b_again = plan_of([product("coffee", body=b_body)], [a_state]).actions[0]
    assert back_to_a.calls[0].out_request_no != to_b.calls[0].out_request_no
    assert to_b_again.calls[0].out_request_no == to_b.calls[0].out_request_no
