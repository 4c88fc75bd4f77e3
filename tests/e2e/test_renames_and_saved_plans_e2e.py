"""Issue 14, items 3 and 10, end to end: the real CLI against a served sandbox (its call log is the witness).

- Renaming a shop and a product coupon with `moved: {from: ...}`: plan shows the moves, apply makes 0 upstream
  calls, state holds the same upstream ids under the new names, and the next plan is a no-op.
- A saved plan whose display name was edited and whose digest was recomputed: `apply FILE` exits 1, says to plan
  again, and sends nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from reconciler.resources import digest
from tests.e2e import coupons
from tests.e2e.conftest import Project


def use_docs(project: Project, docs: list[dict[str, Any]]) -> None:
    shutil.rmtree(project.manifests)
    coupons.write(project.manifests / "campaign.yaml", docs)


def state_ids(project: Project) -> dict[str, str]:
    listed = json.loads(project.run("state", "list", "--format", "json", check=True).stdout)
    rows = listed["resources"] if isinstance(listed, dict) else listed
    return {row["address"]: row["upstream_id"] for row in rows}


def test_a_declared_rename_moves_state_with_zero_upstream_calls(project: Project) -> None:
    """Acceptance: a declared rename moves state with 0 upstream calls (shop and product coupon)."""
    appid = project.sandbox.credentials.appid
    use_docs(project, [coupons.shop_doc("e2e-old-shop"), coupons.product_doc("e2e-old-coffee", appid, "咖啡满50减10")])
    project.run("apply", "--auto-approve", check=True)
    before = state_ids(project)

    shop = coupons.shop_doc("e2e-new-shop")
    shop["moved"] = {"from": "e2e-old-shop"}
    shop["spec"]["out_coupon_id"] = "e2e-old-shop"
    coffee = coupons.product_doc("e2e-new-coffee", appid, "咖啡满50减10")
    coffee["moved"] = {"from": "e2e-old-coffee"}
    use_docs(project, [shop, coffee])

    planned = project.run("plan", check=True).stdout
    assert "~ shop_coupon.e2e-new-shop (moved from shop_coupon.e2e-old-shop)" in planned
    assert "~ product_coupon.e2e-new-coffee (moved from product_coupon.e2e-old-coffee)" in planned
    project.sandbox.clear_calls()
    applied = project.run("apply", "--auto-approve", check=True)
    assert "0 upstream call(s)" in applied.stdout, applied.stdout
    assert project.mutating_calls() == []
    assert state_ids(project) == {
        "shop_coupon.e2e-new-shop": before["shop_coupon.e2e-old-shop"],
        "product_coupon.e2e-new-coffee": before["product_coupon.e2e-old-coffee"],
    }
    assert project.run("plan", "--detailed-exitcode").returncode == 0  # `moved` stays: a no-op


def test_an_edited_saved_plan_with_a_recomputed_digest_is_refused(project: Project) -> None:
    """Acceptance: an edited saved plan with a recomputed digest is refused, and nothing is sent."""
    use_docs(project, [coupons.shop_doc("e2e-shop")])
    project.run("plan", "--out", "plan.bin", check=True)
    path = project.root / "plan.bin"
    document = json.loads(path.read_bytes())
    (action,) = document["plan"]["actions"]
    action["after"]["coupon_info"]["name"] = "满100减99"
    action["calls"][0]["payload"]["coupon"]["coupon_info"]["name"] = "满100减99"
    document["integrity"] = digest(document["plan"])
    Path(path).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    project.sandbox.clear_calls()
    refused = project.run("apply", "plan.bin")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "saved plan refused" in refused.stderr and "plan again" in refused.stderr
    assert "shop_coupon.e2e-shop" in refused.stderr
    assert project.mutating_calls() == []
    assert state_ids(project) == {}
