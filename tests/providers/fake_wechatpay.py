"""A hand-written WeChat Pay for `httpx.MockTransport`: checks our request signatures, signs its answers.

It plays the partner product-coupon API just enough to drive `WechatPayProvider` (reference B.5-B.8, C.1, C.4). Tests
queue one-shot `faults` (functions of the request returning a response or raising an httpx error) to play failures.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.providers.keys import KeyPair, keypair

MCHID = "1900000001"
SERIAL_NO = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006"
BRAND_ID = "120344"
BASE = "/v3/marketing/partner/product-coupon/product-coupons"

_AUTH = re.compile(r"^WECHATPAY2-SHA256-RSA2048 (.+)$")
_PAIR = re.compile(r'(\w+)="([^"]*)"')

Fault = Callable[[httpx.Request], httpx.Response]


@dataclass
class Received:
    method: str
    raw_path: bytes
    body: bytes
    headers: httpx.Headers


@dataclass
class FakeWechatPay:
    """The upstream: coupons by id, a log of received requests, and faults to play before normal handling."""

    merchant: KeyPair = field(default_factory=lambda: keypair("merchant"))
    platform: KeyPair = field(default_factory=lambda: keypair("wechatpay"))
    clock: Callable[[], float] = time.time
    coupons: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    next_id: int = 1000000013

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.received.append(Received(request.method, request.url.raw_path, body, request.headers))
        if self.faults:
            return self.faults.pop(0)(request)
        problem = self.check_signature(request, body)
        if problem:
            return self.error(401, "SIGN_ERROR", problem)
        return self.route(request, body)

    # -- C.1, from the server's side ------------------------------------------------------------------------------
    def check_signature(self, request: httpx.Request, body: bytes) -> str | None:
        match = _AUTH.match(request.headers.get("Authorization", ""))
        if not match:
            return "missing or foreign Authorization scheme"
        pairs = dict(_PAIR.findall(match.group(1)))
        if pairs.get("mchid") != MCHID or pairs.get("serial_no") != SERIAL_NO:
            return "unknown mchid or serial_no"
        if abs(self.clock() - int(pairs.get("timestamp", "0"))) > 300:
            return "stale timestamp"
        message = (
            f"{request.method}\n".encode()
            + request.url.raw_path
            + f"\n{pairs['timestamp']}\n{pairs['nonce_str']}\n".encode()
            + body
            + b"\n"
        )
        try:
            self.merchant.public.verify(
                base64.b64decode(pairs.get("signature", "")), message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return "signature does not match"
        return None

    # -- C.4, signing answers --------------------------------------------------------------------------------------
    def signed(self, status: int, payload: Any, *, business_code: str = "0") -> httpx.Response:
        content = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        timestamp = str(int(self.clock()))
        nonce = secrets.token_hex(16)
        signature = self.platform.private.sign(
            f"{timestamp}\n{nonce}\n".encode() + content + b"\n", padding.PKCS1v15(), hashes.SHA256()
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Request-ID": f"08E68E97CC0610DF0618AC86BCA80120082880CF05-{business_code}",
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(signature).decode(),
            "Wechatpay-Serial": PUBLIC_KEY_ID,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }
        return httpx.Response(status, content=content, headers=headers)

    def error(
        self, status: int, code: str, message: str, *, detail: Any = None, business_code: str = "268435461"
    ) -> httpx.Response:
        body: dict[str, Any] = {"code": code, "message": message}
        if detail is not None:
            body["detail"] = detail
        return self.signed(status, body, business_code=business_code)

    # -- B.5-B.8 ---------------------------------------------------------------------------------------------------
    def route(self, request: httpx.Request, body: bytes) -> httpx.Response:
        path = request.url.path
        data: dict[str, Any] = json.loads(body) if body else {}
        if request.method == "POST" and path == BASE:
            coupon_id = str(self.next_id)
            self.next_id += 1
            entity = {k: v for k, v in data.items() if k not in ("out_request_no", "stock")}
            entity.update(product_coupon_id=coupon_id, state="EFFECTIVE")
            self.coupons[coupon_id] = entity
            stock = dict(data.get("stock", {}), stock_id=f"{coupon_id}001", state="SENDING")
            return self.signed(200, {**entity, "stock": stock})
        match = re.fullmatch(BASE + r"/([^/]+)(/deactivate)?", path)
        coupon = self.coupons.get(match.group(1)) if match else None
        if match is None or coupon is None:
            return self.error(404, "NOT_FOUND", "当前访问对象不存在", business_code="268578608")
        if request.method == "GET" and not match.group(2):
            if request.url.params.get("brand_id") != coupon["brand_id"]:
                return self.error(404, "NOT_FOUND", "当前访问对象不存在", business_code="268578608")
            return self.signed(200, coupon)
        if request.method == "PATCH" and not match.group(2):
            coupon["display_info"] = data["display_info"]
            return self.signed(200, coupon)
        if request.method == "POST" and match.group(2):
            coupon.update(state="DEACTIVATED", deactivate_request_no=data["out_request_no"])
            return self.signed(200, coupon)
        return self.error(404, "NOT_FOUND", "no such route")
