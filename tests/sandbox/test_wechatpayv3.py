"""The third-party `wechatpayv3` SDK (pinned 2.0.4, reference Part D) against the served sandbox.

It signs its own requests and verifies every 2xx response signature, so passing here proves the sandbox speaks
real APIv3, not just our reading of it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.type import RequestType
from wechatpayv3.utils import load_public_key

from reconciler.sandbox import SandboxCredentials, generate_credentials, load_credentials
from tests.sandbox.helpers import PRODUCTS, display_info, product_body, unique
from tests.sandbox_server import ServedSandbox


def sdk(served: ServedSandbox, merchant_key: str | None = None) -> WeChatPay:
    """A WeChatPay client in public-key mode built only from the files in --keys-dir (reference D.3)."""
    keys = served.keys_dir
    meta = json.loads((keys / "sandbox.json").read_text())
    client = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=meta["mchid"],
        private_key=merchant_key or (keys / "merchant_private_key.pem").read_text(),
        cert_serial_no=meta["serial_no"],
        appid=meta["appid"],
        apiv3_key="0" * 32,
        partner_mode=True,
        public_key=(keys / "wechatpay_public_key.pem").read_text(),
        public_key_id=meta["public_key_id"],
        timeout=(5, 10),
    )
    client._core._gate_way = served.url  # the documented override (D.3)
    return client


def call(client: WeChatPay, path: str, method: RequestType, data: Any = None) -> tuple[int, dict[str, Any]]:
    code, text = client._core.request(path, method=method, data=data)
    return int(code), json.loads(text)


def creds_of(served: ServedSandbox) -> SandboxCredentials:
    return load_credentials(served.keys_dir)


def test_sdk_creates_reads_patches_and_deactivates(served: ServedSandbox) -> None:
    """wechatpayv3 runs the whole product-coupon lifecycle and accepts every response signature."""
    client = sdk(served)
    creds = creds_of(served)
    code, created = call(client, PRODUCTS, RequestType.POST, product_body(creds, unique("sdk"), "SINGLE"))
    assert code == 200
    pid = created["product_coupon_id"]
    assert created["stock"]["product_coupon_id"] == pid
    code, got = call(client, f"{PRODUCTS}/{pid}?brand_id={creds.brand_id}", RequestType.GET)
    assert code == 200 and got["state"] == "EFFECTIVE"
    new_display = display_info(name="SDK改过的名字", single=True)
    patch = {"out_request_no": unique("sdkp"), "display_info": new_display, "brand_id": creds.brand_id}
    code, patched = call(client, f"{PRODUCTS}/{pid}", RequestType.PATCH, patch)
    assert code == 200 and patched["display_info"] == new_display
    deactivate = {"out_request_no": unique("sdkd"), "deactivate_reason": "活动结束", "brand_id": creds.brand_id}
    code, ended = call(client, f"{PRODUCTS}/{pid}/deactivate", RequestType.POST, deactivate)
    assert code == 200 and ended["state"] == "DEACTIVATED"
    code, stocks = call(client, f"{PRODUCTS}/{pid}/stocks?brand_id={creds.brand_id}", RequestType.GET)
    assert code == 200 and [s["state"] for s in stocks["stock_list"]] == ["DEACTIVATED"]


def test_sdk_replayed_out_request_no_returns_the_same_coupon(served: ServedSandbox) -> None:
    """Re-sending a create with the same out_request_no through the SDK returns the same product_coupon_id."""
    client = sdk(served)
    body = product_body(creds_of(served), unique("sdkr"))
    _, first = call(client, PRODUCTS, RequestType.POST, body)
    code, second = call(client, PRODUCTS, RequestType.POST, body)
    assert code == 200
    assert second["product_coupon_id"] == first["product_coupon_id"]


def test_sdk_with_the_wrong_key_gets_401(served: ServedSandbox) -> None:
    """A request signed with a key the sandbox does not know is answered 401 SIGN_ERROR."""
    client = sdk(served, merchant_key=generate_credentials().merchant_private_key_pem)
    code, body = call(client, PRODUCTS, RequestType.POST, product_body(creds_of(served), unique("sdkw")))
    assert code == 401
    assert body["code"] == "SIGN_ERROR"


def test_sdk_rejects_a_response_signed_by_another_key(served: ServedSandbox) -> None:
    """The SDK's verification is real: with another WeChat Pay public key configured, it refuses the answers."""
    client = sdk(served)

    client._core._public_key = load_public_key(generate_credentials().wechatpay_public_key_pem)
    with pytest.raises(Exception, match="failed to verify the signature"):
        client._core.request(f"{PRODUCTS}/1000000001?brand_id={creds_of(served).brand_id}")
