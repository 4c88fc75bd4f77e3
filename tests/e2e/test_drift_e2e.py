"""Issue 7 acceptance: drift, refresh and import against the sandbox served over HTTP (edits via its admin API)."""

from __future__ import annotations

import json
import shutil

from tests.e2e import coupons
from tests.e2e.conftest import Project


def use_docs(project: Project, docs: list[dict[str, object]]) -> None:
    shutil.rmtree(project.manifests)
    coupons.write(project.manifests / "campaign.yaml", docs)


def upstream_id(project: Project, address: str) -> str:
    return str(json.loads(project.run("state", "show", address, check=True).stdout)["upstream_id"])


def plan_json(project: Project) -> dict[str, object]:
    result = project.run("plan", "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    return dict(json.loads(result.stdout))


def actions(plan: dict[str, object]) -> dict[str, str]:
    return {a["address"]: a["type"] for a in plan["actions"]}  # type: ignore[attr-defined, index]


def test_console_edits_are_reported_then_refresh_accepts_them(project: Project) -> None:
    """Out-of-band edits of a shop and a product coupon are drift (exit 2, field by field); after refresh drift
    exits 0 while plan proposes reverting them."""
    appid = project.sandbox.credentials.appid
    use_docs(project, [coupons.shop_draft(), coupons.product_all(appid)])
    project.run("apply", "--auto-approve", check=True)
    assert project.run("drift").returncode == 0
    pid = upstream_id(project, "product_coupon.e2e-coffee")
    project.sandbox.patch_shop("e2e-draft-direct-5", {"coupon_info": {"receive_info": {"total_num": 20000}}})
    project.sandbox.patch_product(pid, {"display_info": {"name": "控制台改过的名字"}})

    drift = project.run("drift")
    assert drift.returncode == 2, drift.stdout + drift.stderr
    assert "shop_coupon.e2e-draft-direct-5" in drift.stdout
    assert "coupon_info.receive_info.total_num: 10000 -> 20000" in drift.stdout
    assert 'display_info.name: "咖啡满50减10" -> "控制台改过的名字"' in drift.stdout
    report = json.loads(project.run("drift", "--format", "json").stdout)
    assert {d["address"] for d in report["drift"]} == {"shop_coupon.e2e-draft-direct-5", "product_coupon.e2e-coffee"}

    refreshed = project.run("refresh")
    assert refreshed.returncode == 0, refreshed.stderr
    assert project.run("drift").returncode == 0
    plan = plan_json(project)
    assert actions(plan) == {"shop_coupon.e2e-draft-direct-5": "update", "product_coupon.e2e-coffee": "update"}
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert sorted(c["operation"] for c in project.mutating_calls()) == ["product.patch", "shop.update"]
    assert project.run("drift").returncode == 0
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_deactivated_and_voided_upstream_are_terminal_and_planned_right(project: Project) -> None:
    """A product coupon deactivated outside couponctl is reported and replaced by a new one; a shop coupon voided
    in the console is reported and its declared `active` is blocked as terminal."""
    appid = project.sandbox.credentials.appid
    use_docs(project, [coupons.shop_active(), coupons.product_all(appid)])
    project.run("apply", "--auto-approve", check=True)
    pid = upstream_id(project, "product_coupon.e2e-coffee")
    project.sandbox.patch_product(pid, {"state": "DEACTIVATED"})
    project.sandbox.patch_shop("e2e-store-100-off-20", {"status": 4})
    report = json.loads(project.run("drift", "--format", "json").stdout)
    categories = {d["address"]: d["category"] for d in report["drift"]}
    assert categories == {"product_coupon.e2e-coffee": "terminal", "shop_coupon.e2e-store-100-off-20": "terminal"}
    plan = plan_json(project)
    assert actions(plan) == {"product_coupon.e2e-coffee": "replace", "shop_coupon.e2e-store-100-off-20": "blocked"}


def test_import_generate_writes_valid_manifests_and_plans_no_change(project: Project) -> None:
    """Shop coupons nobody manages are listed as unmanaged; import --generate writes manifests that validate,
    and the next plan for them shows no changes."""
    use_docs(project, [coupons.shop_active(), coupons.shop_draft()])
    project.run("apply", "--auto-approve", check=True)
    # Forget them (they stay upstream), as if another team had created them in the console.
    for address in ("shop_coupon.e2e-store-100-off-20", "shop_coupon.e2e-draft-direct-5"):
        project.run("state", "rm", address, check=True)
    shutil.rmtree(project.manifests)
    (project.manifests).mkdir()
    report = json.loads(project.run("drift", "--format", "json", "--no-manifests").stdout)
    assert {d["address"] for d in report["drift"] if d["category"] == "unmanaged"} == {
        "shop_coupon.e2e-store-100-off-20",
        "shop_coupon.e2e-draft-direct-5",
    }
    generated = project.run("import", "--generate", "manifests/imported")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert project.run("validate", "manifests").returncode == 0
    project.sandbox.clear_calls()
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert project.mutating_calls() == []


def test_import_adopts_one_coupon_by_id(project: Project) -> None:
    """`import ADDRESS ID` adopts an existing coupon; with its manifest declared the plan is a no-op."""
    doc = coupons.shop_draft()
    use_docs(project, [doc])
    project.run("apply", "--auto-approve", check=True)
    project.run("state", "rm", "shop_coupon.e2e-draft-direct-5", check=True)
    imported = project.run("import", "shop_coupon.e2e-draft-direct-5", "e2e-draft-direct-5")
    assert imported.returncode == 0, imported.stderr
    assert project.run("plan", "--detailed-exitcode").returncode == 0
    again = project.run("import", "shop_coupon.e2e-draft-direct-5", "e2e-draft-direct-5")
    assert again.returncode == 1 and "already in state" in again.stderr


def test_ignore_drift_rules_silence_fields_edited_on_purpose(project: Project) -> None:
    """A field under `ignore_drift` (with its reason) edited in the console is neither drift nor a planned change."""
    doc = coupons.shop_draft()
    doc["ignore_drift"] = [{"field": "coupon_info.receive_info.total_num", "reason": "ops top up stock in the console"}]
    use_docs(project, [doc])
    project.run("apply", "--auto-approve", check=True)
    project.sandbox.patch_shop("e2e-draft-direct-5", {"coupon_info": {"receive_info": {"total_num": 55555}}})
    drift = project.run("drift")
    assert drift.returncode == 0, drift.stdout
    project.sandbox.patch_shop("e2e-draft-direct-5", {"coupon_info": {"name": "改名"}})
    drifted = project.run("drift")
    assert drifted.returncode == 2 and "coupon_info.name" in drifted.stdout
    assert "total_num" not in drifted.stdout


def test_coupon_gone_upstream_is_missing_and_planned_for_creation(project: Project) -> None:
    """A shop coupon that vanished upstream is reported as missing (exit 2), and the plan proposes creating it."""
    use_docs(project, [coupons.shop_active(), coupons.shop_draft()])
    project.run("apply", "--auto-approve", check=True)
    project.sandbox.delete_shop("e2e-draft-direct-5")
    drift = project.run("drift", "--format", "json")
    assert drift.returncode == 2
    report = json.loads(drift.stdout)
    assert [(d["address"], d["category"]) for d in report["drift"]] == [("shop_coupon.e2e-draft-direct-5", "missing")]
    assert actions(plan_json(project)) == {"shop_coupon.e2e-draft-direct-5": "create"}
    project.run("apply", "--auto-approve", check=True)
    assert sorted(c["out_coupon_id"] for c in project.shop_coupons()) == ["e2e-draft-direct-5", "e2e-store-100-off-20"]
    assert project.run("drift").returncode == 0


def test_import_generate_for_a_product_coupon_id_validates_and_plans_no_change(project: Project) -> None:
    """`import --generate --product-id` writes a valid manifest (its stock read from the stock list) and adopts
    the coupon: the next plan shows no change and makes no call."""
    use_docs(project, [coupons.product_all(project.sandbox.credentials.appid)])
    project.run("apply", "--auto-approve", check=True)
    pid = upstream_id(project, "product_coupon.e2e-coffee")
    project.run("state", "rm", "product_coupon.e2e-coffee", check=True)
    shutil.rmtree(project.manifests)
    project.manifests.mkdir()
    generated = project.run("import", "--generate", "manifests/imported", "--product-id", pid)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert project.run("validate", "manifests").returncode == 0
    project.sandbox.clear_calls()
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert project.mutating_calls() == []
    assert project.addresses() == [f"product_coupon.product-{pid}"]
