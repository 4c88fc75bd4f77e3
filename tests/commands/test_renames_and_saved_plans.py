"""Issue 14, items 3 and 10, as a team's habits, in-process on the embedded sandbox.

- A declared rename (`moved: {from: old-name}`) moves state with 0 upstream calls, for a shop and a product coupon;
  afterwards the declaration is a harmless no-op.
- An edited saved plan whose digest was recomputed is refused (apply plans again and compares), with nothing sent.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.commands.apply import apply
from reconciler.commands.common import open_state
from reconciler.commands.plan import plan
from reconciler.commands.state import history
from reconciler.commands.upstream import sandbox_credentials
from reconciler.config import Settings
from reconciler.errors import SavedPlanError
from reconciler.render.text import render_text
from reconciler.resources import digest
from reconciler.sandbox import SandboxConfig, create_app
from tests.commands.conftest import fixed_clock
from tests.commands.test_plan_apply import Hooks
from tests.e2e.coupons import product_doc, shop_doc, shop_draft, write

MUTATING = {"shop.add", "shop.update", "shop.update_status", "product.create", "product.patch", "product.deactivate"}


def use(root: Path, files: dict[str, list[dict[str, Any]]]) -> None:
    shutil.rmtree(root / "manifests")
    for relative, docs in files.items():
        write(root / "manifests" / relative, docs)


def sandbox(settings: Settings, method: str, path: str) -> Any:
    """The embedded sandbox's admin API: its call log (`calls`) and the coupons it holds (`state`)."""
    data = settings.resolve(settings.upstream.sandbox_dir) / "sandbox.db"
    app = create_app(sandbox_credentials(settings), SandboxConfig(), data=str(data))

    async def call() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.invalid") as client:
            response = await client.request(method, f"/_sandbox/{path}")
            response.raise_for_status()
            return response.json()

    try:
        return asyncio.run(call())
    finally:
        app.state.sandbox.close()


def mutating_calls(settings: Settings) -> list[str]:
    return [c["operation"] for c in sandbox(settings, "GET", "calls")["calls"] if c["operation"] in MUTATING]


def state_ids(settings: Settings) -> tuple[dict[str, str], int]:
    store = open_state(settings, create=False)
    try:
        return {a: r.upstream_id for a, r in store.resources().items()}, store.serial
    finally:
        store.close()


def test_a_declared_rename_moves_state_with_zero_upstream_calls(settings: Settings, tmp_path: Path) -> None:
    """Acceptance: renaming a shop and a product coupon with `moved` plans two call-less moves, apply makes 0
    upstream calls (sandbox call log) and moves state (serial bumped, history records it); the next plan, with the
    declarations still there, is a no-op."""
    appid = sandbox_credentials(settings).appid
    use(
        tmp_path,
        {"shop.yaml": [shop_doc("old-shop")], "product.yaml": [product_doc("old-coffee", appid, "咖啡满50减10")]},
    )
    assert apply(settings, Hooks(), clock=fixed_clock).report is not None
    before, serial = state_ids(settings)

    shop = shop_doc("new-shop")
    shop["moved"] = {"from": "old-shop"}
    shop["spec"]["out_coupon_id"] = "old-shop"  # the upstream identity stays
    coffee = product_doc("new-coffee", appid, "咖啡满50减10")
    coffee["moved"] = {"from": "old-coffee"}
    use(tmp_path, {"shop.yaml": [shop], "product.yaml": [coffee]})

    planned = plan(settings, clock=fixed_clock).plan
    assert {(a.address, a.moved_from, a.calls) for a in planned.actions} == {
        ("product_coupon.new-coffee", "product_coupon.old-coffee", ()),
        ("shop_coupon.new-shop", "shop_coupon.old-shop", ()),
    }
    text = render_text(planned)
    assert "~ shop_coupon.new-shop (moved from shop_coupon.old-shop)" in text
    assert "~ product_coupon.new-coffee (moved from product_coupon.old-coffee)" in text

    sandbox(settings, "DELETE", "calls")
    outcome = apply(settings, Hooks(), clock=fixed_clock)
    assert outcome.report is not None and outcome.report.ok and outcome.report.calls == 0
    assert mutating_calls(settings) == []
    after, new_serial = state_ids(settings)
    assert after == {
        "shop_coupon.new-shop": before["shop_coupon.old-shop"],
        "product_coupon.new-coffee": before["product_coupon.old-coffee"],
    }
    assert new_serial > serial
    assert sorted(history(settings).runs[0].summary["moved"]) == [
        "product_coupon.old-coffee -> product_coupon.new-coffee",
        "shop_coupon.old-shop -> shop_coupon.new-shop",
    ]
    assert not plan(settings, clock=fixed_clock).plan.actions  # `moved` may stay: a no-op now
    assert len(sandbox(settings, "GET", "state")["shop_coupons"]) == 1


def test_an_undeclared_rename_says_so_and_shows_the_declaration(settings: Settings, tmp_path: Path) -> None:
    """Renaming without `moved`: the plan names the rename on both actions and shows the line to write."""
    use(tmp_path, {"shop.yaml": [shop_doc("old-shop")]})
    assert apply(settings, Hooks(), clock=fixed_clock).report is not None
    renamed = shop_doc("new-shop")
    renamed["spec"]["out_coupon_id"] = "old-shop"
    use(tmp_path, {"shop.yaml": [renamed]})
    text = render_text(plan(settings, clock=fixed_clock).plan)
    assert "looks like a rename of shop_coupon.old-shop" in text
    assert "looks like a rename to shop_coupon.new-shop" in text
    assert "`moved: {from: old-shop}`" in text


def _edited(path: Path, edit: Any) -> None:
    """Edit a saved plan and recompute its integrity digest, as someone who read planfile.py would."""
    document = json.loads(path.read_bytes())
    edit(document["plan"])
    document["integrity"] = digest(document["plan"])
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")


def test_an_edited_saved_plan_with_a_recomputed_digest_is_refused(settings: Settings, tmp_path: Path) -> None:
    """Acceptance: a display name changed in the plan file (body and call payload alike) with the digest
    recomputed is refused naming the address and saying to plan again; nothing is sent. The unedited file
    applies (control)."""
    out = tmp_path / "plan.bin"
    plan(settings, out=out, clock=fixed_clock)
    original = out.read_bytes()

    def rename_display(content: dict[str, Any]) -> None:
        action = content["actions"][0]
        action["after"]["coupon_info"]["name"] = "满100减99"
        action["calls"][0]["payload"]["coupon"]["coupon_info"]["name"] = "满100减99"

    _edited(out, rename_display)
    sandbox(settings, "DELETE", "calls")
    with pytest.raises(SavedPlanError) as refused:
        apply(settings, Hooks(), plan_file=out, clock=fixed_clock)
    message = str(refused.value)
    assert "saved plan refused" in message and "plan again" in message
    assert "shop_coupon.cmd-store-100-off-20: after, calls differ from a plan made now" in message
    assert mutating_calls(settings) == []
    assert state_ids(settings)[0] == {}

    out.write_bytes(original)
    outcome = apply(settings, Hooks(), plan_file=out, clock=fixed_clock)
    assert outcome.saved and outcome.report is not None and outcome.report.ok


def test_a_saved_plan_with_an_action_added_or_removed_is_refused(settings: Settings, tmp_path: Path) -> None:
    """Dropping an action (or adding a copy under another address) is refused like any other edit."""
    out = tmp_path / "plan.bin"
    plan(settings, out=out, clock=fixed_clock)
    _edited(out, lambda content: content["actions"].pop())
    with pytest.raises(SavedPlanError, match="a plan made now would create it; the saved plan does not"):
        apply(settings, Hooks(), plan_file=out, clock=fixed_clock)


def test_a_saved_plan_of_other_manifests_is_refused(settings: Settings, tmp_path: Path) -> None:
    """Manifests changed after the plan was saved: refused, naming the manifests, before any call."""
    out = tmp_path / "plan.bin"
    plan(settings, out=out, clock=fixed_clock)
    use(tmp_path, {"shop.yaml": [shop_doc("cmd-store-100-off-20", fee=2500)]})
    with pytest.raises(SavedPlanError, match="the manifests checked out are not the ones it was made from"):
        apply(settings, Hooks(), plan_file=out, clock=fixed_clock)
    assert mutating_calls(settings) == []


def test_a_coupon_renamed_after_its_claim_window_ended_is_moved_not_refused(settings: Settings, tmp_path: Path) -> None:
    """A finished campaign's coupon can still be renamed: it is live (in state), not about to be created, so its
    ended claim window is no manifest error."""
    use(tmp_path, {"shop.yaml": [shop_doc("old-shop")]})
    assert apply(settings, Hooks(), clock=fixed_clock).report is not None
    renamed = shop_doc("new-shop")
    renamed["moved"] = {"from": "old-shop"}
    renamed["spec"]["out_coupon_id"] = "old-shop"
    use(tmp_path, {"shop.yaml": [renamed]})
    (action,) = plan(settings, refresh=False, clock=lambda: datetime(2029, 1, 1, tzinfo=UTC)).plan.actions
    assert action.moved_from == "shop_coupon.old-shop" and action.calls == ()


def test_an_unedited_saved_plan_of_updates_applies(settings: Settings, tmp_path: Path) -> None:
    """Control against false refusals: with coupons in state (refreshed from upstream, request numbers derived
    from it), a saved plan that patches a product coupon and updates a draft applies as saved."""
    appid = sandbox_credentials(settings).appid
    draft = shop_draft()
    coffee = product_doc("coffee", appid, "咖啡满50减10")
    use(tmp_path, {"shop.yaml": [draft], "product.yaml": [coffee]})
    assert apply(settings, Hooks(), clock=fixed_clock).report is not None
    draft["spec"]["coupon_info"]["discount_info"]["discount_fee"] = 600
    coffee["spec"]["display_info"]["name"] = "咖啡满50减12"
    use(tmp_path, {"shop.yaml": [draft], "product.yaml": [coffee]})
    out = tmp_path / "plan.bin"
    saved = plan(settings, out=out, clock=fixed_clock).plan
    assert sorted(c.operation for a in saved.actions for c in a.calls) == ["product.patch", "shop.update"]
    outcome = apply(settings, Hooks(), plan_file=out, clock=fixed_clock)
    assert outcome.report is not None and outcome.report.ok and outcome.report.calls == 2
