"""Contract tests of the WeChat Pay partner product-coupon API over real HTTP (reference B, C; E Family 2)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from typing import Any

import httpx
import pytest

from reconciler.sandbox import generate_credentials
from tests.sandbox.helpers import (
    IMAGE,
    PRODUCTS,
    PayClient,
    authorization,
    display_info,
    product_body,
    stock,
    unique,
    verify_response,
)
from tests.sandbox_server import ServedSandbox, served_sandbox

REQUEST_ID = re.compile(r"^[0-9A-F]{16,}-(\d+)$")
SERIAL = re.compile(r"^PUB_KEY_ID_\d{34}$")


def assert_signed(pay: PayClient, response: httpx.Response, business_code: int = 0, brand: bool = False) -> None:
    """Every answer carries the Wechatpay-* headers, a Request-ID with the business code, and a valid signature."""
    h = response.headers
    assert h["content-type"] == "application/json; charset=utf-8"
    scheme = "WECHATPAY-BRAND-SHA256-RSA2048" if brand else "WECHATPAY2-SHA256-RSA2048"
    assert h["wechatpay-signature-type"] == scheme
    assert h["wechatpay-serial"] == pay.creds.public_key_id
    assert SERIAL.match(h["wechatpay-serial"])
    assert re.fullmatch(r"[0-9A-F]{32}", h["wechatpay-nonce"])
    assert abs(int(h["wechatpay-timestamp"]) - time.time()) < 60
    match = REQUEST_ID.match(h["request-id"])
    assert match is not None and int(match.group(1)) == business_code
    assert verify_response(pay.creds, response)


def assert_error(
    pay: PayClient, response: httpx.Response, status: int, code: str, field: str | None = None, brand: bool = False
) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    if field is not None:
        assert body["detail"]["field"] == field, body
    assert "Traceback" not in response.text
    business_code = REQUEST_ID_CODES.get(code, int(response.headers["request-id"].rsplit("-", 1)[1]))
    assert_signed(pay, response, business_code, brand)


REQUEST_ID_CODES = {"NOT_FOUND": 268578608, "NO_AUTH": 268579803, "RATELIMIT_EXCEEDED": 270924289}


def created(pay: PayClient, scope: str = "ALL", **overrides: Any) -> dict[str, Any]:
    response = pay.create(product_body(pay.creds, unique("create"), scope, **overrides))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_create_answers_the_entity_with_its_first_stock_signed(pay: PayClient) -> None:
    """Create returns the product coupon (EFFECTIVE by default) plus `stock`, signed, Request-ID `...-0` (B.5)."""
    body = product_body(pay.creds, unique("create"), "SINGLE")
    response = pay.create(body)
    assert response.status_code == 200, response.text
    assert_signed(pay, response)
    coupon = response.json()
    assert coupon["product_coupon_id"].isdigit()
    assert coupon["state"] == "EFFECTIVE"
    assert coupon["brand_id"] == pay.creds.brand_id
    assert "out_request_no" not in coupon
    assert coupon["display_info"] == body["display_info"]
    assert coupon["stock"]["stock_id"] == coupon["product_coupon_id"] + "001"
    assert coupon["stock"]["state"] == "SENDING"
    assert coupon["stock"]["single_usage_rule"] == body["stock"]["single_usage_rule"]
    assert "null" not in response.text


def test_progressive_bundle_creates_one_stock_per_step(pay: PayClient) -> None:
    """PROGRESSIVE_BUNDLE returns stock_bundle with `count` stocks, one per step (B.4)."""
    bundle = stock()
    rule = bundle.pop("single_usage_rule")
    bundle["progressive_bundle_usage_rule"] = {
        "coupon_available_period": rule["coupon_available_period"],
        "normal_coupon_list": [{"threshold": 0, "discount_amount": 100 * (i + 1)} for i in range(3)],
    }
    body = product_body(pay.creds, unique("bundle"), "SINGLE", usage_mode="PROGRESSIVE_BUNDLE", stock_bundle=bundle,
                        progressive_bundle_usage_info={"count": 3, "interval_days": 1})  # fmt: skip
    del body["stock"]
    response = pay.create(body)
    assert response.status_code == 200, response.text
    result = response.json()
    stocks = result["stock_bundle"]["stock_list"]
    assert [s["stock_bundle_info"]["stock_bundle_index"] for s in stocks] == [0, 1, 2]
    assert [s["single_usage_rule"]["normal_coupon"]["discount_amount"] for s in stocks] == [100, 200, 300]
    listed = pay.send(
        "GET", f"{PRODUCTS}/{result['product_coupon_id']}/stocks?brand_id={pay.creds.brand_id}&page_size=2"
    )
    assert listed.status_code == 200
    page = listed.json()
    assert page["total_count"] == 3 and len(page["stock_list"]) == 2
    rest = pay.send(
        "GET",
        f"{PRODUCTS}/{result['product_coupon_id']}/stocks?brand_id={pay.creds.brand_id}&page_size=2"
        f"&page_token={page['next_page_token']}",
    ).json()
    assert [s["stock_id"] for s in page["stock_list"] + rest["stock_list"]] == [s["stock_id"] for s in stocks]
    assert "next_page_token" not in rest


def test_get_never_returns_stocks_and_needs_brand(pay: PayClient, served: ServedSandbox) -> None:
    """GET returns the entity without stock data; brand_id is required, other brands 403, unknown ids 404 (B.6)."""
    coupon = created(pay)
    pid = coupon["product_coupon_id"]
    response = pay.get(pid)
    assert response.status_code == 200
    assert_signed(pay, response)
    got = response.json()
    assert "stock" not in got and "stock_bundle" not in got
    assert got == {k: v for k, v in coupon.items() if k != "stock"}
    assert_error(pay, pay.send("GET", f"{PRODUCTS}/{pid}"), 400, "PARAM_ERROR", "brand_id")
    assert_error(pay, pay.get(pid, brand_id="999999"), 403, "NO_AUTH")
    assert_error(pay, pay.get("9999999999"), 404, "NOT_FOUND")


def test_patch_replaces_display_info_only(pay: PayClient) -> None:
    """PATCH takes only out_request_no, display_info and brand_id, and answers the updated entity (B.7)."""
    pid = created(pay)["product_coupon_id"]
    new_display = display_info(name="新名字的咖啡券")
    body = {"out_request_no": unique("patch"), "display_info": new_display, "brand_id": pay.creds.brand_id}
    response = pay.patch(pid, body)
    assert response.status_code == 200, response.text
    assert_signed(pay, response)
    assert response.json()["display_info"] == new_display
    assert pay.get(pid).json()["display_info"] == new_display
    sneaky = {**body, "out_request_no": unique("patch"), "scope": "SINGLE"}
    assert_error(pay, pay.patch(pid, sneaky), 400, "PARAM_ERROR", "/scope")
    no_display = {"out_request_no": unique("patch"), "brand_id": pay.creds.brand_id}
    assert_error(pay, pay.patch(pid, no_display), 400, "PARAM_ERROR", "/display_info")
    short = {**body, "out_request_no": unique("patch"), "display_info": display_info(name="ab")}
    assert_error(pay, pay.patch(pid, short), 400, "PARAM_ERROR", "/display_info/name")
    assert_error(pay, pay.patch("9999999999", {**body, "out_request_no": unique("p")}), 404, "NOT_FOUND")


def test_deactivate_is_terminal_and_cascades_to_stocks(pay: PayClient) -> None:
    """Deactivate marks the coupon and its stocks DEACTIVATED with request no, time and reason; terminal (B.8)."""
    coupon = created(pay)
    pid = coupon["product_coupon_id"]
    number = unique("deact")
    body = {"out_request_no": number, "deactivate_reason": "活动结束", "brand_id": pay.creds.brand_id}
    response = pay.deactivate(pid, body)
    assert response.status_code == 200, response.text
    assert_signed(pay, response)
    result = response.json()
    assert result["state"] == "DEACTIVATED"
    assert result["deactivate_request_no"] == number
    assert result["deactivate_reason"] == "活动结束"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", result["deactivate_time"])
    got_stock = pay.send("GET", f"{PRODUCTS}/{pid}/stocks/{coupon['stock']['stock_id']}?brand_id={pay.creds.brand_id}")
    assert got_stock.json()["state"] == "DEACTIVATED"
    assert got_stock.json()["deactivate_request_no"] == number
    replay = pay.deactivate(pid, body)
    assert replay.status_code == 200 and replay.content == response.content
    again = {**body, "out_request_no": unique("deact")}
    assert_error(pay, pay.deactivate(pid, again), 400, "INVALID_REQUEST")
    patch = {"out_request_no": unique("patch"), "display_info": display_info(), "brand_id": pay.creds.brand_id}
    assert_error(pay, pay.patch(pid, patch), 400, "INVALID_REQUEST")
    no_reason = {"out_request_no": unique("deact"), "brand_id": pay.creds.brand_id}
    assert_error(pay, pay.deactivate(created(pay)["product_coupon_id"], no_reason), 400, "PARAM_ERROR",
                 "/deactivate_reason")  # fmt: skip


def test_create_is_idempotent_per_out_request_no(pay: PayClient, served: ServedSandbox) -> None:
    """Same number + same JSON (any key order/spacing) replays the first answer; a different body is refused (B.9)."""
    body = product_body(pay.creds, unique("idem"))
    first = pay.create(body)
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()
    second = pay.send("POST", PRODUCTS, raw=reordered)
    assert second.status_code == 200
    assert second.json()["product_coupon_id"] == first.json()["product_coupon_id"]
    assert second.content == first.content
    assert_signed(pay, second)
    ids = [c["product_coupon_id"] for c in served.state()["product_coupons"]]
    assert ids.count(first.json()["product_coupon_id"]) == 1
    changed = copy.deepcopy(body)
    changed["display_info"]["name"] = "另一个名字"
    refused = pay.create(changed)
    assert_error(pay, refused, 400, "INVALID_REQUEST")
    assert refused.headers["request-id"].endswith("-268578927")
    assert "相同单号" in refused.json()["message"]


def test_patch_is_idempotent_per_out_request_no(pay: PayClient) -> None:
    """A replayed PATCH returns the first answer even after a later PATCH changed the coupon (B.9)."""
    pid = created(pay)["product_coupon_id"]
    first_body = {
        "out_request_no": unique("p"),
        "display_info": display_info(name="第一版名字"),
        "brand_id": pay.creds.brand_id,
    }
    first = pay.patch(pid, first_body)
    pay.patch(pid, {**first_body, "out_request_no": unique("p"), "display_info": display_info(name="第二版名字")})
    replay = pay.patch(pid, first_body)
    assert replay.content == first.content
    assert pay.get(pid).json()["display_info"]["name"] == "第二版名字"
    mismatch = {**first_body, "display_info": display_info(name="第三版名字")}
    assert_error(pay, pay.patch(pid, mismatch), 400, "INVALID_REQUEST")


@pytest.mark.parametrize(
    "number",
    ["abc12", "x" * 41, "has space1", "中文单号123456", "semi;colon"],
    ids=["short", "long", "space", "cjk", "semi"],
)
def test_out_request_no_format(pay: PayClient, number: str) -> None:
    """out_request_no must be 6-40 characters of [0-9A-Za-z_-] (B.2)."""
    assert_error(pay, pay.create(product_body(pay.creds, number)), 400, "PARAM_ERROR", "/out_request_no")


def _mutate(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    keys = path.strip("/").split("/")
    target: Any = body
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return body


DELETE = object()


@pytest.mark.parametrize(
    ("scope", "path", "value", "code", "field"),
    [
        ("ALL", "/scope", "CATEGORY", "PARAM_ERROR", "/scope"),
        ("ALL", "/type", "BOGUS", "PARAM_ERROR", "/type"),
        ("ALL", "/usage_mode", "SEQUENTIAL", "INVALID_REQUEST", "/usage_mode"),
        ("ALL", "/type", "EXCHANGE", "INVALID_REQUEST", "/type"),
        ("ALL", "/brand_id", DELETE, "PARAM_ERROR", "/brand_id"),
        ("ALL", "/single_usage_info", DELETE, "PARAM_ERROR", "/single_usage_info"),
        ("ALL", "/single_usage_info", {"discount_coupon": {"threshold": 0, "percent_off": 20}}, "INVALID_REQUEST",
         "/single_usage_info/normal_coupon"),
        ("ALL", "/single_usage_info/normal_coupon/discount_amount", "100", "PARAM_ERROR",
         "/single_usage_info/normal_coupon/discount_amount"),
        ("ALL", "/stock/single_usage_rule/normal_coupon", {"threshold": 0, "discount_amount": 1}, "INVALID_REQUEST",
         "/stock/single_usage_rule/normal_coupon"),
        ("ALL", "/stock", DELETE, "PARAM_ERROR", "/stock"),
        ("ALL", "/progressive_bundle_usage_info", {"count": 3, "interval_days": 0}, "INVALID_REQUEST",
         "/progressive_bundle_usage_info"),
        ("SINGLE", "/single_usage_info", {"normal_coupon": {"threshold": 0, "discount_amount": 1}}, "INVALID_REQUEST",
         "/single_usage_info"),
        ("SINGLE", "/stock/single_usage_rule/normal_coupon", DELETE, "INVALID_REQUEST",
         "/stock/single_usage_rule/normal_coupon"),
        ("SINGLE", "/display_info/original_price", DELETE, "PARAM_ERROR", "/display_info/original_price"),
        ("SINGLE", "/display_info/combo_package_list", DELETE, "PARAM_ERROR", "/display_info/combo_package_list"),
        ("SINGLE", "/display_info/combo_package_list/0/choice_list/0/count", 100, "PARAM_ERROR",
         "/display_info/combo_package_list/0/choice_list/0/count"),
        ("ALL", "/display_info/name", "一二三四五六七八九十一二三四五六", "PARAM_ERROR", "/display_info/name"),
        ("ALL", "/display_info/image_url", "https://evil.example/a.png", "INVALID_REQUEST", "/display_info/image_url"),
        ("ALL", "/display_info/detail_image_url_list", [IMAGE + "x.png"] * 9, "PARAM_ERROR",
         "/display_info/detail_image_url_list"),
        ("ALL", "/display_info/name", "咖啡😀券券", "PARAM_ERROR", "/display_info/name"),
        ("ALL", "/out_product_no", None, "PARAM_ERROR", "/out_product_no"),
        ("ALL", "/stock/coupon_code_mode", "PAPER", "PARAM_ERROR", "/stock/coupon_code_mode"),
        ("ALL", "/stock/stock_send_rule/max_count", 100_000_001, "PARAM_ERROR", "/stock/stock_send_rule/max_count"),
        ("ALL", "/stock/stock_send_rule/max_count_per_user", 101, "PARAM_ERROR",
         "/stock/stock_send_rule/max_count_per_user"),
        ("ALL", "/stock/single_usage_rule/coupon_available_period/available_begin_time", "2026-12-01 00:00:00",
         "PARAM_ERROR", "/stock/single_usage_rule/coupon_available_period/available_begin_time"),
        ("ALL", "/stock/single_usage_rule/coupon_available_period/available_end_time", "2025-01-01T00:00:00+08:00",
         "INVALID_REQUEST", "/stock/single_usage_rule/coupon_available_period/available_end_time"),
        ("ALL", "/stock/single_usage_rule/coupon_available_period/available_end_time", "2028-01-01T00:00:00+08:00",
         "INVALID_REQUEST", "/stock/single_usage_rule/coupon_available_period/available_end_time"),
        ("ALL", "/stock/usage_rule_display_info/coupon_usage_method_list", ["MINI_PROGRAM"], "PARAM_ERROR",
         "/stock/usage_rule_display_info/mini_program_appid"),
        ("ALL", "/stock/coupon_display_info/background_color", "Color999", "PARAM_ERROR",
         "/stock/coupon_display_info/background_color"),
        ("ALL", "/stock/store_scope", DELETE, "PARAM_ERROR", "/stock/store_scope"),
        ("ALL", "/stock/notify_config", DELETE, "PARAM_ERROR", "/stock/notify_config"),
        ("ALL", "/stock/single_usage_rule/coupon_available_period/wait_days_after_receive", 3, "INVALID_REQUEST",
         "/stock/single_usage_rule/coupon_available_period/wait_days_after_receive"),
        ("ALL", "/stock/single_usage_rule/coupon_available_period/available_days", 366, "PARAM_ERROR",
         "/stock/single_usage_rule/coupon_available_period/available_days"),
        ("ALL", "/stock/single_usage_rule/coupon_available_period/weekly_available_period",
         {"day_list": ["FUNDAY"]}, "PARAM_ERROR",
         "/stock/single_usage_rule/coupon_available_period/weekly_available_period/day_list/0"),
        ("ALL", "/stock/remark", "这个备注实在是太长了超过了二十个字符的限制啊啊", "PARAM_ERROR", "/stock/remark"),
        ("ALL", "/stock/usage_rule_display_info/usage_description", "x" * 1001, "PARAM_ERROR",
         "/stock/usage_rule_display_info/usage_description"),
        ("ALL", "/stock/coupon_display_info/entrance_mini_program",
         {"appid": "wx1", "path": "/p", "entrance_wording": "立即使用优惠券", "guidance_wording": "去看看"},
         "PARAM_ERROR", "/stock/coupon_display_info/entrance_mini_program/entrance_wording"),
        ("SINGLE", "/display_info/combo_package_list/0/choice_list/0/mini_program_path", "/pages/x", "PARAM_ERROR",
         "/display_info/combo_package_list/0/choice_list/0/mini_program_appid"),
        ("SINGLE", "/display_info/combo_package_list/0/pick_count", 0, "PARAM_ERROR",
         "/display_info/combo_package_list/0/pick_count"),
    ],
)  # fmt: skip
def test_create_validation(pay: PayClient, scope: str, path: str, value: Any, code: str, field: str) -> None:
    """Each documented create rule answers 400 naming the field by JSON pointer (B.2-B.5, E Family-2 6-7, 11-12)."""
    body = _mutate(product_body(pay.creds, unique("bad"), scope), path, value)
    assert_error(pay, pay.create(body), 400, code, field)


def test_discount_coupon_needs_percent_off_in_range(pay: PayClient) -> None:
    """A DISCOUNT coupon carries percent_off 1..99 (B.2)."""
    body = product_body(pay.creds, unique("disc"), type="DISCOUNT",
                        single_usage_info={"discount_coupon": {"threshold": 0, "percent_off": 100}})  # fmt: skip
    assert_error(pay, pay.create(body), 400, "PARAM_ERROR", "/single_usage_info/discount_coupon/percent_off")
    body["single_usage_info"]["discount_coupon"]["percent_off"] = 20
    assert pay.create(body).status_code == 200


def test_exchange_coupon_with_single_scope(pay: PayClient) -> None:
    """EXCHANGE works with scope=SINGLE and its exchange_coupon rule on the stock (B.2, B.4)."""
    body = product_body(pay.creds, unique("exch"), "SINGLE", type="EXCHANGE")
    body["stock"]["single_usage_rule"].pop("normal_coupon")
    body["stock"]["single_usage_rule"]["exchange_coupon"] = {"threshold": 0, "exchange_price": 100}
    assert pay.create(body).status_code == 200


def test_brand_not_authorised_is_403(pay: PayClient) -> None:
    """A brand that did not authorise the partner gets 403 NO_AUTH (E Family-2 item 4)."""
    assert_error(pay, pay.create(product_body(pay.creds, unique("brand"), brand_id="424242")), 403, "NO_AUTH")


def test_signature_problems_are_401_sign_error(pay: PayClient) -> None:
    """Wrong key, tampered body or URL, wrong mchid or serial, stale or future timestamps, bad headers: 401 (C.1)."""
    body = json.dumps(product_body(pay.creds, unique("sig"))).encode()
    other = generate_credentials()
    # Far outside the 300 s window on both sides, so no amount of time between here and the sandbox's check can
    # bring a timestamp back in (the exact 300/301 s boundary is pinned with an injected clock in test_inprocess.py).
    now = int(time.time())
    cases: list[httpx.Response] = [
        pay.send("POST", PRODUCTS, raw=body, key_pem=other.merchant_private_key_pem),
        pay.send("POST", PRODUCTS, raw=body, mchid="1900000000"),
        pay.send("POST", PRODUCTS, raw=body, serial_no="0" * 40),
        pay.send("POST", PRODUCTS, raw=body, timestamp=now - 3600),
        pay.send("POST", PRODUCTS, raw=body, timestamp=now + 3600),
    ]
    auth = pay.send("POST", PRODUCTS, raw=body).request.headers["authorization"]
    for headers, content, url in [
        ({"Authorization": auth}, body + b" ", PRODUCTS),  # body changed after signing
        ({"Authorization": auth}, body, PRODUCTS + "?x=1"),  # URL changed after signing
        ({}, body, PRODUCTS),
        (
            {"Authorization": auth.replace("WECHATPAY2-SHA256-RSA2048", "WECHATPAY-BRAND-SHA256-RSA2048")},
            body,
            PRODUCTS,
        ),
        ({"Authorization": "WECHATPAY2-SHA256-RSA2048 garbage"}, body, PRODUCTS),
        ({"Authorization": re.sub(r'signature="[^"]*"', 'signature="!!!"', auth)}, body, PRODUCTS),
    ]:
        cases.append(pay.http.post(pay.base + url, content=content, headers=headers))
    for response in cases:
        assert_error(pay, response, 401, "SIGN_ERROR")


def test_signed_get_with_query_is_verified_over_path_and_query(pay: PayClient) -> None:
    """The canonical URL includes `?query` exactly as sent (C.1): a signature over the path alone is refused."""
    pid = created(pay)["product_coupon_id"]
    url = f"{PRODUCTS}/{pid}?brand_id={pay.creds.brand_id}"

    bad = pay.http.get(
        pay.base + url, headers={"Authorization": authorization(pay.creds, "GET", f"{PRODUCTS}/{pid}", b"")}
    )
    assert_error(pay, bad, 401, "SIGN_ERROR")
    assert pay.get(pid).status_code == 200


def test_unknown_routes_methods_and_bodies_answer_apiv3_errors(pay: PayClient, served: ServedSandbox) -> None:
    """Unknown path 404, wrong method 405, malformed JSON 400 PARAM_ERROR: all APIv3-shaped and signed (B.11)."""
    assert_error(pay, pay.send("GET", "/v3/marketing/partner/product-coupon/list-everything"), 404, "NOT_FOUND")
    assert_error(pay, pay.send("GET", "/brand/marketing/product-coupon/everything"), 404, "NOT_FOUND", brand=True)
    assert_error(pay, pay.send("DELETE", f"{PRODUCTS}/1000000001"), 405, "METHOD_NOT_ALLOWED")
    assert_error(pay, pay.send("GET", PRODUCTS), 405, "METHOD_NOT_ALLOWED")
    assert_error(pay, pay.send("POST", PRODUCTS, raw=b"{nope"), 400, "PARAM_ERROR")
    assert_error(pay, pay.send("POST", PRODUCTS, raw=b"[]"), 400, "PARAM_ERROR")
    assert_error(pay, pay.send("POST", PRODUCTS, raw=b""), 400, "PARAM_ERROR")
    pid = created(pay)["product_coupon_id"]
    url = f"{PRODUCTS}/{pid}/stocks?brand_id={pay.creds.brand_id}"
    assert_error(pay, pay.send("GET", url + "&page_size=51"), 400, "PARAM_ERROR", "page_size")
    assert_error(pay, pay.send("GET", url + "&page_token=%21%21"), 400, "PARAM_ERROR", "page_token")
    assert_error(pay, pay.send("GET", url + "&state=LOST"), 400, "PARAM_ERROR", "state")
    assert_error(pay, pay.send("GET", f"{PRODUCTS}/{pid}/stocks/1?brand_id={pay.creds.brand_id}"), 404, "NOT_FOUND")


def test_auditing_coupons_wait_for_review(tmp_path_factory: pytest.TempPathFactory) -> None:
    """With AUDITING as the initial state, PATCH and deactivate are refused until the admin review (B.10)."""
    with (
        served_sandbox(tmp_path_factory.mktemp("auditing"), product_initial_state="AUDITING") as sbx,
        httpx.Client() as http,
    ):
        pay = PayClient(sbx.url, sbx.credentials, http)
        coupon = created(pay)
        pid = coupon["product_coupon_id"]
        assert coupon["state"] == "AUDITING" and coupon["stock"]["state"] == "AUDITING"
        patch = {"out_request_no": unique("p"), "display_info": display_info(), "brand_id": pay.creds.brand_id}
        assert_error(pay, pay.patch(pid, patch), 400, "INVALID_REQUEST")
        deactivate = {"out_request_no": unique("d"), "deactivate_reason": "x", "brand_id": pay.creds.brand_id}
        assert_error(pay, pay.deactivate(pid, deactivate), 400, "INVALID_REQUEST")
        assert sbx.review(pid)["state"] == "EFFECTIVE"
        assert pay.get(pid).json()["state"] == "EFFECTIVE"
        stock_id = coupon["stock"]["stock_id"]
        assert (
            pay.send("GET", f"{PRODUCTS}/{pid}/stocks/{stock_id}?brand_id={pay.creds.brand_id}").json()["state"]
            == "SENDING"
        )
        assert pay.patch(pid, {**patch, "out_request_no": unique("p")}).status_code == 200
        assert pay.deactivate(pid, deactivate).status_code == 200


def _bundle_body(pay: PayClient, count: int, steps: int, list_key: str = "normal_coupon_list") -> dict[str, Any]:
    bundle = stock()
    rule = bundle.pop("single_usage_rule")
    bundle["progressive_bundle_usage_rule"] = {
        "coupon_available_period": rule["coupon_available_period"],
        list_key: [{"threshold": 0, "discount_amount": 100} for _ in range(steps)],
    }
    body = product_body(pay.creds, unique("bundle"), "SINGLE", usage_mode="PROGRESSIVE_BUNDLE", stock_bundle=bundle,
                        progressive_bundle_usage_info={"count": count, "interval_days": 0})  # fmt: skip
    del body["stock"]
    return body


def test_progressive_bundle_rules(pay: PayClient) -> None:
    """count is 3-15, the step list matches count and type, and a bundle coupon takes no `stock` (B.2, B.4)."""
    assert_error(pay, pay.create(_bundle_body(pay, 2, 2)), 400, "PARAM_ERROR", "/progressive_bundle_usage_info/count")
    assert_error(pay, pay.create(_bundle_body(pay, 16, 16)), 400, "PARAM_ERROR", "/progressive_bundle_usage_info/count")
    assert_error(pay, pay.create(_bundle_body(pay, 3, 4)), 400, "PARAM_ERROR",
                 "/stock_bundle/progressive_bundle_usage_rule/normal_coupon_list")  # fmt: skip
    assert_error(pay, pay.create(_bundle_body(pay, 3, 3, "discount_coupon_list")), 400, "INVALID_REQUEST",
                 "/stock_bundle/progressive_bundle_usage_rule/discount_coupon_list")  # fmt: skip
    with_stock = _bundle_body(pay, 3, 3)
    with_stock["stock"] = stock()
    assert_error(pay, pay.create(with_stock), 400, "INVALID_REQUEST", "/stock")
    assert pay.create(_bundle_body(pay, 15, 15)).status_code == 200


def test_deactivate_errors(pay: PayClient) -> None:
    """Deactivate: unknown id 404, unauthorised brand 403, unknown fields and a long reason 400 (B.8)."""
    pid = created(pay)["product_coupon_id"]
    body = {"out_request_no": unique("d"), "deactivate_reason": "结束", "brand_id": pay.creds.brand_id}
    assert_error(pay, pay.deactivate("9999999999", body), 404, "NOT_FOUND")
    assert_error(pay, pay.deactivate(pid, {**body, "brand_id": "424242"}), 403, "NO_AUTH")
    assert_error(pay, pay.deactivate(pid, {**body, "state": "DEACTIVATED"}), 400, "PARAM_ERROR", "/state")
    assert_error(pay, pay.deactivate(pid, {**body, "deactivate_reason": "长" * 151}), 400, "PARAM_ERROR",
                 "/deactivate_reason")  # fmt: skip
    assert pay.get(pid).json()["state"] == "EFFECTIVE"


BRAND = "/brand/marketing/product-coupon/product-coupons"


def brand_send(pay: PayClient, method: str, url: str, body: Any = None, serial: str | None = None) -> httpx.Response:
    """A brand-route request: the `WECHATPAY-BRAND-SHA256-RSA2048 brand_id=...` scheme and Wechatpay-Serial (C.2)."""
    content = b"" if body is None else json.dumps(body).encode()
    auth = authorization(pay.creds, method, url, content).replace(
        f'WECHATPAY2-SHA256-RSA2048 mchid="{pay.creds.mchid}"',
        f'WECHATPAY-BRAND-SHA256-RSA2048 brand_id="{pay.creds.brand_id}"',
    )
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    if serial != "":
        headers["Wechatpay-Serial"] = serial or pay.creds.public_key_id
    return pay.http.request(method, pay.base + url, content=content, headers=headers)


def test_brand_routes_run_the_lifecycle_with_the_brand_scheme(pay: PayClient) -> None:
    """Brand routes take no brand_id, use the brand scheme and answer with WECHATPAY-BRAND-SHA256-RSA2048 (C.2)."""
    body = product_body(pay.creds, unique("brand"))
    del body["brand_id"]
    created = brand_send(pay, "POST", BRAND, body)
    assert created.status_code == 200, created.text
    assert_signed(pay, created, brand=True)
    pid = created.json()["product_coupon_id"]
    assert created.json()["brand_id"] == pay.creds.brand_id
    got = brand_send(pay, "GET", f"{BRAND}/{pid}")
    assert got.status_code == 200 and "stock" not in got.json()
    patch = {"out_request_no": unique("bp"), "display_info": display_info(name="品牌改名字")}
    assert brand_send(pay, "PATCH", f"{BRAND}/{pid}", patch).json()["display_info"]["name"] == "品牌改名字"
    stocks = brand_send(pay, "GET", f"{BRAND}/{pid}/stocks").json()
    assert stocks["total_count"] == 1
    ended = brand_send(
        pay, "POST", f"{BRAND}/{pid}/deactivate", {"out_request_no": unique("bd"), "deactivate_reason": "x"}
    )
    assert ended.json()["state"] == "DEACTIVATED"
    # A coupon the brand created itself is not the partner's (B.6: visible to the creating partner + brand only).
    assert_error(pay, pay.get(pid), 404, "NOT_FOUND")


def test_brand_route_errors(pay: PayClient) -> None:
    """Brand routes refuse the partner scheme (401), a missing Wechatpay-Serial (400) and a body brand_id (400)."""
    assert_error(pay, pay.send("GET", f"{BRAND}/1"), 401, "SIGN_ERROR", brand=True)
    assert_error(pay, brand_send(pay, "GET", f"{BRAND}/1", serial=""), 400, "PARAM_ERROR", "Wechatpay-Serial",
                 brand=True)  # fmt: skip
    assert_error(pay, brand_send(pay, "POST", BRAND, product_body(pay.creds, unique("bb"))), 400, "PARAM_ERROR",
                 "/brand_id", brand=True)  # fmt: skip
    assert_error(pay, brand_send(pay, "GET", f"{BRAND}/9999999999"), 404, "NOT_FOUND", brand=True)


def test_add_stock_and_deactivate_one_stock(pay: PayClient) -> None:
    """A SINGLE coupon takes more stocks; deactivating one stock leaves the coupon and the others alone (B.1, B.10)."""
    coupon = created(pay)
    pid = coupon["product_coupon_id"]
    number = unique("stock")
    added = pay.send("POST", f"{PRODUCTS}/{pid}/stocks", {"out_request_no": number, "brand_id": pay.creds.brand_id,
                                                           "stock": stock()})  # fmt: skip
    assert added.status_code == 200, added.text
    assert_signed(pay, added)
    second = added.json()
    assert second["stock_id"] == pid + "002" and second["state"] == "SENDING"
    replay = pay.send("POST", f"{PRODUCTS}/{pid}/stocks", {"out_request_no": number, "brand_id": pay.creds.brand_id,
                                                            "stock": stock()})  # fmt: skip
    assert replay.content == added.content
    end = {"out_request_no": unique("sd"), "deactivate_reason": "批次结束", "brand_id": pay.creds.brand_id}
    url = f"{PRODUCTS}/{pid}/stocks/{second['stock_id']}/deactivate"
    ended = pay.send("POST", url, end)
    assert ended.status_code == 200 and ended.json()["state"] == "DEACTIVATED"
    again = pay.send("POST", url, {**end, "out_request_no": unique("sd")})
    assert_error(pay, again, 400, "INVALID_REQUEST")
    assert again.headers["request-id"].endswith("-268577984")
    listing = pay.send("GET", f"{PRODUCTS}/{pid}/stocks?brand_id={pay.creds.brand_id}").json()
    assert [s["state"] for s in listing["stock_list"]] == ["SENDING", "DEACTIVATED"]
    assert pay.get(pid).json()["state"] == "EFFECTIVE"
    bad = {"out_request_no": unique("stock"), "brand_id": pay.creds.brand_id, "stock": stock()}
    del bad["stock"]["store_scope"]
    assert_error(pay, pay.send("POST", f"{PRODUCTS}/{pid}/stocks", bad), 400, "PARAM_ERROR", "/stock/store_scope")
    assert_error(pay, pay.send("POST", f"{PRODUCTS}/{pid}/stocks/{pid}999/deactivate", end | {"out_request_no":
                 unique("sd")}), 404, "NOT_FOUND")  # fmt: skip
    pay.deactivate(pid, {"out_request_no": unique("d"), "deactivate_reason": "x", "brand_id": pay.creds.brand_id})
    late = {"out_request_no": unique("stock"), "brand_id": pay.creds.brand_id, "stock": stock()}
    assert_error(pay, pay.send("POST", f"{PRODUCTS}/{pid}/stocks", late), 400, "INVALID_REQUEST")


UPLOAD = "/v3/marketing/partner/product-coupon/media/upload-image"


def multipart(meta: bytes, content: bytes, filename: str = "logo.png") -> tuple[bytes, str]:
    boundary = "sandbox-test-boundary"
    meta_head = 'Content-Disposition: form-data; name="meta"\r\nContent-Type: application/json'
    body = (
        f"--{boundary}\r\n{meta_head}\r\n\r\n".encode()
        + meta
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_image_upload_signs_the_meta_and_returns_a_usable_url(pay: PayClient) -> None:
    """Upload signs the meta JSON (C.1), checks its sha256, and the returned URL is accepted in display_info."""
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    meta = json.dumps({"filename": "logo.png", "sha256": hashlib.sha256(content).hexdigest()}).encode()
    body, content_type = multipart(meta, content)
    headers = {"Authorization": authorization(pay.creds, "POST", UPLOAD, meta), "Content-Type": content_type}
    response = pay.http.post(pay.base + UPLOAD, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert_signed(pay, response)
    url = response.json()["image_url"]
    coupon = product_body(pay.creds, unique("img"))
    coupon["display_info"]["image_url"] = url
    assert pay.create(coupon).status_code == 200
    whole = {"Authorization": authorization(pay.creds, "POST", UPLOAD, body), "Content-Type": content_type}
    assert_error(pay, pay.http.post(pay.base + UPLOAD, content=body, headers=whole), 401, "SIGN_ERROR")
    wrong = json.dumps({"filename": "logo.png", "sha256": "0" * 64}).encode()
    body, content_type = multipart(wrong, content)
    headers = {"Authorization": authorization(pay.creds, "POST", UPLOAD, wrong), "Content-Type": content_type}
    assert_error(pay, pay.http.post(pay.base + UPLOAD, content=body, headers=headers), 400, "PARAM_ERROR",
                 "meta.sha256")  # fmt: skip
    not_multipart = pay.send("POST", UPLOAD, {"filename": "x.png"})
    assert_error(pay, not_multipart, 400, "PARAM_ERROR", "Content-Type")
