"""Issue 16 acceptance for product coupon stocks and bundles (decision D29), end to end: the real CLI in real mode
against the sandbox served over HTTP, the sandbox's admin routes playing the campaign (sending coupons), its call log
counting the calls couponctl makes."""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
from typing import Any

from reconciler.plan.model import Call
from reconciler.providers.wechatpay import WechatPayProvider
from tests.e2e import coupons
from tests.e2e.conftest import Project

ADDRESS = "product_coupon.e2e-stocks"
WRITES = {  # the sandbox's names of the mutating WeChat Pay calls
    "product.create",
    "product.patch",
    "product.deactivate",
    "product.stocks.create",
    "product.stocks.patch",
    "product.stocks.update_budget",
    "product.stocks.deactivate",
    "product.stock_bundles.create",
    "product.stock_bundles.patch",
    "product.stock_bundles.update_budget",
}


def single_doc(appid: str, **more: dict[str, Any]) -> dict[str, Any]:
    """A SINGLE-mode coupon declaring its stocks by name: `main` (created with it) and `more`."""
    doc = coupons.product_doc("e2e-stocks", appid, "批次咖啡券")
    main = doc["spec"].pop("stock")
    main["remark"] = "首批"
    doc["spec"]["stocks"] = {"main": main, **more}
    return doc


def bundle_doc(appid: str, max_count: int = 1000) -> dict[str, Any]:
    """A PROGRESSIVE_BUNDLE coupon (3 steps) with its one stock bundle."""
    doc = coupons.product_doc("e2e-ladder", appid, "阶梯咖啡券")
    stock = doc["spec"].pop("stock")
    rule = stock.pop("single_usage_rule")
    stock["stock_send_rule"]["max_count"] = max_count
    stock["progressive_bundle_usage_rule"] = {
        "coupon_available_period": rule["coupon_available_period"],
        "normal_coupon_list": [{"threshold": 0, "discount_amount": 100 * (i + 1)} for i in range(3)],
    }
    del doc["spec"]["single_usage_info"]
    doc["spec"]["usage_mode"] = "PROGRESSIVE_BUNDLE"
    doc["spec"]["progressive_bundle_usage_info"] = {"count": 3, "interval_days": 0}
    doc["spec"]["stock_bundle"] = stock
    return doc


def weekend(doc: dict[str, Any]) -> dict[str, Any]:
    stock = copy.deepcopy(doc["spec"]["stocks"]["main"])
    stock["remark"] = "周末"
    stock["stock_send_rule"]["max_count"] = 300
    return stock


def with_max_count(doc: dict[str, Any], max_count: int) -> dict[str, Any]:
    new = copy.deepcopy(doc)
    new["spec"]["stocks"]["main"]["stock_send_rule"]["max_count"] = max_count
    return new


def use(project: Project, *docs: dict[str, Any]) -> None:
    shutil.rmtree(project.manifests, ignore_errors=True)
    coupons.write(project.manifests / "campaign.yaml", list(docs))


def state_of(project: Project, address: str = ADDRESS) -> dict[str, Any]:
    return dict(json.loads(project.run("state", "show", address, check=True).stdout))


def writes(project: Project) -> list[str]:
    return [c["operation"] for c in project.sandbox.calls() if c["operation"] in WRITES and c["http_status"] < 300]


def plan_calls(project: Project) -> list[dict[str, Any]]:
    result = project.run("plan", "--format", "json")
    assert result.returncode in (0, 2), result.stdout + result.stderr
    plan = json.loads(result.stdout)
    return [call for action in plan["actions"] for call in action["calls"]]


def send(project: Project, stock_id: str, count: int) -> None:
    """Users claim `count` coupons of the stock (the sandbox's admin route)."""
    project.sandbox._admin("POST", f"stocks/{stock_id}/send", {"count": count})


def launched(project: Project) -> tuple[dict[str, Any], str]:
    doc = single_doc(project.sandbox.credentials.appid)
    use(project, doc)
    project.run("apply", "--auto-approve", check=True)
    return doc, str(state_of(project)["upstream"]["stocks"]["main"]["stock_id"])


def test_a_sold_out_stock_gets_a_bigger_budget_with_exactly_one_update_budget_call(project: Project) -> None:
    """The campaign sells out (1,000 of 1,000 sent); the manifest raises max_count to 5,000: the plan shows exactly
    one update_budget call (with the sent count), apply makes exactly that call, then plan and drift are clean."""
    doc, stock_id = launched(project)
    send(project, stock_id, 1000)
    use(project, with_max_count(doc, 5000))
    planned = project.run("plan", "--detailed-exitcode")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert "product.stock.update_budget" in planned.stdout
    assert "stocks.main.stock_send_rule.max_count" in planned.stdout and "already sent" in planned.stdout
    [call] = plan_calls(project)
    assert call["operation"] == "product.stock.update_budget" and call["stock_name"] == "main"
    assert call["payload"]["current_max_count"] == 1000 and call["payload"]["target_max_count"] == 5000
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert writes(project) == ["product.stocks.update_budget"]
    assert state_of(project)["upstream"]["stocks"]["main"]["stock_send_rule"]["max_count"] == 5000
    again = project.run("plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    drift = project.run("drift")
    assert drift.returncode == 0, drift.stdout + drift.stderr


def test_a_second_stock_is_one_add_and_removing_it_one_deactivation(project: Project) -> None:
    doc, _ = launched(project)
    two = single_doc(project.sandbox.credentials.appid, weekend=weekend(doc))
    use(project, two)
    assert [c["operation"] for c in plan_calls(project)] == ["product.stock.add"]
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert writes(project) == ["product.stocks.create"]
    stocks = state_of(project)["upstream"]["stocks"]
    assert list(stocks) == ["main", "weekend"] and stocks["weekend"]["remark"] == "周末"
    assert project.run("plan", "--detailed-exitcode").returncode == 0
    assert project.run("drift").returncode == 0

    use(project, doc)
    assert [c["operation"] for c in plan_calls(project)] == ["product.stock.deactivate"]
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert writes(project) == ["product.stocks.deactivate"]
    assert list(state_of(project)["upstream"]["stocks"]) == ["main"]
    assert project.run("plan", "--detailed-exitcode").returncode == 0
    assert project.run("drift").returncode == 0


def test_lowering_a_budget_below_the_sent_count_is_refused_offline_with_the_figures(project: Project) -> None:
    doc, stock_id = launched(project)
    send(project, stock_id, 842)
    use(project, with_max_count(doc, 500))
    project.sandbox.clear_calls()
    planned = project.run("plan", "--detailed-exitcode")
    assert planned.returncode == 1, planned.stdout + planned.stderr
    text = planned.stdout + planned.stderr
    assert "842" in text and "500" in text
    applied = project.run("apply", "--auto-approve")
    assert applied.returncode != 0
    assert writes(project) == []


def test_a_progressive_bundle_coupon_is_created_its_budget_raised_and_it_round_trips_through_import(
    project: Project,
) -> None:
    appid = project.sandbox.credentials.appid
    use(project, bundle_doc(appid))
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert writes(project) == ["product.create"]
    address = "product_coupon.e2e-ladder"
    bundle = state_of(project, address)["upstream"]["stock_bundles"]["main"]
    assert len(bundle["stock_list"]) == 3

    use(project, bundle_doc(appid, max_count=3000))
    assert [c["operation"] for c in plan_calls(project)] == ["product.bundle.update_budget"]
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert writes(project) == ["product.stock_bundles.update_budget"]
    assert project.run("plan", "--detailed-exitcode").returncode == 0
    assert project.run("drift").returncode == 0

    pid = str(state_of(project, address)["upstream_id"])
    project.run("state", "rm", address, check=True)
    shutil.rmtree(project.manifests)
    project.manifests.mkdir()
    generated = project.run("import", "--generate", "manifests/imported", "--product-id", pid)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert project.run("validate", "manifests").returncode == 0
    written = "".join(p.read_text(encoding="utf-8") for p in (project.manifests / "imported").rglob("*.yaml"))
    assert "PROGRESSIVE_BUNDLE" in written and "3000" in written
    project.sandbox.clear_calls()
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert writes(project) == []


def console(project: Project) -> WechatPayProvider:
    """The merchant's console, as far as the sandbox can tell: signed calls with the project's own credentials."""
    creds = project.sandbox.credentials
    return WechatPayProvider(
        creds.mchid,
        creds.merchant_serial_no,
        creds.merchant_private_key_pem.encode(),
        creds.public_key_id,
        creds.wechatpay_public_key_pem.encode(),
        project.sandbox.url,
        creds.brand_id,
    )


def test_stocks_edited_added_or_deactivated_in_the_console_are_drift_and_refresh_records_the_sent_count(
    project: Project,
) -> None:
    """Drift reads each coupon's stocks: a remark edited in the console is a change on `stocks.weekend.remark`, a
    stock added there is reported by id (and never planned for deactivation), a stock deactivated there is drift;
    coupons sent are not drift, but refresh records them."""
    doc, main_id = launched(project)
    use(project, single_doc(project.sandbox.credentials.appid, weekend=weekend(doc)))
    project.run("apply", "--auto-approve", check=True)
    resource = state_of(project)
    pid, weekend_id = str(resource["upstream_id"]), str(resource["upstream"]["stocks"]["weekend"]["stock_id"])
    send(project, main_id, 42)
    assert project.run("drift").returncode == 0

    async def edit_in_console() -> str:
        provider = console(project)
        try:
            brand = {"brand_id": project.sandbox.credentials.brand_id}
            await provider.execute(
                Call("product.stock.patch", {"out_request_no": "console-patch-1", **brand, "remark": "控制台"},
                     pid, stock_name="weekend", stock_id=weekend_id)
            )  # fmt: skip
            added = await provider.execute(
                Call("product.stock.add", {"out_request_no": "console-add-1", **brand, "stock": weekend(doc)}, pid)
            )
            return str((added.entity or {})["stock_id"])
        finally:
            await provider.aclose()

    outside_id = asyncio.run(edit_in_console())
    drift = project.run("drift")
    assert drift.returncode == 2, drift.stdout + drift.stderr
    assert 'stocks.weekend.remark: "周末" -> "控制台"' in drift.stdout
    assert f"stock {outside_id} (周末) added outside couponctl" in drift.stdout
    assert "stocks.main" not in drift.stdout  # 42 sent is not drift
    calls = [c["operation"] for c in plan_calls(project)]
    assert calls == ["product.stock.patch"]  # the remark back; the console's stock is left alone

    project.run("refresh", check=True)
    assert state_of(project)["upstream"]["stocks"]["main"]["sent_count_info"]["total_count"] == 42

    async def deactivate_in_console() -> None:
        provider = console(project)
        try:
            body = {"out_request_no": "console-off-1", "brand_id": project.sandbox.credentials.brand_id,
                    "deactivate_reason": "控制台停用"}  # fmt: skip
            await provider.execute(Call("product.stock.deactivate", body, pid, stock_id=weekend_id))
        finally:
            await provider.aclose()

    asyncio.run(deactivate_in_console())
    drift = project.run("drift")
    assert drift.returncode == 2
    assert 'stocks.weekend.state: "SENDING" -> "DEACTIVATED"' in drift.stdout
    assert f"stock weekend ({weekend_id}) deactivated outside couponctl" in drift.stdout
