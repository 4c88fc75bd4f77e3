"""Stocks (批次) in the sandbox (issue 16; reference B.4, B.8-B.10): add, PATCH, update-budget, deactivate, the states
on the sandbox clock, the 200-stock cap, idempotency, and the admin calls that play a campaign."""

from __future__ import annotations

import pytest

from reconciler.sandbox import InjectedConnectionDrop
from tests.sandbox.helpers import PRODUCTS, display_info, unique
from tests.sandbox.stock_support import DAY, MISMATCH, NOT_SENDING, Sbx, refused, run, stock_body


def test_add_stock_takes_the_documented_body_and_answers_the_stock() -> None:
    """`{out_request_no, brand_id, stock}` (doc 4015781304) -> a SENDING stock with zero counts; flat fields are
    refused; a replay answers the same bytes; PROGRESSIVE_BUNDLE coupons take bundles instead."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.coupon()
        pid = coupon["product_coupon_id"]
        assert coupon["stock"]["sent_count_info"] == {"total_count": 0, "today_count": 0}
        body = {"out_request_no": unique("add"), "brand_id": s.brand, "stock": {**stock_body(), "remark": "第二批"}}
        added = await s.call("POST", f"{PRODUCTS}/{pid}/stocks", body)
        assert added.status_code == 200, added.text
        item = added.json()
        assert item["stock_id"] == pid + "002" and item["state"] == "SENDING"
        assert item["remark"] == "第二批" and item["sent_count_info"] == {"total_count": 0, "today_count": 0}
        assert (await s.call("POST", f"{PRODUCTS}/{pid}/stocks", body)).content == added.content
        flat = {"out_request_no": unique("add"), "brand_id": s.brand, **stock_body()}
        assert refused(await s.call("POST", f"{PRODUCTS}/{pid}/stocks", flat), 400, "PARAM_ERROR")["detail"]
        listing = await s.ok("GET", f"{PRODUCTS}/{pid}/stocks?brand_id={s.brand}")
        assert [x["stock_id"] for x in listing["stock_list"]] == [pid + "001", pid + "002"]
        bundle = await s.bundle_coupon()
        refused(await s.add_stock(bundle["product_coupon_id"]), 400, "INVALID_REQUEST")

    run(scenario)


def test_add_stock_needs_an_effective_coupon_and_new_stocks_follow_the_review_switch() -> None:
    """With `product_initial_state: AUDITING` a coupon cannot take stocks until reviewed, and a stock added
    afterwards starts AUDITING until the admin review of that stock (B.10)."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.coupon()
        pid = coupon["product_coupon_id"]
        assert coupon["state"] == "AUDITING" and coupon["stock"]["state"] == "AUDITING"
        refused(await s.add_stock(pid), 400, "INVALID_REQUEST")
        assert (await s.admin("POST", f"product-coupons/{pid}/review")).status_code == 200
        added = await s.add_stock(pid)
        assert added.status_code == 200 and added.json()["state"] == "AUDITING"
        sid = added.json()["stock_id"]
        refused(await s.patch_stock(pid, sid, remark="改"), 400, "INVALID_REQUEST", NOT_SENDING)
        reviewed = await s.admin("POST", f"stocks/{sid}/review")
        assert reviewed.status_code == 200 and reviewed.json()["state"] == "SENDING"
        assert (await s.admin("POST", f"stocks/{sid}/review")).status_code == 409

    run(scenario, product_initial_state="AUDITING")


def test_at_most_200_effective_stocks_and_ended_ones_do_not_count() -> None:
    """The 201st live stock is refused; a deactivated or stopped one frees a place (B.4 [D])."""

    async def scenario(s: Sbx) -> None:
        pid = (await s.coupon())["product_coupon_id"]
        for _ in range(199):
            assert (await s.add_stock(pid)).status_code == 200
        body = refused(await s.add_stock(pid), 400, "INVALID_REQUEST")
        assert "200" in body["message"]
        assert (await s.deactivate_stock(pid, pid + "005")).status_code == 200
        assert (await s.add_stock(pid)).status_code == 200
        assert (await s.admin("POST", f"stocks/{pid}007/stop")).status_code == 200
        assert (await s.add_stock(pid)).status_code == 200
        refused(await s.add_stock(pid), 400, "INVALID_REQUEST")

    run(scenario)


def test_patch_stock_changes_only_the_patchable_fields() -> None:
    """PATCH replaces each given field whole and answers the whole stock; nothing else may be sent (doc 4015781556)."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.coupon()
        pid, sid = coupon["product_coupon_id"], coupon["stock"]["stock_id"]
        display = {"code_display_mode": "BARCODE", "background_color": "Color020"}
        usage = {"coupon_usage_method_list": ["OFFLINE", "PAYMENT_CODE"], "usage_description": "到店或付款码"}
        body = {"out_request_no": unique("patch"), "brand_id": s.brand, "remark": "新备注",
                "coupon_display_info": display, "usage_rule_display_info": usage,
                "notify_config": {"notify_appid": "wx0000000000000002"}, "store_scope": "ALL"}  # fmt: skip
        patched = await s.call("PATCH", f"{PRODUCTS}/{pid}/stocks/{sid}", body)
        assert patched.status_code == 200, patched.text
        after = patched.json()
        before = coupon["stock"]
        assert after == {**before, "remark": "新备注", "coupon_display_info": display,
                         "usage_rule_display_info": usage, "notify_config": {"notify_appid": "wx0000000000000002"},
                         "store_scope": "ALL"}  # fmt: skip
        assert await s.get_stock(pid, sid) == after
        replay = await s.call("PATCH", f"{PRODUCTS}/{pid}/stocks/{sid}", body)
        assert replay.content == patched.content
        other = await s.call("PATCH", f"{PRODUCTS}/{pid}/stocks/{sid}", {**body, "remark": "另一个"})
        refused(other, 400, "INVALID_REQUEST", MISMATCH)
        bad_key = refused(await s.patch_stock(pid, sid, stock_send_rule={"max_count": 5}), 400, "PARAM_ERROR")
        assert bad_key["detail"]["field"] == "/stock_send_rule"
        assert refused(await s.patch_stock(pid, sid), 400, "PARAM_ERROR")["detail"]["field"] == "/"
        assert refused(await s.patch_stock(pid, sid, store_scope="SOME"), 400, "PARAM_ERROR")["detail"]["field"] == (
            "/store_scope"
        )
        too_long = refused(await s.patch_stock(pid, sid, remark="备" * 21), 400, "PARAM_ERROR")
        assert too_long["detail"]["field"] == "/remark"
        no_methods = {"coupon_usage_method_list": ["MINI_PROGRAM"], "usage_description": "x"}
        missing = refused(await s.patch_stock(pid, sid, usage_rule_display_info=no_methods), 400, "PARAM_ERROR")
        assert missing["detail"]["field"] == "/usage_rule_display_info/mini_program_appid"
        refused(await s.patch_stock(pid, pid + "999", remark="x"), 404, "NOT_FOUND")

    run(scenario)


def test_patch_and_budget_only_while_sending_or_paused() -> None:
    """PAUSED stocks change; STOPPED and DEACTIVATED ones answer INVALID_REQUEST with business code 268577984."""

    async def scenario(s: Sbx) -> None:
        pid = (await s.coupon())["product_coupon_id"]
        sids = [(await s.add_stock(pid)).json()["stock_id"] for _ in range(2)]
        assert (await s.admin("POST", f"stocks/{pid}001/pause")).json()["state"] == "PAUSED"
        assert (await s.patch_stock(pid, pid + "001", remark="暂停中")).status_code == 200
        assert (await s.budget(pid, pid + "001", "max_count", 1000, 2000)).json()["state"] == "PAUSED"
        assert (await s.admin("POST", f"stocks/{pid}001/resume")).json()["state"] == "SENDING"
        assert (await s.admin("POST", f"product-coupons/{pid}/stocks/{sids[0]}/stop")).json()["state"] == "STOPPED"
        assert (await s.deactivate_stock(pid, sids[1])).status_code == 200
        for sid in sids:
            refused(await s.patch_stock(pid, sid, remark="x"), 400, "INVALID_REQUEST", NOT_SENDING)
            refused(await s.budget(pid, sid, "max_count", 1000, 2000), 400, "INVALID_REQUEST", NOT_SENDING)
            refused(await s.deactivate_stock(pid, sid), 400, "INVALID_REQUEST", NOT_SENDING)
        assert (await s.admin("POST", f"stocks/{sids[0]}/resume")).status_code == 409
        assert (await s.admin("POST", "stocks/9999999999001/pause")).status_code == 404

    run(scenario)


def test_update_budget_is_a_compare_and_set_of_one_dimension() -> None:
    """`update_mode` + its own current/target pair (doc 4015781561): a stale current is refused naming both figures,
    a target below what was sent is refused with the count, the other pair may not come along, and the answer is
    the stock with the new budget."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.coupon()
        pid, sid = coupon["product_coupon_id"], coupon["stock"]["stock_id"]
        raised = await s.budget(pid, sid, "max_count", 1000, 5000)
        assert raised.status_code == 200, raised.text
        assert raised.json()["stock_send_rule"] == {"max_count": 5000, "max_count_per_user": 1}
        stale = refused(await s.budget(pid, sid, "max_count", 1000, 6000), 400, "INVALID_REQUEST")
        assert "1000" in stale["message"] and "5000" in stale["message"]
        assert stale["detail"]["field"] == "/current_max_count"
        assert (await s.send(sid, 842)).status_code == 200
        below = refused(await s.budget(pid, sid, "max_count", 5000, 800), 400, "INVALID_REQUEST")
        assert "800" in below["message"] and "842" in below["message"]
        assert (await s.budget(pid, sid, "max_count", 5000, 842)).json()["stock_send_rule"]["max_count"] == 842
        both = await s.budget(pid, sid, "max_count", 842, 900, current_max_count_per_day=0,
                              target_max_count_per_day=10)  # fmt: skip
        assert refused(both, 400, "PARAM_ERROR")["detail"]["field"] == "/current_max_count_per_day"
        assert refused(await s.budget(pid, sid, "max_count", 842, 100_000_001), 400, "PARAM_ERROR")
        no_mode = {"out_request_no": unique("b"), "brand_id": s.brand, "current_max_count": 842, "target_max_count": 9}
        url = f"{PRODUCTS}/{pid}/stocks/{sid}/update-budget"
        assert refused(await s.call("POST", url, no_mode), 400, "PARAM_ERROR")["detail"]["field"] == "/update_mode"
        # No daily limit yet: its current value is 0 [INF]; the target may not go below today's count.
        day = await s.budget(pid, sid, "max_count_per_day", 0, 900)
        assert day.json()["stock_send_rule"]["max_count_per_day"] == 900
        today = refused(await s.budget(pid, sid, "max_count_per_day", 900, 841), 400, "INVALID_REQUEST")
        assert "842" in today["message"]
        refused(await s.budget(pid, pid + "999", "max_count", 1, 2), 404, "NOT_FOUND")

    run(scenario)


def test_update_budget_is_idempotent_by_out_request_no() -> None:
    """The same number and body replays the first answer without a second change; another body is 268578927."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.coupon()
        pid, sid = coupon["product_coupon_id"], coupon["stock"]["stock_id"]
        body = {"out_request_no": unique("b"), "brand_id": s.brand, "update_mode": "MAX_COUNT",
                "current_max_count": 1000, "target_max_count": 3000}  # fmt: skip
        url = f"{PRODUCTS}/{pid}/stocks/{sid}/update-budget"
        first = await s.call("POST", url, body)
        again = await s.call("POST", url, body)
        assert first.status_code == again.status_code == 200 and again.content == first.content
        assert (await s.get_stock(pid, sid))["stock_send_rule"]["max_count"] == 3000
        refused(await s.call("POST", url, {**body, "target_max_count": 4000}), 400, "INVALID_REQUEST", MISMATCH)

    run(scenario)


def test_states_and_counts_follow_the_sandbox_clock() -> None:
    """A stock reads STOPPED once its available_end_time has passed; today's count restarts the next day."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.coupon(stock_body(end_days=2, max_count_per_day=10))
        pid, sid = coupon["product_coupon_id"], coupon["stock"]["stock_id"]
        assert (await s.send(sid, 10)).status_code == 200
        assert (await s.send(sid, 1)).status_code == 409  # today's cap
        s.clock.now += DAY
        item = await s.get_stock(pid, sid)
        assert item["state"] == "SENDING" and item["sent_count_info"] == {"total_count": 10, "today_count": 0}
        assert (await s.send(sid, 3)).status_code == 200
        s.clock.now += 2 * DAY
        listing = await s.ok("GET", f"{PRODUCTS}/{pid}/stocks?brand_id={s.brand}&state=STOPPED")
        assert [x["stock_id"] for x in listing["stock_list"]] == [sid]
        refused(await s.budget(pid, sid, "max_count", 1000, 2000), 400, "INVALID_REQUEST", NOT_SENDING)
        state = (await s.admin("GET", "state")).json()
        assert state["product_coupons"][0]["stocks"][0]["state"] == "STOPPED"

    run(scenario)


def test_a_campaign_sells_out_and_its_budget_is_raised() -> None:
    """The admin sends up to max_count and no further; raising the budget lets it send again."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.coupon()
        pid, sid = coupon["product_coupon_id"], coupon["stock"]["stock_id"]
        sent = await s.send(sid, 1000)
        assert sent.status_code == 200 and sent.json()["sent_count_info"]["total_count"] == 1000
        over = await s.send(sid, 1)
        assert over.status_code == 409 and "max_count 1000" in over.json()["error"]
        for bad in ({"count": 0}, {"count": "5"}, [], None):
            assert (await s.admin("POST", f"stocks/{sid}/send", bad)).status_code == 400
        assert (await s.budget(pid, sid, "max_count", 1000, 5000)).status_code == 200
        assert (await s.send(sid, 4000)).status_code == 200
        assert (await s.get_stock(pid, sid))["sent_count_info"]["total_count"] == 5000
        assert (await s.admin("POST", f"stocks/{sid}/pause")).status_code == 200
        assert (await s.send(sid, 1)).status_code == 409  # a paused stock sends nothing

    run(scenario)


def test_new_operations_are_named_limited_logged_and_faultable() -> None:
    """`product.stocks.patch` / `.update_budget` in the call log, their own 429 bucket, and fault rules that answer
    instead of the operation (nothing changes)."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.coupon()
        pid, sid = coupon["product_coupon_id"], coupon["stock"]["stock_id"]
        assert (await s.admin("PUT", "limits", {"rate_limits": {"product.stocks.patch": 1}})).status_code == 200
        assert (await s.patch_stock(pid, sid, remark="一")).status_code == 200
        refused(await s.patch_stock(pid, sid, remark="二"), 429, "RATELIMIT_EXCEEDED")
        faults = [{"operation": "product.stocks.update_budget", "kind": "errcode", "value": "SYSTEM_ERROR", "count": 1}]
        assert (await s.admin("PUT", "faults", faults)).status_code == 200
        refused(await s.budget(pid, sid, "max_count", 1000, 2000), 500, "SYSTEM_ERROR")
        assert (await s.get_stock(pid, sid))["stock_send_rule"]["max_count"] == 1000
        assert (await s.budget(pid, sid, "max_count", 1000, 2000)).status_code == 200
        calls = (await s.admin("GET", "calls")).json()["calls"]
        ops = [(c["operation"], c["http_status"]) for c in calls]
        assert ops[-5:] == [
            ("product.stocks.patch", 200),
            ("product.stocks.patch", 429),
            ("product.stocks.update_budget", 500),
            ("product.stocks.get", 200),
            ("product.stocks.update_budget", 200),
        ]
        assert calls[-1]["out_request_no"].startswith("budget-")
        wrong = await s.call("POST", f"{PRODUCTS}/{pid}/stocks/{sid}", {"x": 1})
        refused(wrong, 405, "METHOD_NOT_ALLOWED")

    run(scenario)


def test_a_budget_change_whose_answer_is_lost_is_replayed_not_repeated() -> None:
    """drop_after_commit on update-budget: the change is committed and the answer lost; the retry with the same
    number answers the same stock, and a blind retry with a new number is refused as stale (no double change)."""

    async def scenario(s: Sbx) -> None:
        coupon = await s.coupon()
        pid, sid = coupon["product_coupon_id"], coupon["stock"]["stock_id"]
        faults = [{"operation": "product.stocks.update_budget", "kind": "drop_after_commit", "count": 1}]
        assert (await s.admin("PUT", "faults", faults)).status_code == 200
        body = {"out_request_no": unique("b"), "brand_id": s.brand, "update_mode": "MAX_COUNT",
                "current_max_count": 1000, "target_max_count": 2500}  # fmt: skip
        url = f"{PRODUCTS}/{pid}/stocks/{sid}/update-budget"
        with pytest.raises(InjectedConnectionDrop):
            await s.call("POST", url, body)
        retried = await s.call("POST", url, body)
        assert retried.status_code == 200 and retried.json()["stock_send_rule"]["max_count"] == 2500
        stale = refused(await s.call("POST", url, {**body, "out_request_no": unique("b")}), 400, "INVALID_REQUEST")
        assert "2500" in stale["message"]
        assert (await s.get_stock(pid, sid))["stock_send_rule"]["max_count"] == 2500

    run(scenario)


def test_brand_routes_serve_the_stock_calls_under_their_own_names() -> None:
    """`/brand/...` stock add, PATCH and update-budget: the brand scheme, no brand_id in the body, `brand.product.*`
    operation names; a partner's coupon stays invisible there (B.6)."""

    async def scenario(s: Sbx) -> None:
        brand_base = "/brand/marketing/product-coupon/product-coupons"
        body = {"out_request_no": unique("bc"), "scope": "ALL", "type": "NORMAL", "usage_mode": "SINGLE",
                "display_info": display_info(),
                "single_usage_info": {"normal_coupon": {"threshold": 10000, "discount_amount": 1000}},
                "stock": stock_body()}  # fmt: skip
        created = await s.call("POST", brand_base, body, brand=True)
        assert created.status_code == 200, created.text
        pid = created.json()["product_coupon_id"]
        added = await s.call("POST", f"{brand_base}/{pid}/stocks", {"out_request_no": unique("a"),
                                                                     "stock": stock_body()}, brand=True)  # fmt: skip
        assert added.status_code == 200, added.text
        sid = added.json()["stock_id"]
        change = {"out_request_no": unique("p"), "remark": "品牌改"}
        patched = await s.call("PATCH", f"{brand_base}/{pid}/stocks/{sid}", change, brand=True)
        assert patched.status_code == 200 and patched.json()["remark"] == "品牌改"
        budget = {"out_request_no": unique("b"), "update_mode": "MAX_COUNT", "current_max_count": 1000,
                  "target_max_count": 2000}  # fmt: skip
        raised = await s.call("POST", f"{brand_base}/{pid}/stocks/{sid}/update-budget", budget, brand=True)
        assert raised.status_code == 200 and raised.json()["stock_send_rule"]["max_count"] == 2000
        again = {**budget, "out_request_no": unique("b"), "brand_id": s.brand}
        with_brand = await s.call("POST", f"{brand_base}/{pid}/stocks/{sid}/update-budget", again, brand=True)
        assert refused(with_brand, 400, "PARAM_ERROR")["detail"]["field"] == "/brand_id"
        calls = (await s.admin("GET", "calls")).json()["calls"]
        assert [c["operation"] for c in calls[-5:]] == [
            "brand.product.create",
            "brand.product.stocks.create",
            "brand.product.stocks.patch",
            "brand.product.stocks.update_budget",
            "brand.product.stocks.update_budget",
        ]
        partner = await s.coupon()
        url = f"{brand_base}/{partner['product_coupon_id']}/stocks/{partner['stock']['stock_id']}"
        refused(
            await s.call("PATCH", url, {"out_request_no": unique("p"), "remark": "x"}, brand=True), 404, "NOT_FOUND"
        )

    run(scenario)
