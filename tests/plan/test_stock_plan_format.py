"""Plan format 1.4 (decision D29): written only for a plan making a call of issues 16/17; includes 1.2 and 1.3."""

from __future__ import annotations

import json
from dataclasses import replace

from reconciler.plan.model import (
    POLICY_FORMAT_VERSION,
    STOCKS_FORMAT_VERSION,
    Action,
    ActionType,
    Call,
    Plan,
    format_version_for,
    newest_format_version,
    uses_new_operations,
)
from reconciler.plan.planfile import SUPPORTED_FORMAT_VERSIONS, load_plan, save_plan

BUDGET = Call(
    "product.stock.update_budget",
    {"out_request_no": "cc01", "brand_id": "120344", "update_mode": "MAX_COUNT"},
    target="1000000013",
    out_request_no="cc01",
    stock_name="main",
    stock_id="S1",
)
PATCH = Call("product.patch", {"out_request_no": "cc02"}, target="1000000013", out_request_no="cc02")


def action(*calls: Call) -> Action:
    return Action("product_coupon.coffee", "ProductCoupon", ActionType.UPDATE, {}, {}, calls=calls)


def plan(*actions: Action, version: str = "1.1") -> Plan:
    return Plan(
        lineage="lin",
        serial=1,
        manifest_digest="m",
        created_at="2026-11-01T00:00:00Z",
        expires_at="2026-11-02T00:00:00Z",
        actions=actions,
        tool_version="0.1.0",
        format_version=version,
    )


def test_only_new_operations_make_a_1_4_plan() -> None:
    assert not uses_new_operations([action(PATCH)])
    assert uses_new_operations([action(PATCH, BUDGET)])
    assert format_version_for(None) == "1.1"
    assert format_version_for("staging") == "1.2"
    assert format_version_for(None, new_operations=True) == STOCKS_FORMAT_VERSION == "1.4"
    assert format_version_for("staging", new_operations=True) == "1.4"  # 1.4 includes 1.2's environment


def test_a_policy_never_lowers_a_1_4_plan() -> None:
    assert newest_format_version("1.4", POLICY_FORMAT_VERSION) == "1.4"
    assert newest_format_version("1.1", POLICY_FORMAT_VERSION) == "1.3"
    assert newest_format_version("1.9", "1.10") == "1.10"


def test_a_1_4_plan_round_trips_with_stock_names_and_ids() -> None:
    assert "1.4" in SUPPORTED_FORMAT_VERSIONS
    saved = plan(action(BUDGET), version="1.4")
    document = json.loads(save_plan(saved))
    assert document["format_version"] == "1.4"
    (call,) = document["plan"]["actions"][0]["calls"]
    assert (call["operation"], call["stock_name"], call["stock_id"]) == ("product.stock.update_budget", "main", "S1")
    assert load_plan(save_plan(saved)) == saved


def test_a_plan_without_stock_calls_keeps_its_bytes() -> None:
    """No `stock_name` / `stock_id` keys on calls that have none: a 1.1 plan is written as before."""
    document = json.loads(save_plan(plan(action(PATCH))))
    assert document["format_version"] == "1.1"
    assert "stock_name" not in document["plan"]["actions"][0]["calls"][0]
    assert replace(plan(), format_version="1.1").format_version == "1.1"
