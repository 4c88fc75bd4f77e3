"""Rate limits, fault injection and the admin call log, against a served sandbox (design §3.1, reference B.12, A.10)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

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


def hammer(send: Callable[[], bool], seconds: float) -> tuple[int, int, float]:
    """Send as fast as possible for `seconds`; returns (accepted, refused, elapsed)."""

    accepted = refused = 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if send():
            accepted += 1
        else:
            refused += 1
    return accepted, refused, time.monotonic() - start


def test_burst_above_the_limit_is_refused_at_the_configured_rate(served: ServedSandbox, pay: PayClient) -> None:
    """With product.get at 5/s, a 1.2 s burst gets about 5 + 5 x 1.2 answers and 429 RATELIMIT_EXCEEDED for the rest."""
    pid = pay.create(product_body(pay.creds, unique("rl"))).json()["product_coupon_id"]
    served.set_limits({"product.get": 5})
    codes: list[str] = []

    def send() -> bool:
        response = pay.get(pid)
        if response.status_code == 429:
            codes.append(response.json()["code"])
            return False
        assert response.status_code == 200
        return True

    try:
        accepted, refused, elapsed = hammer(send, 1.2)
    finally:
        served.set_limits({"product.get": 20})
    assert refused > 20
    assert set(codes) == {"RATELIMIT_EXCEEDED"}
    expected = 5 + 5 * elapsed
    assert expected - 1.5 <= accepted <= expected + 1.5, (accepted, elapsed)


def test_shop_burst_is_refused_with_errcode_300000(served: ServedSandbox, shop: ShopClient) -> None:
    """Shop operations over their limit answer HTTP 200 with errcode 300000 (reference A.8 / A.10)."""
    shop.fetch_token()
    served.set_limits({"shop.get_list": 4})
    results: list[int] = []

    def send() -> bool:
        code = int(shop.call("get_list", {"page_size": 1})["errcode"])
        results.append(code)
        return code == 0

    try:
        accepted, _refused, elapsed = hammer(send, 0.6)
    finally:
        served.set_limits({"shop.get_list": 800 / 30})
    assert set(results) == {0, 300000}
    assert 4 + 4 * elapsed - 1.5 <= accepted <= 4 + 4 * elapsed + 1.5


def test_a_client_pacing_at_the_limit_never_sees_a_429(served: ServedSandbox, pay: PayClient) -> None:
    """A client sending exactly R requests per second after a full burst is never refused (token bucket)."""
    served.set_limits({"product.get": 10})
    try:
        statuses = []
        start = time.monotonic()
        for i in range(20):
            delay = start + i * 0.1 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            statuses.append(pay.get("9999999999").status_code)
    finally:
        served.set_limits({"product.get": 20})
    assert statuses == [404] * 20


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
