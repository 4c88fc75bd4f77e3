"""Renderers: whole golden texts for text, JSON and Markdown, colour only on request, and the Markdown size budget.

Regenerate the goldens after an intended change with `UPDATE_GOLDEN=1 pytest tests/plan/test_render.py` and review
the diff: the golden files are the documentation of what users see.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.plan.model import DriftItem, FieldChange, Plan
from reconciler.render.json_doc import render_json
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, compress_names, expand_names, render_markdown
from reconciler.render.text import render_text
from reconciler.resources import IgnoreRule, ResourceState
from tests.plan.literals import (
    plan_of,
    product,
    product_body,
    product_state,
    shop,
    shop_body,
    shop_state,
)
from tests.plan.stock_literals import live

GOLDEN = Path(__file__).parent / "golden"


def handed_out(state: ResourceState, received: int) -> ResourceState:
    """An active shop coupon whose stock refresh recorded: `received` already handed out (reference A.3)."""
    total = state.upstream["coupon_info"]["receive_info"]["total_num"]
    stock = {
        "out_coupon_id": state.upstream_id,
        "stock_info": {"issued_num": total - received, "receive_num": received},
    }
    return replace(state, upstream={**state.upstream, "coupon_stock": stock})


def showcase_plan() -> Plan:
    """One plan with every action type of both kinds, a drift item and a plan warning."""
    ignore = (IgnoreRule("coupon_info.receive_info.total_num", "ops top up stock in the console"),)
    desired = [
        shop("d11-100-off-20"),
        shop("d11-draft-edit", "draft", body=shop_body("d11-draft-edit", discount_fee=3000)),
        shop("d11-activate"),
        shop("d11-active-edit", body=shop_body("d11-active-edit", name="双11满100减30")),
        shop("d11-active-raise", body=shop_body("d11-active-raise", total_num=20000)),
        shop("d11-expire", "expired"),
        shop("d11-void", "voided"),
        shop("d11-ignored", ignore=ignore),
        shop("d11-85-off", body=shop_body("d11-85-off", coupon_type=101), file="manifests/double11/discounts.yaml"),
        product("coffee", body=product_body(display_name="咖啡满100减25")),
        product("latte", body=product_body(discount_amount=3000, out_product_no="latte")),
        product("mocha", body=product_body(display_name="摩卡新名字")),
        product("cocoa", body=product_body(max_count=5000)),
        product("espresso"),
        product("tea"),
    ]
    state = [
        shop_state("d11-draft-edit", 1),
        shop_state("d11-activate", 1),
        shop_state("d11-active-edit", 2),
        handed_out(shop_state("d11-active-raise", 2), 8420),
        shop_state("d11-expire", 2),
        shop_state("d11-void", 2),
        shop_state("d11-ignored", 2, body=shop_body("d11-ignored", total_num=9000)),
        shop_state("old-draft", 1),
        shop_state("old-active", 2),
        product_state("coffee", coupon_id="1000000013"),
        product_state("latte", coupon_id="1000000014", body=product_body(out_product_no="latte")),
        product_state("mocha", "AUDITING", coupon_id="1000000015"),
        product_state("cocoa", coupon_id="1000000016", body=live(product_body(), sent=842, coupon_id="1000000016")),
        product_state("espresso", "DEACTIVATED", coupon_id="1000000017"),
        product_state("old-product", coupon_id="1000000018"),
    ]
    drift = (
        DriftItem(
            address="shop_coupon.d11-expire",
            kind="ShopCoupon",
            category="changed",
            changes=(FieldChange("coupon_info.receive_info.total_num", "change", 10000, 12000),),
            upstream_id="d11-expire",
            note="edited in the WeChat console",
        ),
    )
    return plan_of(desired, state, drift=drift)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_text_rendering_matches_the_golden() -> None:
    """The text plan of the showcase is exactly the reviewed golden (legend, groups, notes, summary)."""
    check_golden("showcase.txt", render_text(showcase_plan(), color=False))


def test_json_rendering_matches_the_golden() -> None:
    """The JSON plan of the showcase is exactly the reviewed golden."""
    check_golden("showcase.json", render_json(showcase_plan()))


def test_markdown_rendering_matches_the_golden() -> None:
    """The Markdown plan of the showcase is exactly the reviewed golden."""
    check_golden("showcase.md", render_markdown(showcase_plan()))


def test_no_changes_text_matches_the_golden() -> None:
    """A plan with nothing to do says so in one line."""
    plan = plan_of([shop("d11-100-off-20")], [shop_state("d11-100-off-20", 2)])
    check_golden("no-changes.txt", render_text(plan))


def test_partial_plan_says_so_loudly() -> None:
    """A --target plan starts with a PARTIAL PLAN notice in every format."""
    plan = plan_of([shop("a"), shop("b")], [], targets=("shop_coupon.a",))
    assert render_text(plan).startswith("! PARTIAL PLAN: only shop_coupon.a (--target).")
    assert json.loads(render_json(plan))["partial"] is True
    assert "PARTIAL PLAN" in render_markdown(plan)


def test_colour_only_when_asked() -> None:
    """ANSI escapes appear with color=True and never without."""
    plan = showcase_plan()
    assert "\x1b[" not in render_text(plan, color=False)
    coloured = render_text(plan, color=True)
    assert "\x1b[32m+\x1b[0m shop_coupon.d11-100-off-20 {" in coloured


def test_json_is_versioned_and_carries_payloads_and_summary() -> None:
    """The JSON has format_version 1.4 (the showcase raises a shop quantity: a call of issue 16), every call payload
    with its request number, and the summary counts."""
    data = json.loads(render_json(showcase_plan()))
    assert data["format_version"] == "1.4"
    latte = next(a for a in data["actions"] if a["address"] == "product_coupon.latte")
    assert [c["operation"] for c in latte["calls"]] == ["product.create", "product.deactivate"]
    assert all(c["payload"]["out_request_no"] == c["out_request_no"] for c in latte["calls"])
    assert data["summary"]["line"] == "Plan: 3 to add, 6 to change, 2 to replace, 3 to deactivate."
    cocoa = next(a for a in data["actions"] if a["address"] == "product_coupon.cocoa")  # a stock budget raise
    assert [(c["operation"], c["stock_name"]) for c in cocoa["calls"]] == [("product.stock.update_budget", "main")]


def _many_changes(n: int) -> Plan:
    desired = [shop(f"d11-store-{i:05d}", file=f"manifests/store-{i % 7}.yaml") for i in range(n)]
    return plan_of(desired, [])


def test_markdown_of_5000_changes_fits_a_comment_and_names_every_address() -> None:
    """5,000 creates render under 65,536 characters and every changing address can still be read off it."""
    plan = _many_changes(5000)
    text = render_markdown(plan)
    assert len(text) < GITHUB_COMMENT_LIMIT
    named: set[str] = set()
    for token in re.findall(r"`((?:shop|product)_coupon\.[^`]+)`", text):
        named.update(expand_names(token))
    assert {a.address for a in plan.actions} <= named


def test_markdown_of_unrelated_names_still_fits() -> None:
    """Thousands of long names that cannot be folded into ranges are cut to fit, saying how many are left out."""
    letters = [f"{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i // 676)}" for i in range(4000)]
    desired = [shop(f"campaign-{word}-spring-sale-for-members-only") for word in letters]
    text = render_markdown(plan_of(desired, []))
    assert len(text) < GITHUB_COMMENT_LIMIT
    assert "more address group(s) not shown" in text


@pytest.mark.parametrize(
    ("names", "tokens"),
    [
        (["a-01", "a-02", "a-03", "a-07"], ["a-{01..03,07}"]),
        (["x", "b-1"], ["b-1", "x"]),
        (["s-9", "s-10", "s-11"], ["s-9", "s-{10..11}"]),
    ],
)
def test_name_ranges_round_trip(names: list[str], tokens: list[str]) -> None:
    """compress_names folds numbered runs and expand_names gives back exactly the names."""
    assert compress_names(names) == tokens
    assert sorted(n for t in tokens for n in expand_names(t)) == sorted(names)


def test_markdown_stays_under_the_limit_with_huge_drift_blocks_and_warnings() -> None:
    """Thousands of blocked coupons, drift items and warnings together still fit one comment."""
    blocked = [shop(f"b-{i:04d}", body=shop_body(f"b-{i:04d}", name=f"新名字{i}")) for i in range(2000)]
    plan = plan_of(blocked, [shop_state(f"b-{i:04d}", 2) for i in range(2000)])
    renamed = (FieldChange("coupon_info.name", "change", "a", "b"),)
    drift = tuple(DriftItem(f"shop_coupon.x-{i:05d}", "ShopCoupon", "changed", renamed) for i in range(3000))
    plan = replace(plan, drift=drift, warnings=tuple(f"warning number {i} " * 5 for i in range(3000)))
    text = render_markdown(plan)
    assert len(text) < GITHUB_COMMENT_LIMIT
    assert "**Remedy:**" in text
    named: set[str] = set()
    for token in re.findall(r"`((?:shop|product)_coupon\.[^`]+)`", text):
        named.update(expand_names(token))
    assert {a.address for a in plan.actions} <= named
