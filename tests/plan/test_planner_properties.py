"""Planner properties: purity, determinism, response-only fields, target patterns, request number format."""

from __future__ import annotations

import copy
import re

from hypothesis import given
from hypothesis import strategies as st

from reconciler.plan.model import ActionType
from reconciler.plan.request_numbers import out_request_no
from tests.plan.literals import plan_of, product, product_body, product_state, shop, shop_body, shop_state
from tests.plan.test_render import showcase_plan


def test_planning_is_deterministic_and_leaves_its_inputs_alone() -> None:
    """Two plans of the same inputs are equal, and neither desired nor state objects are modified."""
    desired = [shop("a", body=shop_body("a", name="改名")), product("coffee", body=product_body(discount_amount=1))]
    state = [shop_state("a", 1), product_state("coffee")]
    before = copy.deepcopy((desired, state))
    assert plan_of(desired, state) == plan_of(desired, state)
    assert (desired, state) == before
    assert showcase_plan() == showcase_plan()


def test_stock_fields_from_the_create_response_are_not_differences() -> None:
    """stock_id, counters and state that WeChat adds to the created stock (reference B.4) never plan anything."""
    recorded = product_state("coffee")
    stock = {
        **recorded.upstream["stocks"]["main"],
        "stock_id": "1000000013001",
        "product_coupon_id": "1000000013",
        "state": "SENDING",
        "sent_count_info": {"total_count": 12, "today_count": 3},
        "coupon_code_count_info": {"total_count": 1000, "available_count": 988},
    }
    state = product_state("coffee", body={**product_body(), "stocks": {"main": stock}})
    plan = plan_of([product("coffee")], [state])
    assert plan.actions == () and plan.unchanged == 1


def test_unknown_response_only_key_never_forces_a_replacement() -> None:
    """A key only upstream has (a field WeChat may add later) is not a reason to replace a coupon."""
    state = product_state("coffee", body={**product_body(), "create_time": "2026-10-20T08:00:00+08:00"})
    assert plan_of([product("coffee")], [state]).actions == ()


def test_target_prefix_pattern_selects_matching_addresses() -> None:
    """`--target 'shop_coupon.d11-*'` plans every shop coupon whose name starts with d11-."""
    plan = plan_of([shop("d11-a"), shop("d11-b"), shop("d12-a")], [], targets=("shop_coupon.d11-*",))
    assert [a.address for a in plan.actions] == ["shop_coupon.d11-a", "shop_coupon.d11-b"]


def test_removal_is_planned_only_for_targeted_addresses() -> None:
    """A removed coupon outside the target is left alone."""
    plan = plan_of([], [shop_state("a", 2), shop_state("b", 2)], targets=("shop_coupon.b",))
    assert [(a.address, a.type) for a in plan.actions] == [("shop_coupon.b", ActionType.DEACTIVATE)]


@given(
    lineage=st.text(max_size=40),
    address=st.text(max_size=80),
    action=st.text(max_size=80),
    payload=st.text(min_size=64, max_size=64, alphabet="0123456789abcdef"),
)
def test_request_numbers_are_always_valid(lineage: str, address: str, action: str, payload: str) -> None:
    """Whatever the inputs, the number is 6-40 characters of [0-9A-Za-z_-] (reference B.9)."""
    assert re.fullmatch(r"[0-9A-Za-z_-]{6,40}", out_request_no(lineage, address, action, payload))
