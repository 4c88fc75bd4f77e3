"""A hand-written Mini Program shop API for `httpx.MockTransport` (reference A.1, A.6, A.8, A.9.2).

It issues stable tokens, refuses stale ones with 40001 / 42001, keeps coupons by out_coupon_id, and plays one-shot
`faults` (functions of the request returning a response or raising an httpx error) on coupon API calls, before normal
handling; `token_faults` do the same for the token endpoint.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

APPID = "wx1234567890abcdef"
SECRET = "app-secret-7f3e9c2b5a"

Fault = Callable[[httpx.Request], httpx.Response]


def rid() -> str:
    return "-".join(secrets.token_hex(4) for _ in range(3))


def answer(errcode: int, errmsg: str = "", **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"errcode": errcode}
    if errmsg:
        body["errmsg"] = f"{errmsg} rid: {rid()}"
    body.update(extra)
    return httpx.Response(200, json=body)


@dataclass
class FakeShop:
    expires_in: int = 7200
    token: str = field(default_factory=lambda: "TOKEN_" + secrets.token_hex(24))
    expired: bool = False
    coupons: dict[str, dict[str, Any]] = field(default_factory=dict)
    stocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    token_faults: list[Fault] = field(default_factory=list)
    token_fetches: int = 0
    calls: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)  # (path, token, body)

    def rotate(self) -> str:
        """Issue a new token elsewhere (e.g. another process force-refreshed): ours becomes 40001."""
        old, self.token = self.token, "TOKEN_" + secrets.token_hex(24)
        return old

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.read() or b"{}")
        self.calls.append((request.url.path, request.url.params.get("access_token"), body))
        if request.url.path == "/cgi-bin/stable_token":
            if self.token_faults:
                return self.token_faults.pop(0)(request)
            return self.stable_token(body)
        if self.faults:
            return self.faults.pop(0)(request)
        token = request.url.params.get("access_token")
        if not token:
            return answer(41001, "access_token missing")
        if token != self.token:
            return answer(40001, "invalid credential, access_token is invalid or not latest")
        if self.expired:
            return answer(42001, "access_token expired")
        return self.coupon_api(request.url.path.removeprefix("/shop/coupon/"), body)

    def stable_token(self, body: dict[str, Any]) -> httpx.Response:
        self.token_fetches += 1
        if body.get("appid") != APPID:
            return answer(40013, "invalid appid")
        if body.get("secret") != SECRET or body.get("grant_type") != "client_credential":
            return answer(40125, "invalid appsecret")
        if self.expired:
            self.expired = False
            self.rotate()
        return httpx.Response(200, json={"access_token": self.token, "expires_in": self.expires_in})

    def coupon_api(self, name: str, body: dict[str, Any]) -> httpx.Response:
        if name == "add":
            new = dict(body["coupon"], status=1)
            if new["out_coupon_id"] in self.coupons:
                return answer(1090003, "coupon already exists")
            self.coupons[new["out_coupon_id"]] = new
            return answer(0)
        if name == "update_status":
            coupon = self.coupons.get(body["out_coupon_id"])
            if coupon is None:
                return answer(1090057, "coupon not found")
            coupon["status"] = body["status"]
            self.stocks[body["out_coupon_id"]] = {"out_coupon_id": body["out_coupon_id"], "stock_info": {}}
            return answer(0)
        if name == "get":
            coupon = self.coupons.get(body["out_coupon_id"])
            if coupon is None:
                return answer(1090057, "coupon not found")
            return answer(0, result={"coupon": coupon})
        if name == "get_list":
            if body["page_size"] > 200:
                return answer(990005, "page_size超过上限")
            ids = sorted(self.coupons)[body["offset"] : body["offset"] + body["page_size"]]
            entries = []
            for out_id in ids:
                entry: dict[str, Any] = {"coupon": self.coupons[out_id]}
                if out_id in self.stocks:
                    entry["coupon_stock"] = self.stocks[out_id]
                entries.append(entry)
            return answer(0, total_num=len(self.coupons), result_list=entries)
        return answer(40066, "invalid url")
