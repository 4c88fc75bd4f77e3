"""Issue 14, items 4 and 5, end to end: the real CLI against a served sandbox (its call log is the witness).

- A product coupon under review whose display is changed: the change is deferred; `plan --detailed-exitcode`
  exits 2 and never prints "No changes".
- A console-edited active shop coupon and an unrelated urgent change: `plan --skip-blocked --out` + `apply FILE`
  applies the urgent change, exits 1 naming the blocked coupon, and the call log shows no call for it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import coupons
from tests.e2e.conftest import Project, write_project
from tests.sandbox_server import ServedSandbox, served_sandbox


@pytest.fixture
def reviewing(tmp_path: Path) -> Iterator[ServedSandbox]:
    """A sandbox whose new product coupons stay under review (AUDITING) until told otherwise."""
    (tmp_path / "sandbox").mkdir()
    with served_sandbox(tmp_path / "sandbox", product_initial_state="AUDITING") as served:
        yield served


def use_docs(project: Project, docs: list[dict[str, object]]) -> None:
    shutil.rmtree(project.manifests)
    coupons.write(project.manifests / "campaign.yaml", docs)


def test_a_deferred_change_exits_2_and_never_prints_no_changes(tmp_path: Path, reviewing: ServedSandbox) -> None:
    """Acceptance: a deferred change exits 2 under --detailed-exitcode and never prints "No changes"."""
    project = write_project(tmp_path / "project", reviewing)
    doc = coupons.product_all(reviewing.credentials.appid)
    use_docs(project, [doc])
    project.run("apply", "--auto-approve", check=True)
    assert project.run("plan", "--detailed-exitcode").returncode == 0

    doc["spec"]["display_info"]["name"] = "咖啡满50减10（新）"
    use_docs(project, [doc])
    result = project.run("plan", "--detailed-exitcode")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "No changes" not in result.stdout + result.stderr
    assert "No calls to make; 1 difference cannot be applied now: 1 deferred." in result.stdout
    reviewing.clear_calls()
    applied = project.run("apply", "--auto-approve")
    assert applied.returncode == 0 and "No changes" not in applied.stdout
    assert project.mutating_calls() == []


def test_skip_blocked_ships_the_rest_and_sends_nothing_for_the_blocked_coupon(project: Project) -> None:
    """Item 5: the console edit blocks one active coupon; the reviewed --skip-blocked plan applies the urgent
    change, apply exits 1 naming the blocked coupon, and the sandbox's call log has no call addressing it."""
    use_docs(project, [coupons.shop_doc("d11-edited")])
    project.run("apply", "--auto-approve", check=True)
    project.sandbox.patch_shop("d11-edited", {"coupon_info": {"name": "控制台改名"}})
    use_docs(project, [coupons.shop_doc("d11-edited"), coupons.shop_doc("urgent-fix", fee=300)])

    stuck = project.run("apply", "--auto-approve")
    assert stuck.returncode == 1 and "Nothing was applied." in stuck.stderr
    plan = project.run("plan", "--skip-blocked", "--out", "plan.bin")
    assert plan.returncode == 0, plan.stderr
    assert "apply will skip 1 blocked change (shop_coupon.d11-edited)" in plan.stdout

    project.sandbox.clear_calls()
    applied = project.run("apply", "plan.bin")
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert "shop_coupon.d11-edited: content differs" in applied.stderr
    # Exactly the urgent coupon's add and activation: no shop.update, and the one update_status is the one that
    # made urgent-fix active (checked below), so nothing was sent for d11-edited.
    calls = project.mutating_calls()
    assert sorted(c["operation"] for c in calls) == ["shop.add", "shop.update_status"]
    by_id = {c["out_coupon_id"]: c for c in project.shop_coupons()}
    assert by_id["d11-edited"]["coupon_info"]["name"] == "控制台改名"
    assert by_id["urgent-fix"]["status"] == 2
