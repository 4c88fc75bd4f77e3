"""plan, show and apply as functions: called in-process on a temporary project with the embedded sandbox."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from reconciler.commands.apply import ActionResult, ProgressFn, Settlement, apply
from reconciler.commands.plan import PlanInputs, plan, show
from reconciler.commands.state import history
from reconciler.config import Settings
from reconciler.errors import PlanError, SavedPlanError
from reconciler.plan.model import ActionType, Plan
from tests.commands.conftest import fixed_clock
from tests.e2e.coupons import shop_doc, shop_draft


class Hooks:
    """Records what apply tells its user; confirms unless told to refuse."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.refuse = refuse
        self.reviewed: list[Plan] = []
        self.confirmed: list[Plan] = []
        self.settlements: list[Settlement] = []
        self.events: list[tuple[str, str]] = []

    def settled(self, settlements: Sequence[Settlement]) -> None:
        self.settlements.extend(settlements)

    def review(self, inputs: PlanInputs, rate_limits: Mapping[str, float]) -> None:
        self.reviewed.append(inputs.plan)

    def confirm(self, plan: Plan) -> None:
        if self.refuse:
            raise PlanError("apply cancelled: nothing was changed")
        self.confirmed.append(plan)

    @contextmanager
    def progress(self, total: int) -> Iterator[ProgressFn]:
        def note(event: str, result: ActionResult) -> None:
            self.events.append((event, result.address))

        yield note


ADDRESSES = ["shop_coupon.cmd-store-100-off-20", "shop_coupon.e2e-draft-direct-5"]


def test_plan_of_a_new_project_creates_every_coupon_and_saves_the_plan(settings: Settings, tmp_path: Path) -> None:
    """A first plan creates both coupons, writes nothing to state, and `show` reads the saved plan back."""
    out = tmp_path / "plan.bin"
    result = plan(settings, out=out, clock=fixed_clock)
    assert [(a.address, a.type) for a in result.plan.actions] == [(a, ActionType.CREATE) for a in ADDRESSES]
    assert result.saved_to == out and result.plan.refreshed and result.plan.applyable
    assert result.rate_limits == settings.apply.rate_limits
    shown = show(settings, out)
    assert shown.plan.actions == result.plan.actions
    assert plan(settings, refresh=False, clock=fixed_clock).plan.actions == result.plan.actions  # state untouched


def test_apply_creates_then_a_second_apply_is_a_no_op(settings: Settings) -> None:
    """The first apply makes the calls (reviewed, confirmed, progress reported); the second finds nothing to do
    and records no run."""
    hooks = Hooks()
    first = apply(settings, hooks, clock=fixed_clock)
    assert first.report is not None and first.report.ok
    assert sorted(r.address for r in first.report.with_status("applied")) == ADDRESSES
    assert len(hooks.reviewed) == len(hooks.confirmed) == 1 and not hooks.settlements
    assert {e for e in hooks.events if e[0] == "applied"} == {("applied", a) for a in ADDRESSES}

    again = Hooks()
    second = apply(settings, again, clock=fixed_clock)
    assert second.report is None and not second.plan.has_changes and not second.saved
    assert len(again.reviewed) == 1 and not again.confirmed  # nothing to confirm
    runs = history(settings).runs
    assert [(r.command, r.outcome) for r in runs] == [("apply", "ok")]


def test_apply_of_a_saved_plan_and_refusals(settings: Settings, tmp_path: Path) -> None:
    """A saved plan applies without review; applied twice, it is refused as stale; a refused confirmation
    applies nothing; --target with a saved plan is refused."""
    out = tmp_path / "plan.bin"
    plan(settings, out=out, clock=fixed_clock)
    with pytest.raises(PlanError, match="cannot be combined"):
        apply(settings, Hooks(), plan_file=out, targets=["shop_coupon.x"], clock=fixed_clock)
    hooks = Hooks()
    outcome = apply(settings, hooks, plan_file=out, clock=fixed_clock)
    assert outcome.saved and outcome.report is not None and outcome.report.ok and not hooks.reviewed
    with pytest.raises(SavedPlanError):
        apply(settings, Hooks(), plan_file=out, clock=fixed_clock)
    history_before = history(settings).runs
    refused = Hooks(refuse=True)
    draft = shop_draft()
    draft["spec"]["coupon_info"]["discount_info"]["discount_fee"] = 600  # a draft can be updated: one change
    docs = [shop_doc("cmd-store-100-off-20"), draft]
    (Path("manifests") / "shop.yaml").write_text(yaml.safe_dump_all(docs, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PlanError, match="cancelled"):
        apply(settings, refused, clock=fixed_clock)
    assert len(refused.reviewed) == 1 and refused.reviewed[0].has_changes
    assert history(settings).runs == history_before
