"""Renames: `moved: {from: NAME}` plans a call-less state move; an undeclared rename is pointed out on both sides."""

from __future__ import annotations

from dataclasses import replace

from reconciler.plan.model import ActionType
from reconciler.render.text import render_text
from tests.plan.literals import plan_of, product, product_body, product_state, shop, shop_body, shop_state


def test_declared_shop_rename_is_a_callless_move() -> None:
    """Renaming old → new with `moved` (out_coupon_id kept) plans one call-less move, shown as such."""
    want = replace(shop("new-name", body=shop_body("old-name")), moved_from="old-name")
    plan = plan_of([want], [shop_state("old-name", 2)])
    (action,) = plan.actions
    assert (action.address, action.type, action.moved_from) == (
        "shop_coupon.new-name",
        ActionType.UPDATE,
        "shop_coupon.old-name",
    )
    assert action.calls == () and action.upstream_id == "old-name"
    assert plan.applyable and plan.has_changes
    text = render_text(plan)
    assert "~ shop_coupon.new-name (moved from shop_coupon.old-name)" in text
    assert "has moved from shop_coupon.old-name (state only, no upstream call)" in text


def test_declared_product_rename_is_a_callless_move() -> None:
    """A product coupon keeps its product_coupon_id: no create, no deactivate."""
    want = replace(product("coffee-new"), moved_from="coffee")
    plan = plan_of([want], [product_state("coffee")])
    (action,) = plan.actions
    assert action.moved_from == "product_coupon.coffee" and action.calls == ()
    assert action.upstream_id == "1000000013"


def test_rename_with_an_edit_moves_then_edits() -> None:
    """A rename that also changes the display name: the move is tagged on the PATCH, nothing is re-created."""
    want = replace(product("coffee-new", body=product_body(display_name="咖啡满100减25")), moved_from="coffee")
    (action,) = plan_of([want], [product_state("coffee")]).actions
    assert action.moved_from == "product_coupon.coffee"
    assert [c.operation for c in action.calls] == ["product.patch"]


def test_moved_is_a_no_op_once_the_old_address_is_gone() -> None:
    """After the move was applied, the declaration may stay: nothing is planned."""
    want = replace(shop("new-name", body=shop_body("old-name")), moved_from="old-name")
    state = replace(shop_state("old-name", 2), address="shop_coupon.new-name")
    plan = plan_of([want], [state])
    assert plan.actions == () and plan.unchanged == 1


def test_both_addresses_in_state_block_both() -> None:
    """Old and new both in state: which one is the coupon is unclear, so neither is touched."""
    want = replace(shop("new-name", body=shop_body("old-name")), moved_from="old-name")
    plan = plan_of([want], [shop_state("old-name", 2), shop_state("new-name", 2, body=shop_body("old-name"))])
    assert {a.address: a.type for a in plan.actions} == {
        "shop_coupon.new-name": ActionType.BLOCKED,
        "shop_coupon.old-name": ActionType.BLOCKED,
    }
    assert not plan.applyable
    reason = plan.actions[0].reason or ""
    assert "manifests/double11/shop.yaml:1:1: moved.from 'old-name'" in reason
    assert "both shop_coupon.old-name and shop_coupon.new-name are in state" in reason


def test_shop_rename_that_changes_out_coupon_id_is_blocked() -> None:
    """out_coupon_id defaults to the name: a rename without pinning it would be another coupon."""
    want = replace(shop("new-name"), moved_from="old-name")
    plan = plan_of([want], [shop_state("old-name", 2)])
    assert all(a.type is ActionType.BLOCKED for a in plan.actions) and len(plan.actions) == 2
    assert "set spec.out_coupon_id: old-name" in (plan.actions[0].remedy or "")


def test_undeclared_shop_rename_is_pointed_out_on_both_actions() -> None:
    """Same out_coupon_id under a new name, no `moved`: both actions say it looks like a rename, with the line."""
    plan = plan_of([shop("new-name", body=shop_body("old-name"))], [shop_state("old-name", 2)])
    by_address = {a.address: a for a in plan.actions}
    create, removal = by_address["shop_coupon.new-name"], by_address["shop_coupon.old-name"]
    assert create.type is ActionType.CREATE and removal.type is ActionType.DEACTIVATE
    assert any(
        "looks like a rename of shop_coupon.old-name" in w and "`moved: {from: old-name}`" in w for w in create.warnings
    )
    assert any("looks like a rename to shop_coupon.new-name" in w for w in removal.warnings)


def test_undeclared_product_rename_is_pointed_out() -> None:
    """Same body under a new name: the plan says so on the create and on the deactivation."""
    plan = plan_of([product("coffee-new")], [product_state("coffee")])
    assert all(any("`moved: {from: coffee}`" in w for w in a.warnings) for a in plan.actions)
    assert len(plan.actions) == 2


def test_different_coupons_are_not_called_renames() -> None:
    """A removal and an unrelated create carry no rename warning."""
    plan = plan_of([shop("other")], [shop_state("old-name", 2)])
    assert not any("rename" in w for a in plan.actions for w in a.warnings)


def test_markdown_one_liner_names_the_move() -> None:
    """The one-line Markdown form (large plans in a PR comment) still says where the coupon moved from."""
    from reconciler.render.markdown import _one_liner

    want = replace(shop("new-name", body=shop_body("old-name")), moved_from="old-name")
    (action,) = plan_of([want], [shop_state("old-name", 2)]).actions
    assert "(moved from `shop_coupon.old-name`)" in _one_liner(action)
