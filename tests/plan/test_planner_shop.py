"""ShopCoupon rows of contract §2.2: each test is a literal (desired, state) pair and the plan it must produce."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.errors import PlanError
from reconciler.plan.model import Action, ActionType, FieldChange
from reconciler.resources import IgnoreRule
from tests.plan.literals import NOW, plan_of, shop, shop_body, shop_state


def only(desired: list[Any], state: list[Any]) -> Action:
    plan = plan_of(desired, state)
    assert len(plan.actions) == 1, plan.actions
    return plan.actions[0]


def calls(action: Action) -> list[tuple[str, Any, str | None]]:
    return [(c.operation, c.payload, c.target) for c in action.calls]


def status_call(status: int, out_coupon_id: str = "c1") -> tuple[str, Any, str]:
    return ("shop.update_status", {"out_coupon_id": out_coupon_id, "status": status}, out_coupon_id)


def test_not_in_state_active_is_created_then_activated() -> None:
    """A new active coupon is added, then moved to status 2."""
    action = only([shop("c1")], [])
    assert action.type is ActionType.CREATE
    assert calls(action) == [("shop.add", {"coupon": shop_body("c1")}, "c1"), status_call(2)]
    assert action.before is None and action.after == shop_body("c1")
    assert action.status_after == "2"


def test_not_in_state_draft_is_only_added() -> None:
    """A new draft coupon is added and left in status 1."""
    action = only([shop("c1", "draft")], [])
    assert action.type is ActionType.CREATE
    assert calls(action) == [("shop.add", {"coupon": shop_body("c1")}, "c1")]


@pytest.mark.parametrize(("status", "path"), [("expired", [2, 3]), ("voided", [2, 4])])
def test_not_in_state_terminal_goes_through_active(status: str, path: list[int]) -> None:
    """A new coupon declared expired or voided walks 1 -> 2 -> 3|4, the only allowed path."""
    action = only([shop("c1", status)], [])
    assert calls(action) == [("shop.add", {"coupon": shop_body("c1")}, "c1"), *(status_call(s) for s in path)]


def test_status_1_content_differs_is_updated_with_the_whole_coupon() -> None:
    """In status 1 a content change is one `update` carrying the whole new coupon."""
    new = shop_body("c1", discount_fee=3000)
    action = only([shop("c1", "draft", body=new)], [shop_state("c1", 1)])
    assert action.type is ActionType.UPDATE
    assert calls(action) == [("shop.update", {"coupon": new}, "c1")]
    assert action.changes == (
        FieldChange("coupon_info.discount_info.discount_fee", "change", 2000, 3000, "update", None),
    )


def test_status_1_content_and_status_differ_updates_before_update_status() -> None:
    """Content and status both differ in status 1: update first, then update_status(2) (contract §2.4)."""
    new = shop_body("c1", name="双11满100减30")
    action = only([shop("c1", body=new)], [shop_state("c1", 1)])
    assert action.type is ActionType.UPDATE
    assert calls(action) == [("shop.update", {"coupon": new}, "c1"), status_call(2)]
    assert [c.path for c in action.changes] == ["coupon_info.name", "status"]


@pytest.mark.parametrize(("status", "path"), [("active", [2]), ("expired", [2, 3]), ("voided", [2, 4])])
def test_status_1_to_desired_status_is_a_transition_along_the_allowed_path(status: str, path: list[int]) -> None:
    """Status 1 with matching content moves along 1 -> 2 (-> 3 | 4) only (reference A.4.2)."""
    action = only([shop("c1", status)], [shop_state("c1", 1)])
    assert action.type is ActionType.TRANSITION
    assert calls(action) == [status_call(s) for s in path]
    assert action.changes == (FieldChange("status", "change", 1, path[-1]),)


def test_status_2_content_differs_is_blocked_with_fields_and_remedy() -> None:
    """An active coupon cannot be edited: blocked, naming the fields and every way out (issue 14): accept
    upstream's value (shown) into the manifest, void and re-declare, or refresh and edit; and --skip-blocked."""
    action = only([shop("c1", body=shop_body("c1", discount_fee=3000))], [shop_state("c1", 2)])
    assert action.type is ActionType.BLOCKED
    assert action.calls == ()
    assert "coupon_info.discount_info.discount_fee" in (action.reason or "")
    assert action.remedy == (
        "accept upstream's values into the manifest (manifests/double11/shop.yaml:1:1): "
        "coupon_info.discount_info.discount_fee = 2000 (the manifest says 3000); or void and re-declare: set this "
        "coupon to status: voided and declare the new content under a new name with a new out_coupon_id; or run "
        "`couponctl refresh` to record upstream's values in state, then edit the manifest to match. Meanwhile "
        "`couponctl plan --skip-blocked --out FILE` applies everything else"
    )
    assert action.changes[0].effect == "blocked"
    assert action.changes[0].reason == "status is 2 (active); content is editable only in status 1"
    assert not plan_of([shop("c1", body=shop_body("c1", discount_fee=3000))], [shop_state("c1", 2)]).applyable
    # A new total_num alone is not content: update_coupon_stock changes it (tests/plan/test_shop_quantities.py).


def test_status_2_to_voided_is_an_irreversible_void() -> None:
    """Active -> voided is a deactivation: update_status(4)."""
    action = only([shop("c1", "voided")], [shop_state("c1", 2)])
    assert action.type is ActionType.DEACTIVATE
    assert calls(action) == [status_call(4)]


def test_status_2_to_expired_is_a_transition() -> None:
    """Active -> expired is update_status(3)."""
    action = only([shop("c1", "expired")], [shop_state("c1", 2)])
    assert action.type is ActionType.TRANSITION
    assert calls(action) == [status_call(3)]


def test_removed_active_coupon_is_voided() -> None:
    """A status-2 coupon removed from the manifests is voided, shown as a destroy."""
    action = only([], [shop_state("c1", 2)])
    assert action.type is ActionType.DEACTIVATE
    assert calls(action) == [status_call(4)]
    assert action.after is None and action.source is None


def test_removed_draft_is_forgotten_with_a_warning() -> None:
    """A status-1 coupon removed from the manifests is only dropped from state: the API has no delete."""
    action = only([], [shop_state("c1", 1)])
    assert action.type is ActionType.FORGET
    assert action.calls == ()
    assert "no delete" in action.warnings[0]


@pytest.mark.parametrize("status", [3, 4])
def test_terminal_coupon_with_different_content_is_blocked(status: int) -> None:
    """Expired or voided coupons are terminal: any content change is blocked."""
    desired = shop("c1", "expired" if status == 3 else "voided", body=shop_body("c1", name="新名字"))
    action = only([desired], [shop_state("c1", status)])
    assert action.type is ActionType.BLOCKED
    assert "terminal" in (action.reason or "")


def test_terminal_coupon_with_different_status_is_blocked() -> None:
    """A voided coupon declared active again is blocked (3 and 4 are terminal)."""
    action = only([shop("c1", "active")], [shop_state("c1", 4)])
    assert action.type is ActionType.BLOCKED
    reason = "terminal: status is 4 已作废 (voided)"
    assert action.changes == (FieldChange("status", "change", 4, 2, "blocked", reason),)


def test_draft_declared_while_active_upstream_is_blocked() -> None:
    """Status 2 can never go back to 1 (reference A.4.2)."""
    action = only([shop("c1", "draft")], [shop_state("c1", 2)])
    assert action.type is ActionType.BLOCKED
    assert "cannot go back" in (action.reason or "")


@pytest.mark.parametrize("status", [3, 4])
def test_removed_terminal_coupon_is_forgotten_without_a_call(status: int) -> None:
    """A removed coupon that is already expired or voided is dropped from state, no call, saying why."""
    action = only([], [shop_state("c1", status)])
    assert action.type is ActionType.FORGET
    assert action.calls == ()
    assert "already terminal" in (action.reason or "")


def test_protect_blocks_voiding() -> None:
    """protect: true blocks status: voided, with the remedy to unprotect first."""
    action = only([shop("c1", "voided", protect=True)], [shop_state("c1", 2)])
    assert action.type is ActionType.BLOCKED
    assert action.remedy is not None and "protect: false" in action.remedy


def test_protect_from_state_blocks_removal_of_an_active_coupon() -> None:
    """A removed status-2 coupon protected in state is not voided: blocked with a remedy."""
    action = only([], [shop_state("c1", 2, protect=True)])
    assert action.type is ActionType.BLOCKED
    assert action.remedy is not None and "protect: false" in action.remedy


def test_matching_coupon_needs_nothing_and_read_only_fields_are_not_compared() -> None:
    """status, create_time, appid and coupon_info.ext_info upstream never make a difference."""
    plan = plan_of([shop("c1")], [shop_state("c1", 2)])
    assert plan.actions == ()
    assert plan.unchanged == 1
    assert not plan.has_changes


def test_ignored_field_difference_alone_is_unchanged_and_said_once() -> None:
    """A difference only in an ignore_drift field plans nothing and says it was ignored, with the reason."""
    rule = IgnoreRule("coupon_info.receive_info.total_num", "ops top up stock in the console")
    plan = plan_of([shop("c1", ignore=(rule,))], [shop_state("c1", 2, body=shop_body("c1", total_num=500))])
    assert plan.actions == ()
    assert plan.warnings == (
        "shop_coupon.c1: coupon_info.receive_info.total_num differs upstream but is ignored "
        "(ops top up stock in the console)",
    )


def test_ignored_field_keeps_the_upstream_value_in_the_update_payload() -> None:
    """An update never overwrites an ignored field: the payload carries upstream's value."""
    rule = IgnoreRule("coupon_info.receive_info.total_num", "console-managed")
    desired = shop("c1", "draft", body=shop_body("c1", name="新", total_num=10000), ignore=(rule,))
    action = only([desired], [shop_state("c1", 1, body=shop_body("c1", total_num=500))])
    assert action.type is ActionType.UPDATE
    sent = action.calls[0].payload["coupon"]
    assert sent["coupon_info"]["receive_info"]["total_num"] == 500
    assert sent["coupon_info"]["name"] == "新"
    assert any("ignored" in w for w in action.warnings)


def test_claim_window_already_ended_is_an_error() -> None:
    """Creating a coupon whose claim window ended is blocked at plan time (contract §1.2)."""
    body = shop_body("c1", start=1790000000, end=1790086400)  # September 2026, before NOW
    action = only([shop("c1", body=body)], [])
    assert action.type is ActionType.BLOCKED
    assert action.reason == "the claim window already ended at 2026-09-22 22:13:20 +08:00"
    assert action.remedy is not None


def test_claim_window_already_started_is_a_warning() -> None:
    """Creating a coupon whose claim window started is allowed with a warning."""
    body = shop_body("c1", start=int(NOW.timestamp()) - 60, end=1800000000)
    action = only([shop("c1", body=body)], [])
    assert action.type is ActionType.CREATE
    assert action.warnings == ("the claim window already started at 2026-11-01 07:59:00 +08:00",)


def test_duplicate_address_is_a_plan_error() -> None:
    """Two manifests declaring one address cannot be planned; both places are named."""
    with pytest.raises(PlanError, match=r"shop_coupon.c1 is declared twice: a.yaml:1:1 and b.yaml:1:1"):
        plan_of([shop("c1", file="a.yaml"), shop("c1", file="b.yaml")], [])
