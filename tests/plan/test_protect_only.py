"""A change of `protect` alone is a state-only update: shown in the plan, written by apply without a call."""

from __future__ import annotations

from reconciler.plan.model import ActionType, FieldChange
from tests.plan.literals import plan_of, shop, shop_state


def test_protect_only_change_is_a_callless_update() -> None:
    """Declaring protect: true on an unchanged coupon plans `~ protect` with no upstream call."""
    plan = plan_of([shop("c1", protect=True)], [shop_state("c1", 2, protect=False)])
    (action,) = plan.actions
    assert action.type is ActionType.UPDATE
    assert action.calls == ()
    assert action.changes == (FieldChange("protect", "change", False, True),)
    assert action.protect is True
    assert plan.has_changes and plan.applyable


def test_same_protect_is_no_change() -> None:
    """An unchanged coupon with the same protect flag plans nothing."""
    plan = plan_of([shop("c1", protect=True)], [shop_state("c1", 2, protect=True)])
    assert plan.actions == () and not plan.has_changes
