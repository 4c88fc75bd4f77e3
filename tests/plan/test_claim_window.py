"""One claim-window rule (reconciler.claim_window) for its three users: validate, the planner, saved-plan expiry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from reconciler.errors import SavedPlanError
from reconciler.manifest import check_time_windows
from reconciler.plan.model import ActionType
from reconciler.plan.planfile import check_saved_plan
from tests.plan.literals import LINEAGE, NOW, plan_of, product, product_body, sequential_body, shop, shop_body

ENDED = ("2026-10-01T00:00:00+08:00", "2026-10-31T00:00:00+08:00")  # before NOW (2026-11-01 08:00 +08:00)


def _bundle_body(begin: str, end: str) -> dict[str, Any]:
    """A PROGRESSIVE_BUNDLE body: its claim window is in stock_bundles.<name>.progressive_bundle_usage_rule (B.4)."""
    period = {"available_begin_time": begin, "available_end_time": end}
    body = {k: v for k, v in product_body().items() if k != "stocks"}
    return {**body, "stock_bundles": {"main": {"progressive_bundle_usage_rule": {"coupon_available_period": period}}}}


ENDED_COUPONS = {
    "shop": shop("s1", body=shop_body("s1", start=1790000000, end=1790086400)),
    "single": product("p1", body=product_body(begin=ENDED[0], end=ENDED[1])),
    "sequential": product("p2", body=sequential_body(begin=ENDED[0], end=ENDED[1])),
    "bundle": product("p3", body=_bundle_body(*ENDED)),
}


@pytest.mark.parametrize("form", sorted(ENDED_COUPONS))
def test_validate_and_the_planner_both_refuse_an_ended_window(form: str) -> None:
    """Every body form that states a claim window is checked the same way by validate and by the planner."""
    coupon = ENDED_COUPONS[form]
    diagnostics = check_time_windows([coupon], NOW)
    assert [(d.severity, d.address) for d in diagnostics] == [("error", coupon.address)]
    assert "the claim window already ended" in diagnostics[0].message
    (action,) = plan_of([coupon], []).actions
    assert action.type is ActionType.BLOCKED
    assert action.reason is not None and action.reason.startswith("the claim window already ended at")


def test_started_window_is_a_warning_for_validate_and_the_planner_and_expires_a_saved_plan() -> None:
    """A window that opens after the plan was made: no warning then, a warning from validate later, and the saved
    plan expires (it must be reviewed again)."""
    coupon = product("p2", body=sequential_body(begin="2026-11-01T08:30:00+08:00", end="2026-12-01T00:00:00+08:00"))
    plan = plan_of([coupon], [])
    assert plan.actions[0].warnings == ()
    later = NOW + timedelta(hours=1)
    assert [d.severity for d in check_time_windows([coupon], later)] == ["warning"]
    with pytest.raises(SavedPlanError, match="started at 2026-11-01 08:30:00 \\+08:00, after the plan was made"):
        check_saved_plan(plan, lineage=LINEAGE, serial=7, now=later, max_age=timedelta(hours=24))
