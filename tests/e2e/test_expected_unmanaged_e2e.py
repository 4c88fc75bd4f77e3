"""Issue 14 item 7: nightly drift goes green when the only unmanaged shop coupons are declared expected.

Another team shares the WeChat account: its own couponctl project (its own state) creates shop coupons in the same
served sandbox. To our project they are unmanaged shop coupons. Undeclared, `drift` exits 2 and names the two ways
out (import, or declare expected); declared in couponctl.toml with a reason, `drift` lists them and exits 0.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e import coupons
from tests.e2e.conftest import Project, write_project
from tests.sandbox_server import ServedSandbox

DECLARED = """
[[drift.expected_unmanaged]]
out_coupon_id = "team-b-*"
reason = "team B's coupons, managed from their own repository"
"""


def _two_teams(tmp_path: Path, sandbox: ServedSandbox) -> tuple[Project, Project]:
    ours = write_project(tmp_path / "ours", sandbox)
    coupons.write(ours.manifests / "campaign.yaml", [coupons.shop_doc("ours-100-off-20")])
    for extra in ours.manifests.rglob("*.yaml"):
        if extra.name != "campaign.yaml":
            extra.unlink()
    theirs = write_project(tmp_path / "theirs", sandbox)
    for extra in theirs.manifests.rglob("*.yaml"):
        extra.unlink()
    coupons.write(theirs.manifests / "b.yaml", [coupons.shop_doc("team-b-spring"), coupons.shop_doc("team-b-summer")])
    ours.run("apply", "--auto-approve", check=True)
    theirs.run("apply", "--auto-approve", check=True)
    return ours, theirs


def test_declared_unmanaged_coupons_leave_drift_green(tmp_path: Path, sandbox: ServedSandbox) -> None:
    """Before the declaration drift exits 2 with advice that works; after it, exit 0 and the reason is shown."""
    ours, _theirs = _two_teams(tmp_path, sandbox)
    before = ours.run("drift")
    assert before.returncode == 2, before.stdout + before.stderr
    assert "couponctl import shop_coupon.team-b-spring team-b-spring" in before.stdout
    assert "[[drift.expected_unmanaged]]" in before.stdout
    assert "couponctl refresh" not in before.stdout  # refresh cannot fix an unmanaged coupon: not advised

    config = ours.root / "couponctl.toml"
    config.write_text(config.read_text(encoding="utf-8") + DECLARED, encoding="utf-8")
    after = ours.run("drift")
    assert after.returncode == 0, after.stdout + after.stderr
    assert "Expected unmanaged shop coupons (2)" in after.stdout
    assert "team B's coupons, managed from their own repository" in after.stdout
    report = json.loads(ours.run("drift", "--format", "json").stdout)
    assert report["format_version"] == "1.1" and report["drifted"] is False and report["drift"] == []
    assert [e["upstream_id"] for e in report["expected_unmanaged"]] == ["team-b-spring", "team-b-summer"]
    assert ours.run("drift", "--no-manifests").returncode == 0

    # A coupon nobody declared (one just forgotten: state rm) still fails the nightly job.
    ours.run("state", "rm", "shop_coupon.ours-100-off-20", check=True)
    (ours.manifests / "campaign.yaml").unlink()
    forgotten = ours.run("drift", "--format", "json", "--no-manifests")
    assert forgotten.returncode == 2
    report = json.loads(forgotten.stdout)
    assert [(d["address"], d["category"]) for d in report["drift"]] == [("shop_coupon.ours-100-off-20", "unmanaged")]
    assert len(report["expected_unmanaged"]) == 2


def test_a_bad_declaration_is_one_clear_error(tmp_path: Path, sandbox: ServedSandbox) -> None:
    """A declaration without a reason is refused (exit 1, named entry), never silently accepted."""
    ours = write_project(tmp_path / "ours", sandbox)
    config = ours.root / "couponctl.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + '\n[[drift.expected_unmanaged]]\nout_coupon_id = "team-b-*"\n',
        encoding="utf-8",
    )
    result = ours.run("drift")
    assert result.returncode == 1
    assert "[drift] expected_unmanaged #1: reason is required" in result.stderr
    assert "internal error" not in result.stderr
