"""ShopProvider against a hand-written Mini Program shop API (MockTransport): tokens, errcodes, paging, secrecy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from reconciler.config import Secret
from reconciler.errors import TransientUpstreamError, UpstreamError
from reconciler.plan.model import Call
from reconciler.providers.base import Provider
from reconciler.providers.shop import ShopProvider, request_id_of
from tests.providers.fake_shop import APPID, SECRET, FakeShop, answer

T = TypeVar("T")

COUPON = {
    "out_coupon_id": "d11-store-100-off-20",
    "type": 102,
    "promote_type": 4,
    "coupon_info": {"name": "双11满100减20", "discount_info": {"discount_fee": 2000}},
}
ADD = Call(operation="shop.add", payload={"coupon": COUPON}, target="d11-store-100-off-20")
ACTIVATE = Call(
    operation="shop.update_status",
    payload={"out_coupon_id": "d11-store-100-off-20", "status": 2},
    target="d11-store-100-off-20",
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(
    fake: FakeShop, body: Callable[[ShopProvider], Awaitable[T]], *, secret: str = SECRET, clock: Clock | None = None
) -> T:
    """Run `body` with a provider wired to `fake`, closing the client afterwards."""

    async def main() -> T:
        provider = ShopProvider(
            APPID,
            Secret(secret),
            "https://api.weixin.qq.com",
            transport=httpx.MockTransport(fake),
            clock=clock or Clock(),
        )
        try:
            return await body(provider)
        finally:
            await provider.aclose()

    return asyncio.run(main())


def coupon_calls(fake: FakeShop) -> list[tuple[str, str | None, dict[str, Any]]]:
    return [c for c in fake.calls if c[0].startswith("/shop/")]


def test_provider_satisfies_the_protocol() -> None:
    """ShopProvider is usable wherever a base.Provider is expected."""

    async def check(p: ShopProvider) -> str:
        provider: Provider = p
        return provider.family

    assert run(FakeShop(), check) == "shop"


def test_add_posts_payload_with_token_in_query() -> None:
    """add fetches a stable token, then posts exactly the payload to /shop/coupon/add?access_token=..."""
    fake = FakeShop()
    result = run(fake, lambda p: p.execute(ADD))
    assert result.operation == "shop.add"
    assert result.upstream_id == "d11-store-100-off-20"
    assert result.entity is None
    assert fake.calls[0] == (
        "/cgi-bin/stable_token",
        None,
        {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": False},
    )
    assert fake.calls[1] == ("/shop/coupon/add", fake.token, {"coupon": COUPON})
    assert fake.coupons["d11-store-100-off-20"]["status"] == 1


def test_token_is_fetched_once_per_run() -> None:
    """Consecutive calls reuse the cached token."""
    fake = FakeShop()

    async def scenario(p: ShopProvider) -> None:
        await p.execute(ADD)
        await p.execute(ACTIVATE)
        await p.read("d11-store-100-off-20")

    run(fake, scenario)
    assert fake.token_fetches == 1


def test_concurrent_calls_share_one_token_fetch() -> None:
    """Ten calls started together wait for one token fetch instead of fetching ten times."""
    fake = FakeShop()

    async def scenario(p: ShopProvider) -> None:
        await asyncio.gather(*(p.read(f"c{i}") for i in range(10)))

    run(fake, scenario)
    assert fake.token_fetches == 1


def test_token_is_refreshed_before_it_expires() -> None:
    """Within 300 s of expires_in the cached token is renewed before the next call."""
    fake = FakeShop(expires_in=7200)
    clock = Clock()

    async def scenario(p: ShopProvider) -> None:
        await p.execute(ADD)
        clock.now += 6800
        await p.execute(ACTIVATE)
        clock.now += 6899
        await p.read("d11-store-100-off-20")

    run(fake, scenario, clock=clock)
    assert fake.token_fetches == 2


def test_40001_refreshes_the_token_once_and_retries_once() -> None:
    """A token superseded elsewhere (40001) is refreshed once and the call succeeds on its second sending."""
    fake = FakeShop()

    async def scenario(p: ShopProvider) -> None:
        await p.execute(ADD)
        fake.rotate()
        await p.execute(ACTIVATE)

    run(fake, scenario)
    assert fake.token_fetches == 2
    assert [c[0] for c in coupon_calls(fake)] == [
        "/shop/coupon/add",
        "/shop/coupon/update_status",
        "/shop/coupon/update_status",
    ]
    assert fake.coupons["d11-store-100-off-20"]["status"] == 2


def test_42001_refreshes_the_token_once_and_retries_once() -> None:
    """An expired token (42001) is refreshed once and the call sent again with the new token."""
    fake = FakeShop()

    async def scenario(p: ShopProvider) -> Any:
        await p.execute(ADD)
        fake.expired = True
        return await p.read("d11-store-100-off-20")

    coupon = run(fake, scenario)
    assert coupon["out_coupon_id"] == "d11-store-100-off-20"
    assert fake.token_fetches == 2
    tokens = [c[1] for c in coupon_calls(fake)]
    assert tokens[1] != tokens[2] == fake.token


@pytest.mark.parametrize("code", [40001, 42001])
def test_token_refused_twice_is_an_error_after_exactly_one_refresh(code: int) -> None:
    """When the fresh token is refused too, the call fails: one refresh, two sendings, no loop."""
    fake = FakeShop()

    async def scenario(p: ShopProvider) -> None:
        await p.execute(ADD)
        fake.faults[:] = [lambda r: answer(code, "bad token"), lambda r: answer(code, "bad token")]
        await p.execute(ACTIVATE)

    with pytest.raises(UpstreamError) as info:
        run(fake, scenario)
    assert not isinstance(info.value, TransientUpstreamError)
    assert info.value.code == code
    assert "after one refresh" in str(info.value)
    assert fake.token_fetches == 2
    assert len(coupon_calls(fake)) == 3


@pytest.mark.parametrize("code", [-1, 300000, 45011, 990010])
def test_transient_errcodes_raise_transient_errors_with_rid(code: int) -> None:
    """-1, 300000, 45011 and 990010 are retryable; the rid from errmsg becomes the request id."""
    fake = FakeShop()
    fake.faults[:] = [lambda r: answer(code, "system busy")]
    with pytest.raises(TransientUpstreamError) as info:
        run(fake, lambda p: p.execute(ADD))
    err = info.value
    assert err.code == code
    assert err.call == "shop.add"
    assert err.request_id is not None and len(err.request_id) == 26
    assert err.request_id in str(err)


def test_daily_quota_is_not_transient_and_says_so() -> None:
    """45009 stops the run cleanly: a plain UpstreamError explaining the daily quota."""
    fake = FakeShop()
    fake.faults[:] = [lambda r: answer(45009, "reach max api daily quota limit")]
    with pytest.raises(UpstreamError) as info:
        run(fake, lambda p: p.execute(ADD))
    assert not isinstance(info.value, TransientUpstreamError)
    assert info.value.code == 45009
    assert "daily API quota" in str(info.value)


@pytest.mark.parametrize("code", [41001, 47001, 48001, 990009, 1090003])
def test_other_errcodes_are_plain_errors(code: int) -> None:
    """Any other non-zero errcode is a non-retryable UpstreamError carrying errcode, errmsg and rid."""
    fake = FakeShop()
    fake.faults[:] = [lambda r: answer(code, "something is wrong")]
    with pytest.raises(UpstreamError) as info:
        run(fake, lambda p: p.execute(ADD))
    assert type(info.value) is UpstreamError
    assert info.value.code == code
    assert "something is wrong" in info.value.upstream_message


@pytest.mark.parametrize(("status", "transient"), [(500, True), (502, True), (429, True), (403, False), (404, False)])
def test_http_statuses_map_to_error_kinds(status: int, transient: bool) -> None:
    """HTTP 429 / 5xx are transient; other non-200 statuses are plain errors."""
    fake = FakeShop()
    fake.faults[:] = [lambda r: httpx.Response(status, text="nope")]
    with pytest.raises(UpstreamError) as info:
        run(fake, lambda p: p.execute(ADD))
    assert isinstance(info.value, TransientUpstreamError) is transient
    assert info.value.http_status == status


def test_read_returns_coupon_and_none_when_unknown() -> None:
    """read gives the `coupon` object of get, and None for the not-found errcode."""
    fake = FakeShop()

    async def scenario(p: ShopProvider) -> tuple[Any, Any]:
        await p.execute(ADD)
        return await p.read("d11-store-100-off-20"), await p.read("no-such-coupon")

    found, missing = run(fake, scenario)
    assert found["coupon_info"]["name"] == "双11满100减20"
    assert missing is None
    assert coupon_calls(fake)[-1][2] == {"out_coupon_id": "no-such-coupon"}


def test_list_all_pages_by_offset_until_total_num() -> None:
    """get_list is paged 200 at a time by offset; activated coupons come with their coupon_stock."""
    fake = FakeShop()
    for i in range(450):
        fake.coupons[f"c{i:03d}"] = {"out_coupon_id": f"c{i:03d}", "status": 1}
    fake.stocks["c007"] = {"out_coupon_id": "c007", "stock_info": {"issued_num": 5, "receive_num": 1}}

    async def scenario(p: ShopProvider) -> list[Any]:
        return [c async for c in p.list_all()]

    coupons = run(fake, scenario)
    assert [c["out_coupon_id"] for c in coupons] == [f"c{i:03d}" for i in range(450)]
    assert coupons[7]["coupon_stock"]["stock_info"]["issued_num"] == 5
    assert "coupon_stock" not in coupons[8]
    assert [c[2] for c in coupon_calls(fake)] == [
        {"page_size": 200, "offset": 0},
        {"page_size": 200, "offset": 200},
        {"page_size": 200, "offset": 400},
    ]


def test_list_all_of_nothing_makes_one_call() -> None:
    """An empty shop answers total_num 0 and the walk stops after one page."""
    fake = FakeShop()

    async def scenario(p: ShopProvider) -> list[Any]:
        return [c async for c in p.list_all()]

    assert run(fake, scenario) == []
    assert len(coupon_calls(fake)) == 1


def test_wrong_app_secret_is_an_error_without_the_secret() -> None:
    """A refused app secret fails at stable_token with a message that does not contain the secret."""
    fake = FakeShop()
    with pytest.raises(UpstreamError) as info:
        run(fake, lambda p: p.execute(ADD), secret="not-the-secret-123")
    assert info.value.call == "stable_token"
    assert info.value.code == 40125
    assert "not-the-secret-123" not in str(info.value)
    assert coupon_calls(fake) == []


def url_leaking_failure(kind: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def fault(request: httpx.Request) -> httpx.Response:
        raise kind(f"failed talking to {request.url}", request=request)

    return fault


FAULTS: dict[str, Callable[[FakeShop], Callable[[httpx.Request], httpx.Response]]] = {
    "timeout": lambda f: url_leaking_failure(httpx.ReadTimeout),
    "connect": lambda f: url_leaking_failure(httpx.ConnectError),
    "dropped": lambda f: url_leaking_failure(httpx.RemoteProtocolError),
    "http500": lambda f: lambda r: httpx.Response(500, text=f"error at {r.url}"),
    "errcode": lambda f: lambda r: answer(-1, f"system error at {r.url}"),
    "echo": lambda f: lambda r: answer(47001, f"bad data access_token={f.token}"),
    "unsupported": lambda f: url_leaking_failure(httpx.UnsupportedProtocol),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_token_never_appears_in_errors_or_logs(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """Whatever fails, neither the access_token nor the app secret shows in the error, its repr or any log line."""
    caplog.set_level(logging.DEBUG)
    fake = FakeShop()
    fake.faults[:] = [FAULTS[name](fake)]
    with pytest.raises(UpstreamError) as info:
        run(fake, lambda p: p.execute(ADD))
    err = info.value
    texts = [str(err), repr(err), str(err.url), str(err.detail), caplog.text]
    texts += [r.getMessage() for r in caplog.records]
    assert fake.calls[-1][1] == fake.token  # the token really was sent
    for text in texts:
        assert fake.token not in text
        assert SECRET not in text
    assert err.__cause__ is None
    assert err.url is None or "access_token=REDACTED" in err.url


def test_httpx_request_log_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """httpx's own INFO line for each request shows the URL with the token replaced by REDACTED."""
    caplog.set_level(logging.INFO, logger="httpx")
    fake = FakeShop()
    run(fake, lambda p: p.execute(ADD))
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("/shop/coupon/add?access_token=REDACTED" in line for line in lines)
    assert fake.token not in caplog.text


def test_repr_hides_secret_and_token() -> None:
    """The provider's repr names the appid and base URL only."""
    fake = FakeShop()

    async def scenario(p: ShopProvider) -> str:
        await p.execute(ADD)
        return repr(p)

    text = run(fake, scenario)
    assert APPID in text
    assert SECRET not in text and fake.token not in text


def test_request_id_is_taken_from_errmsg() -> None:
    """The `rid: ...` suffix of an errmsg is the request id; messages without one give None."""
    assert request_id_of("system error rid: 62e3a0ae-67b34aff-6a420362") == "62e3a0ae-67b34aff-6a420362"
    assert request_id_of("ok") is None


def test_unknown_operation_is_refused_before_sending() -> None:
    """A product operation given to the shop provider is a programming error; nothing is sent."""
    fake = FakeShop()
    with pytest.raises(ValueError):
        run(fake, lambda p: p.execute(Call(operation="product.create", payload={})))
    assert fake.calls == []


@pytest.mark.parametrize(
    ("fault", "transient"),
    [
        (lambda r: answer(-1, "system error"), True),
        (lambda r: httpx.Response(503), True),
        (lambda r: answer(40164, "invalid ip 1.2.3.4, not in whitelist"), False),
    ],
)
def test_token_endpoint_failures_are_typed(fault: Callable[[httpx.Request], httpx.Response], transient: bool) -> None:
    """A failing stable_token is reported as call "stable_token", transient for -1 / 5xx, plain otherwise."""
    fake = FakeShop()
    fake.token_faults.append(fault)
    with pytest.raises(UpstreamError) as info:
        run(fake, lambda p: p.execute(ADD))
    assert info.value.call == "stable_token"
    assert isinstance(info.value, TransientUpstreamError) is transient
    assert coupon_calls(fake) == []


def test_concurrent_calls_refused_with_40001_share_one_refresh() -> None:
    """Five calls refused with the same superseded token trigger one token fetch between them, not five."""
    fake = FakeShop()

    async def scenario(p: ShopProvider) -> None:
        await p.execute(ADD)
        fake.rotate()
        await asyncio.gather(*(p.read("d11-store-100-off-20") for _ in range(5)))

    run(fake, scenario)
    assert fake.token_fetches == 2
    gets = [c for c in coupon_calls(fake) if c[0] == "/shop/coupon/get"]
    assert sum(1 for c in gets if c[1] == fake.token) == 5  # each read landed once, with the one new token


def test_malformed_answers_are_errors_not_crashes() -> None:
    """A token answer without access_token and a get answer without result are reported as UpstreamError."""
    fake = FakeShop()
    fake.token_faults.append(lambda r: httpx.Response(200, json={"expires_in": 7200}))
    with pytest.raises(UpstreamError, match="no access_token"):
        run(fake, lambda p: p.execute(ADD))
    fake.faults.append(lambda r: answer(0))
    with pytest.raises(UpstreamError, match=r"no result\.coupon"):
        run(fake, lambda p: p.read("x"))
    fake.faults.append(lambda r: httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(UpstreamError, match="not a JSON object"):
        run(fake, lambda p: p.read("x"))
