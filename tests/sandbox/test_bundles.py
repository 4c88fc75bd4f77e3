"""Stock bundles (批次组) of PROGRESSIVE_BUNDLE coupons in the sandbox (issue 16; reference B.4, B.10): add, PATCH,
update-budget on every step stock, and deactivation stock by stock (no bundle deactivation API exists)."""

from __future__ import annotations

from typing import Any

from tests.sandbox.helpers import PRODUCTS, unique
from tests.sandbox.stock_support import MISMATCH, NOT_SENDING, Sbx, bundle_body, refused, run


def bundle_url(pid: str, bid: str = "", verb: str = "") -> str:
    return f"{PRODUCTS}/{pid}/stock-bundles" + (f"/{bid}" if bid else "") + (f"/{verb}" if verb else "")


async def add_bundle(s: Sbx, pid: str, steps: int = 3, **send_rule: int) -> dict[str, Any]:
    body = {"out_request_no": unique("ab"), "brand_id": s.brand, "stock_bundle": bundle_body(steps, **send_rule)}
    return await s.ok("POST", bundle_url(pid), body)


async def bundle_budget(s: Sbx, pid: str, bid: str, current: int, target: int) -> Any:
    body = {"out_request_no": unique("bb"), "brand_id": s.brand, "update_mode": "MAX_COUNT",
            "current_max_count": current, "target_max_count": target}  # fmt: skip
    return await s.call("POST", bundle_url(pid, bid, "update-budget"), body)


def test_add_a_bundle_makes_one_stock_per_step() -> None:
    """POST stock-bundles `{out_request_no, brand_id, stock_bundle}` answers `{stock_bundle_id, stock_list}`: one
    SENDING stock per step with `stock_bundle_info`; the step count must match the coupon's; SINGLE coupons refuse."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.bundle_coupon(count=3)
        pid = coupon["product_coupon_id"]
        assert coupon["stock_bundle"]["stock_bundle_id"] == pid + "000"
        body = {"out_request_no": unique("ab"), "brand_id": s.brand, "stock_bundle": bundle_body(3)}
        added = await s.call("POST", bundle_url(pid), body)
        assert added.status_code == 200, added.text
        answer = added.json()
        bid = answer["stock_bundle_id"]
        assert bid == pid + "000001"
        assert [x["stock_id"] for x in answer["stock_list"]] == [pid + "004", pid + "005", pid + "006"]
        assert [x["stock_bundle_info"] for x in answer["stock_list"]] == [
            {"stock_bundle_id": bid, "stock_bundle_index": i} for i in range(3)
        ]
        assert {x["state"] for x in answer["stock_list"]} == {"SENDING"}
        assert [x["single_usage_rule"]["normal_coupon"]["discount_amount"] for x in answer["stock_list"]] == [
            100,
            200,
            300,
        ]
        assert (await s.call("POST", bundle_url(pid), body)).content == added.content
        listing = await s.ok("GET", f"{PRODUCTS}/{pid}/stocks?brand_id={s.brand}&stock_bundle_id={bid}")
        assert listing["stock_list"] == answer["stock_list"]
        wrong = {"out_request_no": unique("ab"), "brand_id": s.brand, "stock_bundle": bundle_body(4)}
        assert refused(await s.call("POST", bundle_url(pid), wrong), 400, "PARAM_ERROR")["detail"]["field"] == (
            "/stock_bundle/progressive_bundle_usage_rule/normal_coupon_list"
        )
        single = (await s.coupon())["product_coupon_id"]
        refused(await s.call("POST", bundle_url(single), body | {"out_request_no": unique("ab")}), 400,
                "INVALID_REQUEST")  # fmt: skip

    run(scenario)


def test_patch_a_bundle_changes_every_step_and_its_stocks_refuse_stock_calls() -> None:
    """PATCH stock-bundles/{id} applies the fields to all its stocks; the stock PATCH and budget calls refuse a
    bundle's stock (doc 4015781556: use the bundle API)."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.bundle_coupon(count=3)
        pid, bid = coupon["product_coupon_id"], coupon["stock_bundle"]["stock_bundle_id"]
        display = {"code_display_mode": "BARCODE"}
        body = {"out_request_no": unique("pb"), "brand_id": s.brand, "remark": "组备注", "coupon_display_info": display}
        patched = await s.call("PATCH", bundle_url(pid, bid), body)
        assert patched.status_code == 200, patched.text
        steps = patched.json()["stock_list"]
        assert len(steps) == 3
        assert all(x["remark"] == "组备注" and x["coupon_display_info"] == display for x in steps)
        assert (await s.call("PATCH", bundle_url(pid, bid), body)).content == patched.content
        refused(await s.call("PATCH", bundle_url(pid, bid), body | {"remark": "别的"}), 400, "INVALID_REQUEST",
                MISMATCH)  # fmt: skip
        refused(await s.patch_stock(pid, steps[0]["stock_id"], remark="x"), 400, "INVALID_REQUEST")
        refused(await s.budget(pid, steps[0]["stock_id"], "max_count", 1000, 2000), 400, "INVALID_REQUEST")
        bad = {"out_request_no": unique("pb"), "brand_id": s.brand, "stock_send_rule": {"max_count": 1}}
        refused(await s.call("PATCH", bundle_url(pid, bid), bad), 400, "PARAM_ERROR")
        refused(await s.call("PATCH", bundle_url(pid, pid + "000999"), body | {"out_request_no": unique("p")}), 404,
                "NOT_FOUND")  # fmt: skip

    run(scenario)


def test_bundle_budget_is_a_compare_and_set_on_every_step() -> None:
    """update-budget on a bundle raises every step stock; a stale current or a target below any step's sent count
    is refused with the figures."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.bundle_coupon(count=3)
        pid, bid = coupon["product_coupon_id"], coupon["stock_bundle"]["stock_bundle_id"]
        raised = await bundle_budget(s, pid, bid, 1000, 5000)
        assert raised.status_code == 200, raised.text
        assert [x["stock_send_rule"]["max_count"] for x in raised.json()["stock_list"]] == [5000] * 3
        stale = refused(await bundle_budget(s, pid, bid, 1000, 6000), 400, "INVALID_REQUEST")
        assert "1000" in stale["message"] and "5000" in stale["message"]
        assert (await s.send(pid + "002", 1200)).status_code == 200
        below = refused(await bundle_budget(s, pid, bid, 5000, 1100), 400, "INVALID_REQUEST")
        assert "1200" in below["message"] and pid + "002" in below["message"]
        listing = await s.ok("GET", f"{PRODUCTS}/{pid}/stocks?brand_id={s.brand}")
        assert [x["stock_send_rule"]["max_count"] for x in listing["stock_list"]] == [5000] * 3

    run(scenario)


def test_a_bundle_ends_by_deactivating_each_of_its_stocks() -> None:
    """No API deactivates a bundle: each step stock is deactivated by the stock call; the bundle is then refused
    further changes (268577984)."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.bundle_coupon(count=3)
        pid, bid = coupon["product_coupon_id"], coupon["stock_bundle"]["stock_bundle_id"]
        for item in coupon["stock_bundle"]["stock_list"]:
            ended = await s.deactivate_stock(pid, item["stock_id"])
            assert ended.status_code == 200 and ended.json()["state"] == "DEACTIVATED"
        body = {"out_request_no": unique("pb"), "brand_id": s.brand, "remark": "x"}
        refused(await s.call("PATCH", bundle_url(pid, bid), body), 400, "INVALID_REQUEST", NOT_SENDING)
        refused(await bundle_budget(s, pid, bid, 1000, 2000), 400, "INVALID_REQUEST", NOT_SENDING)
        assert (await s.ok("GET", f"{PRODUCTS}/{pid}?brand_id={s.brand}"))["state"] == "EFFECTIVE"

    run(scenario)


def test_bundles_count_against_the_200_stock_cap_and_are_logged() -> None:
    """A bundle of 15 steps needs 15 places under the 200 effective stocks (B.4); bundle calls are logged as
    `product.stock_bundles.*`."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.bundle_coupon(count=15)
        pid = coupon["product_coupon_id"]
        for _ in range(12):
            await add_bundle(s, pid, 15)
        body = {"out_request_no": unique("ab"), "brand_id": s.brand, "stock_bundle": bundle_body(15)}
        full = refused(await s.call("POST", bundle_url(pid), body), 400, "INVALID_REQUEST")
        assert "195" in full["message"] and "15" in full["message"]
        await s.call("PATCH", bundle_url(pid, pid + "000"), {"out_request_no": unique("p"), "brand_id": s.brand,
                                                              "remark": "r"})  # fmt: skip
        await bundle_budget(s, pid, pid + "000", 1000, 1001)
        calls = (await s.admin("GET", "calls")).json()["calls"]
        assert [c["operation"] for c in calls[-3:]] == [
            "product.stock_bundles.create",
            "product.stock_bundles.patch",
            "product.stock_bundles.update_budget",
        ]
        assert [c["http_status"] for c in calls[-3:]] == [400, 200, 200]

    run(scenario)
