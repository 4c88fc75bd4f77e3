"""Issue 14's small ones, seen the way a user sees them: the real CLI against the sandbox served over HTTP."""

from __future__ import annotations

import re

from tests.e2e import coupons
from tests.e2e.conftest import Project


def only(project: Project, docs: list[dict[str, object]]) -> None:
    for path in project.manifests.rglob("*.yaml"):
        path.unlink()
    coupons.write(project.manifests / "campaign.yaml", docs)


def test_mistyped_target_is_an_error_and_sends_nothing(project: Project) -> None:
    """`apply --target` with a typo exits 1 with one clear message (and the closest address); the sandbox sees no
    call at all, not even a read."""
    only(project, [coupons.shop_doc("spring-100-off-20")])
    project.sandbox.clear_calls()
    result = project.run("apply", "--auto-approve", "--target", "shop_coupon.spring-100-off-2O")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "--target shop_coupon.spring-100-off-2O matches no declared or managed coupon" in result.stderr
    assert "did you mean shop_coupon.spring-100-off-20?" in result.stderr
    assert project.sandbox.calls() == []
    planned = project.run("plan", "--target", "shop_coupon.nope")
    assert planned.returncode == 1 and "matches no declared or managed coupon" in planned.stderr
    assert project.sandbox.calls() == []


def test_shop_refusal_names_its_request_id_once(project: Project) -> None:
    """A refused shop call shows WeChat's rid once, not once from errmsg and again as `(Request-ID …)`."""
    only(project, [coupons.shop_doc("spring-100-off-20")])
    project.sandbox.set_faults([{"operation": "shop.add", "kind": "errcode", "value": 9401020}])
    result = project.run("apply", "--auto-approve")
    assert result.returncode == 1
    rids = re.findall(r"[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}", result.stderr)
    assert rids and len(set(rids)) == 1
    assert result.stderr.count(rids[0]) == 1, result.stderr


def test_refresh_after_apply_updates_nothing_and_state_lists_words(project: Project) -> None:
    """Right after apply, upstream differs from state only in its own bookkeeping: refresh says 0 updated. `state
    list` shows shop statuses as words (draft, active), as product statuses are."""
    only(project, [coupons.shop_doc("spring-100-off-20"), coupons.shop_draft()])
    project.run("apply", "--auto-approve", check=True)
    refreshed = project.run("refresh")
    assert refreshed.returncode == 0, refreshed.stderr
    assert "Refreshed 2 coupon(s) from upstream: 0 updated in state." in refreshed.stdout
    listed = project.run("state", "list", check=True).stdout
    assert re.search(r"shop_coupon\.spring-100-off-20\s+spring-100-off-20\s+active", listed), listed
    assert re.search(r"shop_coupon\.e2e-draft-direct-5\s+e2e-draft-direct-5\s+draft", listed), listed


def test_bad_manifests_send_nothing_upstream_not_even_a_read(project: Project) -> None:
    """A refreshing plan or apply on an empty state lists shop coupons upstream (D17), but only once the manifests
    validated: a broken manifest (here a stray top-level line, the case the reliability suite's hypothesis run
    found) is refused with exit 1 and the sandbox sees no call at all."""
    only(project, [coupons.shop_doc("spring-100-off-20")])
    path = project.manifests / "campaign.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "0\n", encoding="utf-8")
    project.sandbox.clear_calls()
    for command in (["apply", "--auto-approve"], ["plan"]):
        result = project.run(*command)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert project.sandbox.calls() == [], command
