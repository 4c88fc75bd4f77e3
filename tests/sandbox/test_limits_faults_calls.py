"""Rate limits, fault injection and the admin call log, on a served sandbox (contract §3.1, reference B.12, A.10)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.sandbox.helpers import PRODUCTS, PayClient, ShopClient, product_body, shop_coupon, unique
from tests.sandbox_server import ServedSandbox, served_sandbox


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSandbox]:
    """A sandbox with the documented default limits (overriding the generous conftest one)."""
    with served_sandbox(tmp_path_factory.mktemp("limits")) as sbx:
        yield sbx


@pytest.fixture(autouse=True)
def no_faults(served: ServedSandbox) -> Iterator[None]:
    served.set_faults([])
    yield
    served.set_faults([])


def test_limits_set_through_the_admin_api_refuse_on_both_families(
    served: ServedSandbox, pay: PayClient, shop: ShopClient
) -> None:
    """Over real HTTP, a limit set with PUT /_sandbox/limits refuses the call after the burst: 429
    RATELIMIT_EXCEEDED for WeChat Pay, HTTP 200 with errcode 300000 for the shop. The rate is so low (one call per
    1000 s) that no refill can happen during the test, however slow the machine; the exact bucket arithmetic is
    pinned with an injected clock in test_inprocess.py."""
    shop.fetch_token()
    assert served.set_limits({"product.get": 0.001, "shop.get_list": 0.001})["product.get"] == 0.001
    try:
        assert pay.get("9999999999").status_code == 404
        refused = pay.get("9999999999")
        assert refused.status_code == 429 and refused.json()["code"] == "RATELIMIT_EXCEEDED"
        assert shop.call("get_list", {"page_size": 1})["errcode"] == 0
        assert shop.call("get_list", {"page_size": 1})["errcode"] == 300000
    finally:
        served.set_limits({"product.get": 20, "shop.get_list": 800 / 30})
    assert pay.get("9999999999").status_code == 404
    assert shop.call("get_list", {"page_size": 1})["errcode"] == 0


def test_call_log_matches_what_was_sent(served: ServedSandbox, shop: ShopClient, pay: PayClient) -> None:
    """The admin call log lists each call in order with operation, method, redacted path, status and code."""
    served.clear_calls()
    token = shop.fetch_token()
    out_coupon_id = unique("log")
    shop.call("add", {"coupon": shop_coupon(out_coupon_id)})
    shop.call("get", {"out_coupon_id": "nope"})
    number = unique("logreq")
    created = pay.create(product_body(pay.creds, number)).json()
    pay.get("9999999999")
    shop.http.post(served.url + "/shop/coupon/unknown", json={})
    calls = served.calls()
    assert [c["seq"] for c in calls] == sorted(c["seq"] for c in calls)
    summary = [(c["operation"], c["method"], c["http_status"], c.get("errcode", c.get("code"))) for c in calls]
    assert summary == [
        ("token", "GET", 200, 0),
        ("shop.add", "POST", 200, 0),
        ("shop.get", "POST", 200, 1090057),
        ("product.create", "POST", 200, None),
        ("product.get", "GET", 404, "NOT_FOUND"),
        ("unknown", "POST", 200, 40066),
    ]
    assert calls[1]["path"] == "/shop/coupon/add?access_token=REDACTED"
    assert token not in str(calls)
    assert shop.creds.app_secret not in str(calls)
    assert calls[3]["out_request_no"] == number
    assert calls[3]["path"] == PRODUCTS
    assert created["product_coupon_id"]
    assert served.clear_calls() == 6
    assert served.calls() == []


def test_errcode_fault_by_count_then_recovers(served: ServedSandbox, shop: ShopClient) -> None:
    """An errcode fault answers the next N matching calls without performing them, then the API works again."""
    served.set_faults([{"operation": "shop.add", "kind": "errcode", "value": 45009, "count": 2}])
    out_coupon_id = unique("fault")
    codes = [shop.call("add", {"coupon": shop_coupon(out_coupon_id)})["errcode"] for _ in range(3)]
    assert codes == [45009, 45009, 0]
    assert shop.call("get", {"out_coupon_id": out_coupon_id})["errcode"] == 0


def test_http_status_faults_on_both_families(served: ServedSandbox, shop: ShopClient, pay: PayClient) -> None:
    """http_status faults answer that status: shop with errcode -1, WeChat Pay with a signed APIv3 error body."""
    served.set_faults([
        {"operation": "product.*", "kind": "http_status", "value": 503, "count": 1},
        {"operation": "shop.get_list", "kind": "http_status", "value": 502, "count": 1},
        {"operation": "product.get", "kind": "errcode", "value": "SYSTEM_ERROR", "count": 1},
    ])  # fmt: skip
    failed = pay.create(product_body(pay.creds, unique("f503")))
    assert failed.status_code == 503 and failed.json()["code"] == "SERVICE_UNAVAILABLE"
    assert "wechatpay-signature" in failed.headers
    system = pay.get("1")
    assert system.status_code == 500 and system.json()["code"] == "SYSTEM_ERROR"
    shop.fetch_token()
    response = shop.http.post(f"{shop.base}/shop/coupon/get_list", params={"access_token": shop.token},
                              json={"page_size": 1})  # fmt: skip
    assert response.status_code == 502 and response.json()["errcode"] == -1
    assert served.set_faults([]) == []


def test_latency_and_timeout_faults(served: ServedSandbox, pay: PayClient) -> None:
    """latency delays the answer; timeout hangs past the client's timeout and performs nothing."""
    served.set_faults([{"operation": "product.get", "kind": "latency", "value": 0.3, "count": 1}])
    start = time.monotonic()
    assert pay.get("9999999999").status_code == 404
    assert time.monotonic() - start >= 0.3
    number = unique("tmo")
    served.set_faults([{"operation": "product.create", "kind": "timeout", "value": 2, "count": 1}])
    before = len(served.state()["product_coupons"])
    with httpx.Client(timeout=0.3) as quick, pytest.raises(httpx.ReadTimeout):
        PayClient(pay.base, pay.creds, quick).create(product_body(pay.creds, number))
    assert len(served.state()["product_coupons"]) == before
    retried = pay.create(product_body(pay.creds, number))
    assert retried.status_code == 200
    assert len(served.state()["product_coupons"]) == before + 1


def test_drop_after_commit_commits_then_drops_and_a_retry_converges(served: ServedSandbox, pay: PayClient) -> None:
    """drop_after_commit performs the create, drops the connection, and the same out_request_no replays it."""
    served.set_faults([{"operation": "product.create", "kind": "drop_after_commit", "count": 1}])
    body = product_body(pay.creds, unique("drop"))
    before = len(served.state()["product_coupons"])
    with pytest.raises(httpx.TransportError):
        pay.create(body)
    after = served.state()["product_coupons"]
    assert len(after) == before + 1
    retried = pay.create(body)
    assert retried.status_code == 200
    assert retried.json()["product_coupon_id"] == after[-1]["product_coupon_id"]
    assert len(served.state()["product_coupons"]) == before + 1
    dropped = [c for c in served.calls() if c.get("dropped")]
    assert dropped and dropped[-1]["operation"] == "product.create"


def test_rate_faults_are_deterministic_with_a_seed(served: ServedSandbox, pay: PayClient) -> None:
    """A rate fault with a seed fails the same calls every time it is installed."""
    patterns = []
    for _ in range(2):
        served.set_faults([{"operation": "product.get", "kind": "http_status", "value": 500, "rate": 0.5, "seed": 7}])
        patterns.append([pay.get("9999999999").status_code for _ in range(12)])
    assert patterns[0] == patterns[1]
    assert set(patterns[0]) == {404, 500}


def test_bad_fault_and_limit_specs_are_refused(served: ServedSandbox) -> None:
    """The admin API validates fault rules and limits with a 400 and a message."""
    client = httpx.Client()
    try:
        for body in ([{"kind": "explode"}], [{"kind": "http_status", "value": 200}], {"faults": "x"},
                     [{"kind": "errcode", "value": 1, "count": 0}]):  # fmt: skip
            response = client.put(served.url + "/_sandbox/faults", json=body)
            assert response.status_code == 400 and response.json()["error"]
        response = client.put(served.url + "/_sandbox/limits", json={"rate_limits": {"product.get": "fast"}})
        assert response.status_code == 400
        response = client.put(served.url + "/_sandbox/limits", json={"rate_limits": {"product.craete": 5}})
        assert response.status_code == 400 and "unknown operations: product.craete" in response.json()["error"]
        assert client.get(served.url + "/_sandbox/nothing").status_code == 404
    finally:
        client.close()
