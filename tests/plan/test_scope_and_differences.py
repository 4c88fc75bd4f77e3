"""Issue 14 in the pure core: `plan PATH` narrows what is considered (items 2), deferred and not-applied
differences are never "No changes" (item 4), and a plan made with --skip-blocked says what it skips (item 5)."""

from __future__ import annotations

import json
from dataclasses import replace

from reconciler.plan.model import ActionType, Plan
from reconciler.plan.planfile import load_plan, save_plan
from reconciler.plan.planner import make_plan, within
from reconciler.render.json_doc import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.summary import summarize, summary_line
from reconciler.render.text import blocked_message, render_text
from reconciler.resources import DesiredCoupon, ResourceState
from tests.plan.literals import (
    BRAND,
    LINEAGE,
    NOW,
    plan_of,
    product,
    product_body,
    product_state,
    shop,
    shop_body,
    shop_state,
)
from tests.plan.stock_literals import live

SHOP_FILE = "manifests/double11-2028/shop-coupons.yaml"
PRODUCT_FILE = "manifests/double11-2028/product-coupons.yaml"


def sourced(resource: ResourceState, source: str) -> ResourceState:
    """A coupon as apply leaves it: its manifest file recorded in state."""
    return replace(resource, extra={**resource.extra, "source": source})


def narrowed(desired: list[DesiredCoupon], state: list[ResourceState], paths: tuple[str, ...]) -> Plan:
    return make_plan(
        desired,
        {s.address: s for s in state},
        lineage=LINEAGE,
        serial=7,
        manifest_digest="9f2b" + "0" * 60,
        now=NOW,
        tool_version="0.1.0",
        default_brand_id=BRAND,
        paths=paths,
        manifest_files={d.address: d.source.file for d in desired},
    )


def test_within_matches_the_file_itself_or_a_folder_above_it() -> None:
    assert within("manifests/a/shop.yaml", ["manifests/a/shop.yaml"])
    assert within("manifests/a/shop.yaml", ["manifests/a"]) and within("manifests/a/shop.yaml", ["manifests/a/"])
    assert within("manifests/a/shop.yaml", ["."])
    assert not within("manifests/ab/shop.yaml", ["manifests/a"])
    assert not within("manifests/b/shop.yaml", ["manifests/a/shop.yaml"])


def test_plan_of_one_file_deactivates_nothing_declared_elsewhere() -> None:
    """The reported habit: `plan manifests/double11-2028/shop-coupons.yaml` loads only the shop coupons; the
    product coupons (declared in another file) and a coupon of unknown source are left alone and counted."""
    desired = [shop("d11-store", file=SHOP_FILE)]
    state = [
        sourced(shop_state("d11-store", 2), SHOP_FILE),
        sourced(product_state("coffee", coupon_id="1"), PRODUCT_FILE),
        sourced(product_state("tea", coupon_id="2"), PRODUCT_FILE),
        shop_state("imported", 2),  # imported, or applied by an older couponctl: no recorded source
    ]
    plan = narrowed(desired, state, (SHOP_FILE,))
    assert plan.actions == ()  # nothing removed, nothing deactivated
    assert (plan.left_alone, plan.unchanged, plan.paths) == (3, 1, (SHOP_FILE,))
    text = render_text(plan)
    assert "3 coupons outside the given paths left alone" in text
    assert "No changes. Coupons match the manifests in the given paths." in text
    assert json.loads(render_json(plan))["summary"]["left_alone"] == 3
    assert json.loads(render_json(plan))["left_alone"] == 3
    assert "3 coupons outside the given paths left alone" in render_markdown(plan)


def test_a_removal_within_the_paths_is_still_planned() -> None:
    """A coupon whose recorded source lies within the given folder and that is no longer declared is removed as
    always; one recorded in another folder is not."""
    state = [
        sourced(shop_state("gone", 2), "manifests/d11/old.yaml"),
        sourced(shop_state("elsewhere", 2), "manifests/spring/shop.yaml"),
    ]
    plan = narrowed([shop("kept", file="manifests/d11/shop.yaml")], state, ("manifests/d11",))
    assert [(a.address, a.type) for a in plan.actions] == [
        ("shop_coupon.kept", ActionType.CREATE),
        ("shop_coupon.gone", ActionType.DEACTIVATE),
    ]
    assert plan.left_alone == 1


def test_without_paths_every_managed_coupon_is_considered_as_before() -> None:
    """No paths (the configured manifests): a coupon removed from the manifests is removed, source or not."""
    plan = plan_of([], [shop_state("gone", 2), sourced(shop_state("gone2", 2), "x.yaml")])
    assert [a.type for a in plan.actions] == [ActionType.DEACTIVATE, ActionType.DEACTIVATE]
    assert plan.left_alone == 0 and "left alone" not in render_text(plan)


def test_actions_carry_the_root_relative_manifest_file_for_apply_to_record() -> None:
    plan = narrowed([shop("new", file=SHOP_FILE)], [], ())
    (action,) = plan.actions
    assert action.manifest_file == SHOP_FILE
    assert load_plan(save_plan(plan)).actions[0].manifest_file == SHOP_FILE


def test_a_deferred_difference_is_not_no_changes() -> None:
    """A product coupon under review whose display changed: no call, but the plan differs and says so."""
    desired = [product("coffee", body=product_body(display_name="新名字券"))]
    plan = plan_of(desired, [product_state("coffee", "AUDITING")])
    assert plan.differs and not plan.has_changes and plan.applyable
    line = "No calls to make; 1 difference cannot be applied now: 1 deferred."
    assert summary_line(summarize(plan)) == line
    text = render_text(plan)
    assert line in text and "No changes" not in text
    data = json.loads(render_json(plan))
    assert data["differs"] is True and data["summary"]["line"] == line and data["summary"]["cannot_apply_now"] == 1
    markdown = render_markdown(plan)
    assert line in markdown and "No changes" not in markdown


def test_deferred_differences_are_counted_as_cannot_apply_now() -> None:
    desired = [
        product("coffee", body=product_body(display_name="新名字券")),
        product("tea", body=product_body(max_count=5000)),
    ]
    # the tea stock is under review (decision D29: deferred, never "not applied")
    tea = product_state("tea", coupon_id="2", body=live(product_body(), state="AUDITING", coupon_id="2"))
    state = [product_state("coffee", "AUDITING", coupon_id="1"), tea]
    line = summary_line(summarize(plan_of(desired, state)))
    assert line == "No calls to make; 2 differences cannot be applied now: 2 deferred."


def test_nothing_differs_still_says_no_changes() -> None:
    plan = plan_of([shop("same")], [shop_state("same", 2)])
    assert not plan.differs and summary_line(summarize(plan)) == "No changes. Coupons match the manifests."


def _blocked_and_other() -> list[DesiredCoupon]:
    return [shop("edited", body=shop_body("edited", discount_fee=3000)), shop("urgent")]


def test_a_plan_made_with_skip_blocked_states_what_it_skips_and_can_be_applied() -> None:
    """The console-edited active coupon stays blocked; the plan is applyable and names what apply will skip."""
    plan = replace(plan_of(_blocked_and_other(), [shop_state("edited", 2)]), skip_blocked=True)
    assert plan.applyable and [a.address for a in plan.blocked] == ["shop_coupon.edited"]
    text = render_text(plan)
    assert "--skip-blocked: apply will skip 1 blocked change (shop_coupon.edited), apply everything else" in text
    assert "1 blocked (skipped: --skip-blocked)" in text
    assert "This plan cannot be applied" not in text
    assert (blocked_message(plan) or "").startswith("1 blocked action skipped (--skip-blocked)")
    assert "Made with `--skip-blocked`" in render_markdown(plan)
    data = json.loads(render_json(plan))
    assert data["applyable"] is True and data["skip_blocked"] is True
    assert load_plan(save_plan(plan)).skip_blocked  # a saved plan records it


def test_without_the_flag_the_blocked_plan_points_at_it() -> None:
    plan = plan_of(_blocked_and_other(), [shop_state("edited", 2)])
    assert not plan.applyable
    assert "couponctl plan --skip-blocked --out FILE" in (blocked_message(plan) or "")
