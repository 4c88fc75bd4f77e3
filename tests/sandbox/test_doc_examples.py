"""The doc pages' own request examples are accepted by the sandbox verbatim (issue 15).

The bodies in tests/sandbox/doc_examples/ are copied from the official pages: the /shop/coupon/add and
/shop/coupon/update request examples (reference A.6.1, A.6.2) and the product-coupon PATCH `-d` body (reference
B.7; the page's line numbers removed). The add example carries two `//` annotations, which the wire format cannot
(A.1: strictly valid JSON, 47001 otherwise): the test removes exactly those two and nothing else.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from reconciler.sandbox import SandboxConfig, create_app, generate_credentials
from tests.sandbox.helpers import PRODUCTS, product_body, unique
from tests.sandbox.inprocess_client import InProcess

EXAMPLES = Path(__file__).resolve().parent / "doc_examples"
DOC_BRAND = "120344"  # the brand_id of the PATCH example
CREDS = generate_credentials()
_COMMENT = re.compile(r"[ \t]*//[^\n]*")


def run(scenario: Callable[[InProcess], Awaitable[None]]) -> None:
    """`scenario` against a fresh in-process sandbox that also knows the doc example's brand."""
    app = create_app(CREDS, SandboxConfig(extra_brand_ids=(DOC_BRAND,)))

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
            await scenario(InProcess(client, CREDS))

    asyncio.run(main())
    app.state.sandbox.close()


def add_example_without_annotations() -> bytes:
    text = (EXAMPLES / "shop-coupon-add.request.jsonc").read_text(encoding="utf-8")
    assert _COMMENT.findall(text) == ["  // 视频号", "  // 1:商品指定时间区间,2:生效天数,3:生效秒数"]
    return _COMMENT.sub("", text).encode("utf-8")


def test_the_shop_add_example_is_accepted_verbatim_and_stored_as_sent() -> None:
    """The /shop/coupon/add example (a type 101 sending every discount field) is accepted, and `get` returns it."""
    body = add_example_without_annotations()

    async def scenario(sandbox: InProcess) -> None:
        assert await sandbox.shop("add", body) == {"errcode": 0, "errmsg": "ok"}
        got = await sandbox.shop("get", {"out_coupon_id": "coupon_id_1"})
        coupon = got["result"]["coupon"]
        sent = json.loads(body)["coupon"]
        assert coupon["status"] == 1
        assert {k: coupon[k] for k in sent} == sent

    run(scenario)


def test_the_shop_add_example_with_its_annotations_is_refused_as_not_json() -> None:
    """Sent with the page's `//` annotations, the body is not JSON: 47001 data format error (A.1, A.8)."""
    raw = (EXAMPLES / "shop-coupon-add.request.jsonc").read_bytes()

    async def scenario(sandbox: InProcess) -> None:
        assert (await sandbox.shop("add", raw))["errcode"] == 47001

    run(scenario)


def test_the_shop_update_example_is_accepted_verbatim() -> None:
    """After the add example, the /shop/coupon/update example body (no annotations) is accepted byte for byte."""
    body = (EXAMPLES / "shop-coupon-update.request.json").read_bytes()

    async def scenario(sandbox: InProcess) -> None:
        assert (await sandbox.shop("add", add_example_without_annotations()))["errcode"] == 0
        assert (await sandbox.shop("update", body))["errcode"] == 0

    run(scenario)


def test_the_product_patch_example_is_accepted_verbatim() -> None:
    """The PATCH example body (original_price and combo_package_list on display_info) is accepted on a scope ALL
    coupon of the example's brand, and the answer carries its display_info."""
    body = (EXAMPLES / "product-coupon-patch.request.json").read_bytes()

    async def scenario(sandbox: InProcess) -> None:
        created = await sandbox.create_product(product_body(CREDS, unique("doc-patch"), brand_id=DOC_BRAND))
        assert created.status_code == 200, created.text
        pid = created.json()["product_coupon_id"]
        patched = await sandbox.pay("PATCH", f"{PRODUCTS}/{pid}", body)
        assert patched.status_code == 200, patched.text
        assert patched.json()["scope"] == "ALL"
        assert patched.json()["display_info"] == json.loads(body)["display_info"]

    run(scenario)
