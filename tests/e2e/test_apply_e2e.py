"""Issue 6 acceptance: the real CLI against the sandbox served over HTTP makes only the calls a plan needs."""

from __future__ import annotations

import json
import shutil

from tests.e2e import coupons
from tests.e2e.conftest import Project

MUTATING = ("shop.add", "shop.update", "shop.update_status", "product.create", "product.patch", "product.deactivate")


def app_id(project: Project) -> str:
    return str(project.sandbox.credentials.appid)


def use_docs(project: Project, docs: list[dict[str, object]]) -> None:
    shutil.rmtree(project.manifests)
    coupons.write(project.manifests / "campaign.yaml", docs)


def test_example_campaign_applies_then_is_a_no_op(project: Project) -> None:
    """Applying manifests/ creates every coupon; a second plan exits 0 and a second apply makes no mutating call."""
    first = project.run("apply", "--auto-approve")
    assert first.returncode == 0, first.stderr
    shop = project.shop_coupons()
    products = project.sandbox.state()["product_coupons"]
    listed = project.addresses()
    assert len(shop) == sum(1 for a in listed if a.startswith("shop_coupon."))
    assert len(products) == sum(1 for a in listed if a.startswith("product_coupon."))
    assert len({c["out_coupon_id"] for c in shop}) == len(shop) >= 4 and len(products) >= 2
    again = project.run("plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout
    project.sandbox.clear_calls()
    second = project.run("apply", "--auto-approve")
    assert second.returncode == 0, second.stderr
    assert project.mutating_calls() == []


def test_display_name_change_is_one_patch(project: Project) -> None:
    """Changing a product coupon's display name makes exactly one PATCH."""
    doc = coupons.product_all(app_id(project))
    use_docs(project, [doc])
    project.run("apply", "--auto-approve", check=True)
    doc["spec"]["display_info"]["name"] = "咖啡满50减12"  # type: ignore[index]
    use_docs(project, [doc])
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert [c["operation"] for c in project.mutating_calls()] == ["product.patch"]
    products = project.sandbox.state()["product_coupons"]
    assert [p["display_info"]["name"] for p in products] == ["咖啡满50减12"]


def test_type_change_is_create_then_deactivate(project: Project) -> None:
    """Changing a product coupon's type makes exactly one create and then one deactivate of the old coupon."""
    doc = coupons.product_all(app_id(project))
    use_docs(project, [doc])
    project.run("apply", "--auto-approve", check=True)
    old_id = json.loads(project.run("state", "show", "product_coupon.e2e-coffee", check=True).stdout)["upstream_id"]
    use_docs(project, [coupons.as_discount(doc)])
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    calls = project.mutating_calls()
    assert [c["operation"] for c in calls] == ["product.create", "product.deactivate"]
    assert old_id in calls[1]["path"]
    by_id = {p["product_coupon_id"]: p for p in project.sandbox.state()["product_coupons"]}
    assert by_id[old_id]["state"] == "DEACTIVATED"
    new_id = json.loads(project.run("state", "show", "product_coupon.e2e-coffee", check=True).stdout)["upstream_id"]
    assert new_id != old_id and by_id[new_id]["type"] == "DISCOUNT" and by_id[new_id]["state"] == "EFFECTIVE"


def test_active_shop_coupon_content_change_is_blocked_with_remedy(project: Project) -> None:
    """Changing an active shop coupon's content is blocked: exit 1, the remedy named, nothing sent."""
    doc = coupons.shop_active()
    use_docs(project, [doc])
    project.run("apply", "--auto-approve", check=True)
    doc["spec"]["coupon_info"]["discount_info"]["discount_fee"] = 3000  # type: ignore[index]
    use_docs(project, [doc])
    project.sandbox.clear_calls()
    plan = project.run("plan")
    assert plan.returncode == 1
    assert "blocked" in plan.stdout.lower()
    assert "new name" in (plan.stdout + plan.stderr).lower()
    applied = project.run("apply", "--auto-approve")
    assert applied.returncode == 1
    assert "Traceback" not in applied.stderr
    assert project.mutating_calls() == []


def test_draft_shop_coupon_change_is_one_update(project: Project) -> None:
    """A draft (status 1) shop coupon's content change makes exactly one `update`."""
    doc = coupons.shop_draft()
    use_docs(project, [doc])
    project.run("apply", "--auto-approve", check=True)
    doc["spec"]["coupon_info"]["discount_info"]["discount_fee"] = 800  # type: ignore[index]
    use_docs(project, [doc])
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert [c["operation"] for c in project.mutating_calls()] == ["shop.update"]
    shop = project.shop_coupons()
    assert shop[0]["coupon_info"]["discount_info"]["discount_fee"] == 800


def test_protect_set_later_is_stored_and_then_blocks_removal(project: Project) -> None:
    """Adding `protect: true` to an applied coupon is written to state without a call; removing the coupon from
    the manifests is then blocked instead of voiding it."""
    doc = coupons.shop_active()
    use_docs(project, [doc])
    project.run("apply", "--auto-approve", check=True)
    doc["protect"] = True
    use_docs(project, [doc])
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert project.mutating_calls() == []
    shown = json.loads(project.run("state", "show", "shop_coupon.e2e-store-100-off-20", check=True).stdout)
    assert shown["protect"] is True
    use_docs(project, [coupons.shop_draft()])
    plan = project.run("plan")
    assert plan.returncode == 1
    assert "protect" in plan.stdout
    assert project.mutating_calls() == []
