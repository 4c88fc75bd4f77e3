"""Issue 14, items 2, 4 and 5, as a team's habits, in-process on the embedded sandbox.

- `plan SUBFOLDER` plans no removal of coupons declared elsewhere (apply records each coupon's manifest file).
- A difference apply cannot make now (a stock change after creation) is never "No changes": --detailed-exitcode
  exits 2 and the summary counts it.
- A console-edited active shop coupon does not hold an unrelated change hostage with --skip-blocked: the rest is
  applied, apply exits 1 naming the blocked coupon, and the blocked coupon is left exactly as upstream has it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.commands.apply import apply
from reconciler.commands.common import open_state
from reconciler.commands.plan import plan
from reconciler.commands.upstream import sandbox_credentials
from reconciler.config import Settings
from reconciler.errors import PlanError
from reconciler.plan.model import ActionType
from reconciler.sandbox import SandboxConfig, create_app
from tests.commands.conftest import fixed_clock
from tests.commands.test_plan_apply import Hooks
from tests.e2e.coupons import product_doc, shop_doc, write
from tests.inprocess import couponctl


def use(root: Path, files: dict[str, list[dict[str, Any]]]) -> None:
    """Replace the project's manifests with these files (paths under manifests/)."""
    shutil.rmtree(root / "manifests")
    for relative, docs in files.items():
        write(root / "manifests" / relative, docs)


def recorded_source(settings: Settings, address: str) -> Any:
    store = open_state(settings, create=False)
    try:
        resource = store.get(address)
        assert resource is not None, address
        return resource.extra.get("source")
    finally:
        store.close()


def sandbox_admin(settings: Settings, method: str, path: str, body: Any = None) -> Any:
    """The embedded sandbox's admin API (`/_sandbox/...`): what a console edit does upstream."""
    data = settings.resolve(settings.upstream.sandbox_dir) / "sandbox.db"
    app = create_app(sandbox_credentials(settings), SandboxConfig(), data=str(data))

    async def call() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.invalid") as client:
            response = await client.request(method, f"/_sandbox/{path}", json=body)
            response.raise_for_status()
            return response.json()

    try:
        return asyncio.run(call())
    finally:
        app.state.sandbox.close()


def test_plan_of_a_subfolder_plans_no_removal_of_coupons_declared_elsewhere(settings: Settings, tmp_path: Path) -> None:
    """Acceptance: `plan SUBFOLDER` plans no removal of coupons declared elsewhere; they are counted as left alone.
    A coupon removed from the subfolder itself is still removed."""
    use(
        tmp_path,
        {
            "double11/shop.yaml": [shop_doc("d11-store-100-off-20"), shop_doc("d11-store-50-off-5", fee=500)],
            "spring/shop.yaml": [shop_doc("spring-100-off-10", fee=1000)],
        },
    )
    first = apply(settings, Hooks(), clock=fixed_clock)
    assert first.report is not None and first.report.ok
    assert recorded_source(settings, "shop_coupon.spring-100-off-10") == "manifests/spring/shop.yaml"
    assert recorded_source(settings, "shop_coupon.d11-store-50-off-5") == "manifests/double11/shop.yaml"

    result = couponctl("plan", "manifests/double11", "--detailed-exitcode")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes. Coupons match the manifests in the given paths." in result.stdout
    assert "1 coupon outside the given paths left alone" in result.stdout
    single_file = couponctl("plan", "manifests/double11/shop.yaml", "--format", "json")
    data = json.loads(single_file.stdout)
    assert (data["actions"], data["left_alone"], data["paths"]) == ([], 1, ["manifests/double11/shop.yaml"])

    write(tmp_path / "manifests" / "double11" / "shop.yaml", [shop_doc("d11-store-100-off-20")])
    narrowed = plan(settings, paths=["manifests/double11"], clock=fixed_clock).plan
    assert [(a.address, a.type) for a in narrowed.actions] == [
        ("shop_coupon.d11-store-50-off-5", ActionType.DEACTIVATE)
    ]
    assert narrowed.left_alone == 1  # spring's coupon: not compared, not voided


def test_a_stock_budget_raise_exits_2_and_is_applied_with_one_call(settings: Settings, tmp_path: Path) -> None:
    """A stock change after creation is no longer "not applied" (decision D29): plan --detailed-exitcode exits 2 with
    one update-budget call, apply makes it, and the next plan exits 0."""
    appid = sandbox_credentials(settings).appid
    doc = product_doc("coffee", appid, "咖啡满50减10")
    use(tmp_path, {"product.yaml": [doc]})
    assert apply(settings, Hooks(), clock=fixed_clock).report is not None
    assert couponctl("plan", "--detailed-exitcode").returncode == 0

    doc["spec"]["stock"]["stock_send_rule"]["max_count"] = 5000
    use(tmp_path, {"product.yaml": [doc]})
    result = couponctl("plan", "--detailed-exitcode")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "product.stock.update_budget" in result.stdout and "No changes" not in result.stdout
    data = json.loads(couponctl("plan", "--format", "json").stdout)
    assert data["differs"] is True and data["summary"]["calls"] == {"product.stock.update_budget": 1}
    applied = couponctl("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert couponctl("plan", "--detailed-exitcode").returncode == 0


def test_skip_blocked_applies_everything_else_and_exits_1_naming_the_blocked_coupon(
    settings: Settings, tmp_path: Path
) -> None:
    """A console edit of an active shop coupon blocks it; an urgent unrelated change ships with --skip-blocked,
    through a reviewed saved plan; apply exits 1 naming the blocked coupon, which upstream keeps untouched."""
    use(tmp_path, {"shop.yaml": [shop_doc("d11-edited")]})
    assert apply(settings, Hooks(), clock=fixed_clock).report is not None
    sandbox_admin(settings, "PATCH", "shop-coupons/d11-edited", {"coupon_info": {"name": "控制台改名"}})
    use(tmp_path, {"shop.yaml": [shop_doc("d11-edited"), shop_doc("urgent-fix", fee=300)]})

    with pytest.raises(PlanError, match="cannot be applied"):
        apply(settings, Hooks(), clock=fixed_clock)  # without the flag, as before: nothing applied
    blocked = couponctl("plan")
    assert blocked.returncode == 1 and "couponctl plan --skip-blocked --out FILE" in blocked.stderr
    assert "accept upstream's values into the manifest" in blocked.stderr
    assert 'coupon_info.name = "控制台改名" (the manifest says "满100减20")' in blocked.stderr
    assert "void and re-declare" in blocked.stderr and "couponctl refresh" in blocked.stderr

    saved = couponctl("plan", "--skip-blocked", "--out", "plan.bin")
    assert saved.returncode == 0, saved.stderr
    assert "apply will skip 1 blocked change (shop_coupon.d11-edited)" in saved.stdout
    applied = couponctl("apply", "plan.bin")
    assert applied.returncode == 1
    assert "Apply complete! 1 create" in applied.stdout
    assert "1 blocked coupon skipped (--skip-blocked); nothing was sent for them:" in applied.stderr
    assert "shop_coupon.d11-edited: content differs" in applied.stderr

    coupons = {
        c["coupon"]["out_coupon_id"]: c["coupon"] for c in sandbox_admin(settings, "GET", "state")["shop_coupons"]
    }
    assert coupons["d11-edited"]["coupon_info"]["name"] == "控制台改名"  # the console's value, kept
    assert coupons["urgent-fix"]["status"] == 2
    after = plan(settings, clock=fixed_clock).plan
    assert [(a.address, a.type) for a in after.actions] == [("shop_coupon.d11-edited", ActionType.BLOCKED)]


def test_a_saved_plan_made_without_the_flag_is_not_applied_by_skipping(settings: Settings, tmp_path: Path) -> None:
    """Skipping is reviewed or not at all: `apply --skip-blocked FILE` refuses a plan made without the flag."""
    use(tmp_path, {"shop.yaml": [shop_doc("d11-edited")]})
    apply(settings, Hooks(), clock=fixed_clock)
    sandbox_admin(settings, "PATCH", "shop-coupons/d11-edited", {"coupon_info": {"name": "控制台改名"}})
    out = tmp_path / "plan.bin"
    plan(settings, out=out, clock=fixed_clock)
    with pytest.raises(PlanError, match="made without --skip-blocked"):
        apply(settings, Hooks(), plan_file=out, skip_blocked=True, clock=fixed_clock)


def test_a_coupon_renamed_into_another_folder_is_not_removed_by_a_plan_of_its_old_folder(
    settings: Settings, tmp_path: Path
) -> None:
    """A declared rename that also moves the coupon to another file records the new file as its source, even though
    the move makes no call: a later `plan OLD_FOLDER` leaves it alone instead of voiding it."""
    use(tmp_path, {"old/shop.yaml": [shop_doc("old-name")]})
    apply(settings, Hooks(), clock=fixed_clock)
    renamed = shop_doc("old-name")
    renamed["name"] = "new-name"
    renamed["moved"] = {"from": "old-name"}
    renamed["spec"]["out_coupon_id"] = "old-name"  # a rename keeps the upstream coupon
    use(tmp_path, {"old/other.yaml": [shop_doc("other", fee=100)], "new/shop.yaml": [renamed]})
    moved = apply(settings, Hooks(), clock=fixed_clock)
    assert moved.report is not None and moved.report.ok
    assert recorded_source(settings, "shop_coupon.new-name") == "manifests/new/shop.yaml"
    narrowed = plan(settings, paths=["manifests/old"], clock=fixed_clock).plan
    assert narrowed.actions == () and narrowed.left_alone == 1


def test_a_coupon_moved_to_another_folder_and_not_applied_is_not_removed_by_a_plan_of_its_old_folder(
    settings: Settings, tmp_path: Path
) -> None:
    """A document moved (same name) to another folder keeps its old recorded source until the next apply; a plan of
    the old folder still leaves it alone, because the configured manifests declare it elsewhere. If those manifests
    do not load, the narrowed plan removes nothing it does not declare and says why."""
    use(tmp_path, {"old/shop.yaml": [shop_doc("wandering"), shop_doc("staying", fee=100)]})
    apply(settings, Hooks(), clock=fixed_clock)
    use(tmp_path, {"old/shop.yaml": [shop_doc("staying", fee=100)], "new/shop.yaml": [shop_doc("wandering")]})
    assert recorded_source(settings, "shop_coupon.wandering") == "manifests/old/shop.yaml"
    narrowed = plan(settings, paths=["manifests/old"], clock=fixed_clock).plan
    assert [a.address for a in narrowed.actions] == [] and narrowed.left_alone == 1

    (tmp_path / "manifests" / "new" / "broken.yaml").write_text("kind: ShopCoupon\nname: [unclosed\n", encoding="utf-8")
    unknown = plan(settings, paths=["manifests/old"], clock=fixed_clock).plan
    assert [a.address for a in unknown.actions] == [] and unknown.left_alone == 1
    assert any("do not load" in w for w in unknown.warnings)
