"""Issue 18 end to end: the real CLI against a served sandbox (its call log is the witness).

- Every rule kind through `couponctl plan` exit codes: 1 when a `deny` rule finds something, 0 when it does not
  (and 0 for a `warn`), with the rule id and the coupon's file:line on stderr.
- The 满100减90 typo is denied at plan time; `--allow --reason` passes; `history` shows who, why and the digest.
- A freeze window in force refuses `apply` (name and end time, nothing sent); an emergency deactivation passes.
- A denied plan is still saved, and `show --format markdown` puts the policy table at the top of the comment.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import coupons
from tests.e2e.conftest import REPO, Project

BEIJING = timedelta(hours=8)


def use(project: Project, docs: list[dict[str, Any]], policy: str) -> None:
    shutil.rmtree(project.manifests)
    coupons.write(project.manifests / "campaign.yaml", docs)
    (project.manifests / "policies.yaml").write_text(policy, encoding="utf-8")


def one_rule(kind: str, param: str, severity: str = "deny") -> str:
    return (
        f"rules:\n  - id: the-rule\n    kind: {kind}\n    message: checked by {kind}\n    severity: {severity}\n{param}"
    )


def typo_product(appid: str) -> dict[str, Any]:
    doc = coupons.product_doc("typo-100-off-90", appid, "满100减90")
    doc["spec"]["single_usage_info"] = {"normal_coupon": {"threshold": 10000, "discount_amount": 9000}}
    return doc


def long_window(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["spec"]["coupon_info"]["receive_info"]["end_time"] = "2029-03-01T00:00:00+08:00"
    return doc


def cases(appid: str) -> list[tuple[str, str, str, list[dict[str, Any]], list[dict[str, Any]]]]:
    """(kind, parameter, expected address, coupons that break it, coupons that keep it)."""
    fine = [coupons.shop_doc("fine", fee=1000, total_num=1000)]
    return [
        ("max_plan_exposure", "    max_fen: 1500000\n", "shop_coupon.big", [coupons.shop_doc("big", fee=2000)], fine),
        ("max_coupon_exposure", "    max_fen: 1500000\n", "shop_coupon.big", [coupons.shop_doc("big", fee=2000)], fine),
        ("max_face_value", "    max_fen: 1500\n", "shop_coupon.big", [coupons.shop_doc("big", fee=2000)], fine),
        (
            "max_discount_percent",
            "    max_percent: 10\n",
            "product_coupon.pct",
            [coupons.product_doc("pct", appid, "二十折扣券", discount=True)],
            fine,
        ),
        ("max_discount_ratio", "    max_percent: 50\n", "product_coupon.typo-100-off-90", [typo_product(appid)], fine),
        ("max_quantity", "    max: 5000\n", "shop_coupon.big", [coupons.shop_doc("big", total_num=1000000)], fine),
        ("max_claim_days", "    days: 30\n", "shop_coupon.fine", [long_window(fine[0])], fine),
        ("require_protect", "", "shop_coupon.fine", fine, [{**fine[0], "protect": True}]),
        (
            "allowed_brands",
            "    brand_ids: ['120344']\n",
            "product_coupon.other",
            [{**coupons.product_doc("other", appid, "别家品牌券"), "brand_id": "999"}],
            [{**coupons.product_doc("ours", appid, "本家品牌券"), "brand_id": "120344"}],
        ),
    ]


def test_every_rule_kind_through_plan_exit_codes(project: Project) -> None:
    """Acceptance: each rule kind denies through `plan` (exit 1, rule id and file:line) and passes when kept."""
    appid = project.sandbox.credentials.appid
    for kind, param, address, breaking, keeping in cases(appid):
        use(project, breaking, one_rule(kind, param))
        denied = project.run("plan", "--no-refresh")
        assert denied.returncode == 1, (kind, denied.stdout, denied.stderr)
        assert "policy the-rule denies" in denied.stderr and "manifests/campaign.yaml:" in denied.stderr, kind
        assert address in denied.stdout, kind
        use(project, breaking, one_rule(kind, param, severity="warn"))
        assert project.run("plan", "--no-refresh").returncode == 0, kind
        use(project, keeping, one_rule(kind, param))
        kept = project.run("plan", "--no-refresh")
        assert kept.returncode == 0, (kind, kept.stdout, kept.stderr)
    assert project.mutating_calls() == []


def test_max_deactivations_through_plan_exit_codes(project: Project) -> None:
    docs = [coupons.shop_doc(f"live-{i}") for i in range(3)]
    use(project, docs, "rules: []\n")
    project.run("apply", "--auto-approve", check=True)
    use(project, [coupons.shop_doc("live-0")], one_rule("max_deactivations", "    max: 1\n"))
    assert project.run("plan").returncode == 1
    use(project, [coupons.shop_doc("live-0")], one_rule("max_deactivations", "    max: 2\n"))
    assert project.run("plan").returncode == 0


def test_the_typo_is_denied_then_an_override_passes_and_history_tells_who_why_and_which_plan(
    project: Project,
) -> None:
    appid = project.sandbox.credentials.appid
    use(project, [typo_product(appid)], one_rule("max_discount_ratio", "    max_percent: 50\n"))
    denied = project.run("plan", "--out", "plan.bin")
    assert denied.returncode == 1
    assert "manifests/campaign.yaml:1: policy the-rule denies" in denied.stderr
    assert "¥90.00 off a threshold of ¥100.00 is 90%" in denied.stderr
    shown = project.run("show", "plan.bin", "--format", "markdown", check=True).stdout  # the PR still hears why
    assert shown.startswith("#### Policy (manifests/policies.yaml): DENIED: 1 finding denies this plan")
    refused = project.run("apply", "plan.bin")
    assert refused.returncode == 1 and "Nothing was applied" in refused.stderr
    assert project.mutating_calls() == []

    project.env["COUPONCTL_ACTOR"] = "alice"
    made = project.run("plan", "--allow", "the-rule", "--reason", "clearance sale, approved by finance", "--out", "p2")
    assert made.returncode == 0, made.stderr
    assert "allowed by alice: clearance sale, approved by finance" in made.stdout
    digest = json.loads(project.run("show", "p2", "--format", "json", check=True).stdout)["plan_digest"]
    project.run("apply", "p2", check=True)
    listed = project.run("history", check=True).stdout
    run_id = next(line.split()[0] for line in listed.splitlines()[1:] if " apply " in line)
    history = project.run("history", "--run", run_id, check=True).stdout
    assert "policy_overrides" in history and "clearance sale, approved by finance" in history
    assert '"by": "alice"' in history and digest in history and '"rule": "the-rule"' in history


def test_a_freeze_refuses_apply_and_an_emergency_deactivation_passes(project: Project) -> None:
    now = datetime.now(UTC)
    start, end = (now - timedelta(hours=1) + BEIJING), (now + timedelta(hours=2) + BEIJING)
    fmt = "%Y-%m-%dT%H:%M:00+08:00"
    freeze = f"freezes:\n  - {{name: flash-sale, start: '{start.strftime(fmt)}', end: '{end.strftime(fmt)}', "
    freeze += "allow: [deactivate]}\n"
    use(project, [coupons.shop_doc("live"), coupons.shop_doc("other")], "rules: []\n")
    project.run("apply", "--auto-approve", check=True)
    before = len(project.mutating_calls())

    use(project, [coupons.shop_doc("live"), coupons.shop_doc("other"), coupons.shop_doc("new")], freeze)
    planned = project.run("plan", check=True)
    assert "Freeze 'flash-sale' in force until" in planned.stdout
    refused = project.run("apply", "--auto-approve")
    assert refused.returncode == 1
    assert f"freeze 'flash-sale' is in force until {end.strftime('%Y-%m-%d %H:%M')} +08:00" in refused.stderr
    assert "Nothing was sent" in refused.stderr and len(project.mutating_calls()) == before

    use(project, [coupons.shop_doc("live")], freeze)  # the emergency: void shop_coupon.other
    project.run("apply", "--auto-approve", check=True)
    calls = project.mutating_calls()[before:]
    assert [(c["operation"]) for c in calls] == ["shop.update_status"]


def _github_plan_step() -> tuple[str, dict[str, Any]]:
    import yaml

    workflow = yaml.safe_load((REPO / "docs" / "ci" / "github-actions.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["plan"]["steps"]
    [plan_step] = [s for s in steps if s.get("id") == "plan"]
    names = {s.get("name", ""): s for s in steps}
    return plan_step["run"], names


def _gitlab_plan_script() -> list[str]:
    import yaml

    pipeline = yaml.safe_load((REPO / "docs" / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8"))
    return list(pipeline["plan"]["script"])


def _run_shell(project: Project, script: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**project.env, **extra_env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{project.env['PATH']}"}
    return subprocess.run(
        ["bash", "-e", "-c", script],
        check=False,
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("trouble", ["denied", "blocked"])
def test_the_ci_examples_post_the_comment_for_denied_and_blocked_plans(project: Project, trouble: str) -> None:
    """Acceptance: the documented CI plan steps, run as written, render the comment of a denied and of a blocked
    plan, and fail the job only after the comment step (GitHub: `!cancelled()`; GitLab: the last line)."""
    appid = project.sandbox.credentials.appid
    if trouble == "denied":
        use(project, [typo_product(appid)], one_rule("max_discount_ratio", "    max_percent: 50\n"))
        expected = "#### Policy (manifests/policies.yaml): DENIED"
    else:  # voiding a protected coupon is blocked
        use(project, [{**coupons.shop_doc("live"), "protect": True}], "rules: []\n")
        project.run("apply", "--auto-approve", check=True)
        use(project, [{**coupons.shop_doc("live", status="voided"), "protect": True}], "rules: []\n")
        expected = "This plan cannot be applied"
    assert project.run("plan", "--no-refresh").returncode == 1, "the setup must make a denied or blocked plan"

    script, steps = _github_plan_step()
    outputs = project.root / "github-output"
    summary = project.root / "step-summary"
    step = _run_shell(project, script, {"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)})
    assert step.returncode == 0, step.stderr  # the step itself records the code; the comment step runs next
    assert expected in (project.root / "plan.md").read_text(encoding="utf-8")
    assert "code=1" in outputs.read_text(encoding="utf-8")
    comment = next(s for n, s in steps.items() if n.startswith("Post or update the plan comment"))
    failing = next(s for n, s in steps.items() if n.startswith("Fail on a denied or blocked plan"))
    assert comment["if"] == "${{ !cancelled() }}" and failing["if"] == "steps.plan.outputs.code == '1'"
    assert list(steps).index(comment.get("name", "")) < list(steps).index(failing["name"])

    (project.root / "plan.md").unlink()
    (project.root / "plan.bin").unlink()
    lines = _gitlab_plan_script()
    posting = next(i for i, line in enumerate(lines) if "python3" in line)
    job = _run_shell(project, "\n".join([*lines[:posting], "echo posted > posted.txt", *lines[posting + 1 :]]), {})
    assert job.returncode == 1  # the job fails...
    assert (project.root / "posted.txt").exists()  # ...after the note was posted
    assert expected in (project.root / "plan.md").read_text(encoding="utf-8")
