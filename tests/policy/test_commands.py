"""plan and apply with a policy file, in-process on the embedded sandbox: denial, reviewed overrides recorded in
history, and freeze windows refusing apply except the allowed emergency deactivations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from reconciler.commands.apply import apply
from reconciler.commands.guard import Override, denial
from reconciler.commands.plan import plan, read_plan_file
from reconciler.commands.state import history
from reconciler.config import Settings
from reconciler.errors import ManifestError, PlanError
from reconciler.plan.model import ActionType
from reconciler.plan.planfile import plan_digest
from tests.commands.conftest import fixed_clock, write_project
from tests.commands.test_plan_apply import Hooks as RecordingHooks
from tests.e2e.coupons import shop_doc, shop_draft

POLICY = """\
rules:
  - id: face-value
    kind: max_face_value
    max_fen: 5000
    message: no coupon takes more than ¥50 off
freezes:
  - name: double11-night
    start: 2028-11-10T20:00:00+08:00
    end: 2028-11-11T02:00:00+08:00
    allow: [deactivate]
"""


class Hooks(RecordingHooks):
    def interrupted(self, at_once: bool) -> None:
        raise AssertionError("no Ctrl-C in these tests")


IN_FREEZE = datetime(2028, 11, 10, 13, 0, tzinfo=UTC)  # 21:00 +08:00


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COUPONCTL_ACTOR", "alice")
    s = write_project(tmp_path)
    (tmp_path / "manifests" / "policies.yaml").write_text(POLICY, encoding="utf-8")
    return s


def _write(root: Path, docs: list[dict[str, object]]) -> None:
    text = yaml.safe_dump_all(docs, allow_unicode=True)
    (root / "manifests" / "shop.yaml").write_text(text, encoding="utf-8")


def test_a_denied_plan_is_saved_for_the_comment_and_apply_sends_nothing(settings: Settings, tmp_path: Path) -> None:
    _write(tmp_path, [shop_doc("gift-80", fee=8000)])
    out = tmp_path / "plan.bin"
    result = plan(settings, out=out, clock=fixed_clock)
    error = denial(result.plan)
    assert error is not None
    assert "manifests/shop.yaml:1: policy face-value denies" in str(error)
    assert read_plan_file(out).meta["policy"]["denied"] is True  # `show --format markdown` can tell the PR why
    with pytest.raises(PlanError, match="Nothing was applied"):
        apply(settings, Hooks(), plan_file=out, clock=fixed_clock)
    with pytest.raises(PlanError, match="policy face-value denies"):
        apply(settings, Hooks(), clock=fixed_clock)
    assert history(settings).runs == () or all(r.command != "apply" for r in history(settings).runs)


def test_an_override_with_a_reason_passes_and_history_shows_who_why_and_which_plan(
    settings: Settings, tmp_path: Path
) -> None:
    _write(tmp_path, [shop_doc("gift-80", fee=8000)])
    with pytest.raises(PlanError, match="--reason"):
        plan(settings, clock=fixed_clock, override=Override(("face-value",), None))
    out = tmp_path / "plan.bin"
    made = plan(settings, out=out, clock=fixed_clock, override=Override(("face-value",), "CEO-approved VIP gift"))
    assert denial(made.plan) is None
    outcome = apply(settings, Hooks(), plan_file=out, clock=fixed_clock)
    assert outcome.report is not None and outcome.report.ok
    [run] = [r for r in history(settings).runs if r.command == "apply"]
    assert run.plan_digest == plan_digest(made.plan)
    assert run.summary["policy_overrides"] == [
        {
            "rule": "face-value",
            "reason": "CEO-approved VIP gift",
            "by": "alice",
            "source": "command line",
            "addresses": ["shop_coupon.gift-80"],
            "plan_digest": plan_digest(made.plan),
        }
    ]


def test_a_saved_plan_takes_no_new_override(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "plan.bin"
    plan(settings, out=out, clock=fixed_clock)
    with pytest.raises(PlanError, match="cannot be given to a saved plan"):
        apply(settings, Hooks(), plan_file=out, clock=fixed_clock, override=Override(("face-value",), "late"))


def test_a_freeze_refuses_apply_and_lets_an_emergency_deactivation_through(settings: Settings, tmp_path: Path) -> None:
    apply(settings, Hooks(), clock=fixed_clock)  # before the freeze: both coupons live
    _write(tmp_path, [shop_doc("late-addition")])
    with pytest.raises(PlanError) as refused:
        apply(settings, Hooks(), clock=lambda: IN_FREEZE)
    message = str(refused.value)
    assert "freeze 'double11-night' is in force until 2028-11-11 02:00 +08:00" in message
    assert "refused: create shop_coupon.late-addition" in message and "Nothing was sent" in message
    assert [r.command for r in history(settings).runs] == ["apply"]  # no second apply run: nothing was sent

    # The emergency: void the live coupon (remove it from the manifests); the freeze allows deactivations.
    _write(tmp_path, [shop_draft()])  # shop_coupon.cmd-store-100-off-20 is no longer declared: voided
    shown = plan(settings, clock=lambda: IN_FREEZE)
    assert {a.type for a in shown.plan.actions} <= {ActionType.DEACTIVATE, ActionType.FORGET}
    assert shown.plan.meta["policy"]["freezes"][0]["active"] is True
    outcome = apply(settings, Hooks(), clock=lambda: IN_FREEZE)
    assert outcome.report is not None and outcome.report.ok


def test_a_broken_policy_file_stops_plan_with_its_position(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "manifests" / "policies.yaml").write_text("rules:\n  - id: x\n    kind: nope\n", encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        plan(settings, clock=fixed_clock)
    shown = [str(d) for d in caught.value.diagnostics]
    assert any(d.startswith("manifests/policies.yaml:3:11: rules[0].kind: must be one of") for d in shown)
    assert "manifests/policies.yaml:2:5: rules[0].message: required field is missing" in shown
