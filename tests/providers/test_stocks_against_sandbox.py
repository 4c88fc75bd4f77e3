"""The stock and bundle calls of WechatPayProvider against the in-process sandbox (decision D29; reference B.1, B.4,
B.11): real signatures both ways, the sandbox's clock injected (nothing here reads today's date)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from reconciler.errors import TransientUpstreamError, UpstreamError
from reconciler.plan.model import Call, Operation
from reconciler.providers.pacing import Pacer, retry_call
from reconciler.providers.wechatpay import WechatPayProvider
from reconciler.sandbox import OPERATIONS, SandboxConfig, create_app
from tests.sandbox.helpers import display_info
from tests.sandbox.stock_support import CREDS, Clock, bundle_body, stock_body

T = TypeVar("T")
BASE_URL = "http://sandbox.test"


@dataclass
class World:
    product: WechatPayProvider
    admin: httpx.AsyncClient
    numbers: int = 0

    def call(self, operation: Operation, body: dict[str, Any], **kw: Any) -> Call:
        self.numbers += 1
        number = f"stock-test-{self.numbers:04d}"
        payload = {"out_request_no": number, "brand_id": CREDS.brand_id, **body}
        return Call(operation, payload, out_request_no=number, **kw)

    async def coupon(self, *, bundle: bool = False) -> str:
        body: dict[str, Any] = {
            "scope": "ALL",
            "type": "NORMAL",
            "display_info": display_info(),
        }
        if bundle:
            body.update(
                usage_mode="PROGRESSIVE_BUNDLE",
                progressive_bundle_usage_info={"count": 3, "interval_days": 0},
                stock_bundle=bundle_body(3),
            )
        else:
            body.update(
                usage_mode="SINGLE",
                single_usage_info={"normal_coupon": {"threshold": 10000, "discount_amount": 1000}},
                stock=stock_body(),
            )
        created = await self.product.execute(self.call("product.create", body))
        assert created.upstream_id is not None
        return created.upstream_id

    async def faults(self, *rules: dict[str, Any]) -> None:
        (await self.admin.put("/_sandbox/faults", json={"faults": list(rules)})).raise_for_status()

    async def calls(self, operation: str) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = (await self.admin.get("/_sandbox/calls")).json()["calls"]
        return [c for c in calls if c["operation"] == operation]


@asynccontextmanager
async def world() -> AsyncIterator[World]:
    clock = Clock()
    config = SandboxConfig(clock=clock, rate_limits={op: 1_000_000.0 for op in OPERATIONS})
    app = create_app(CREDS, config)
    transport = httpx.ASGITransport(app=app)
    product = WechatPayProvider(
        CREDS.mchid,
        CREDS.merchant_serial_no,
        CREDS.merchant_private_key_pem.encode(),
        CREDS.public_key_id,
        CREDS.wechatpay_public_key_pem.encode(),
        BASE_URL,
        CREDS.brand_id,
        transport=transport,
        clock=clock,
    )
    admin = httpx.AsyncClient(base_url=BASE_URL, transport=transport)
    try:
        yield World(product, admin)
    finally:
        await product.aclose()
        await admin.aclose()
        app.state.sandbox.close()


def run(scenario: Callable[[World], Awaitable[T]]) -> T:
    async def main() -> T:
        async with world() as w:
            return await scenario(w)

    return asyncio.run(main())


def test_add_patch_raise_list_and_deactivate_a_stock() -> None:
    """Every stock call of a SINGLE coupon, signed and verified; answers are the stock as it is after the call."""

    async def scenario(w: World) -> dict[str, Any]:
        pid = await w.coupon()
        added = await w.product.execute(
            w.call("product.stock.add", {"stock": stock_body()}, target=pid, stock_name="weekend")
        )
        assert added.entity is not None
        sid = str(added.entity["stock_id"])
        patched = await w.product.execute(
            w.call("product.stock.patch", {"remark": "周末"}, target=pid, stock_name="weekend", stock_id=sid)
        )
        budget = {"update_mode": "MAX_COUNT", "current_max_count": 1000, "target_max_count": 5000}
        raised = await w.product.execute(
            w.call("product.stock.update_budget", budget, target=pid, stock_name="weekend", stock_id=sid)
        )
        listed = await w.product.read_stocks(pid)
        gone = await w.product.execute(
            w.call(
                "product.stock.deactivate", {"deactivate_reason": "removed"}, target=pid, stock_name="weekend",
                stock_id=sid,
            )
        )  # fmt: skip
        return {"added": added, "patched": patched, "raised": raised, "listed": listed, "gone": gone, "pid": pid}

    out = run(scenario)
    added = out["added"]
    assert added.upstream_id == out["pid"] and added.request_id
    assert added.entity["state"] == "SENDING" and added.entity["product_coupon_id"] == out["pid"]
    assert out["patched"].entity["remark"] == "周末"
    assert out["raised"].entity["stock_send_rule"]["max_count"] == 5000
    assert [s["stock_id"] for s in out["listed"]][1:] == [added.entity["stock_id"]]
    assert out["gone"].entity["state"] == "DEACTIVATED"


def test_a_refused_budget_names_the_stock_the_code_and_the_request_id() -> None:
    """A stale current_max_count is a definitive refusal (not retried): the error names the call and the stock, the
    WeChat code and the Request-ID (reference B.11)."""

    async def scenario(w: World) -> UpstreamError:
        pid = await w.coupon()
        [main] = await w.product.read_stocks(pid)
        budget = {"update_mode": "MAX_COUNT", "current_max_count": 999, "target_max_count": 5000}
        call = w.call("product.stock.update_budget", budget, target=pid, stock_name="main", stock_id=main["stock_id"])
        with pytest.raises(UpstreamError) as info:
            await w.product.execute(call)
        return info.value

    err = run(scenario)
    assert not isinstance(err, TransientUpstreamError)
    assert err.http_status == 400 and err.code and err.request_id
    text = str(err.with_address("product_coupon.coffee"))
    assert "product_coupon.coffee" in text and "product.stock.update_budget (stock main)" in text
    assert f"code {err.code}" in text and err.request_id in text


@pytest.mark.parametrize(
    ("operation", "sandbox_operation"),
    [("product.stock.update_budget", "product.stocks.update_budget"), ("product.stock.add", "product.stocks.create")],
)
def test_429_and_500_on_stock_calls_are_retried_with_the_same_number(operation: str, sandbox_operation: str) -> None:
    """Injected 429 and 500 are transient; the retries carry the same out_request_no and the change lands once."""

    async def scenario(w: World) -> tuple[list[dict[str, Any]], list[Any]]:
        pid = await w.coupon()
        [main] = await w.product.read_stocks(pid)
        await w.faults(
            {"operation": sandbox_operation, "kind": "http_status", "value": 429, "count": 1},
            {"operation": sandbox_operation, "kind": "errcode", "value": "SYSTEM_ERROR", "count": 1},
        )
        if operation == "product.stock.add":
            call = w.call("product.stock.add", {"stock": stock_body()}, target=pid, stock_name="weekend")
        else:
            budget = {"update_mode": "MAX_COUNT", "current_max_count": 1000, "target_max_count": 5000}
            call = w.call(operation, budget, target=pid, stock_name="main", stock_id=main["stock_id"])  # type: ignore[arg-type]
        await retry_call(lambda: w.product.execute(call), sleep=lambda s: asyncio.sleep(0))
        return await w.calls(sandbox_operation), await w.product.read_stocks(pid)

    calls, stocks = run(scenario)
    assert [c.get("code") for c in calls][:2] == ["RATELIMIT_EXCEEDED", "SYSTEM_ERROR"] and len(calls) == 3
    assert len({c.get("out_request_no") for c in calls}) == 1
    if operation == "product.stock.add":
        assert len(stocks) == 2
    else:
        assert stocks[0]["stock_send_rule"]["max_count"] == 5000


def test_read_stocks_pages_through_the_list_paced_per_page() -> None:
    """52 stocks are two pages of list-stocks (B.4: at most 50 a page); each page waits for its pacing slot."""
    waits: list[str] = []

    async def scenario(w: World) -> list[Any]:
        pid = await w.coupon()
        for _ in range(51):
            await w.product.execute(w.call("product.stock.add", {"stock": stock_body()}, target=pid))
        pacer = Pacer({})

        async def before_page() -> None:
            waits.append("page")

        return await w.product.read_stocks(pid, before_page=before_page, retry=pacer.retry)

    stocks = run(scenario)
    assert len(stocks) == 52 and len({s["stock_id"] for s in stocks}) == 52
    assert waits == ["page", "page"]


def test_bundle_add_patch_and_budget() -> None:
    """A PROGRESSIVE_BUNDLE coupon: add a bundle, change its remark, raise its budget (answers `{stock_bundle_id,
    stock_list}`), and deactivate one of its step stocks with the stock call."""

    async def scenario(w: World) -> dict[str, Any]:
        pid = await w.coupon(bundle=True)
        added = await w.product.execute(
            w.call("product.bundle.add", {"stock_bundle": bundle_body(3)}, target=pid, stock_name="more")
        )
        assert added.entity is not None
        bid = str(added.entity["stock_bundle_id"])
        patched = await w.product.execute(
            w.call("product.bundle.patch", {"remark": "加码"}, target=pid, stock_name="more", stock_id=bid)
        )
        budget = {"update_mode": "MAX_COUNT", "current_max_count": 1000, "target_max_count": 3000}
        raised = await w.product.execute(
            w.call("product.bundle.update_budget", budget, target=pid, stock_name="more", stock_id=bid)
        )
        step = str(added.entity["stock_list"][0]["stock_id"])
        gone = await w.product.execute(
            w.call(
                "product.stock.deactivate", {"deactivate_reason": "removed"}, target=pid, stock_name="more",
                stock_id=step,
            )
        )  # fmt: skip
        return {"added": added, "patched": patched, "raised": raised, "gone": gone}

    out = run(scenario)
    assert len(out["added"].entity["stock_list"]) == 3
    assert {s["remark"] for s in out["patched"].entity["stock_list"]} == {"加码"}
    assert {s["stock_send_rule"]["max_count"] for s in out["raised"].entity["stock_list"]} == {3000}
    assert out["gone"].entity["state"] == "DEACTIVATED"


def test_a_stock_call_without_its_ids_is_refused_before_anything_is_sent() -> None:
    async def scenario(w: World) -> None:
        call = w.call("product.stock.patch", {"remark": "x"}, target="1", stock_name="main")
        with pytest.raises(ValueError, match="stock_id"):
            await w.product.execute(call)
        with pytest.raises(ValueError, match="product_coupon_id"):
            await w.product.execute(w.call("product.stock.add", {"stock": stock_body()}, stock_name="main"))

    run(scenario)
