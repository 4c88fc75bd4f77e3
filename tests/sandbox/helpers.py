"""Hand-built clients for the sandbox contract tests: signatures are computed here with `cryptography`, never with
the project's own client code, so the tests check the sandbox against the reference, not against ourselves."""

from __future__ import annotations

import base64
import functools
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reconciler.sandbox import SandboxCredentials

PRODUCTS = "/v3/marketing/partner/product-coupon/product-coupons"
IMAGE = "https://wxpaylogo.qpic.cn/sandbox-test/"


@functools.lru_cache(maxsize=16)
def private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@functools.lru_cache(maxsize=16)
def public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def authorization(
    creds: SandboxCredentials,
    method: str,
    url: str,
    body: bytes,
    *,
    key_pem: str | None = None,
    timestamp: int | None = None,
    mchid: str | None = None,
    serial_no: str | None = None,
) -> str:
    """`WECHATPAY2-SHA256-RSA2048 ...` over METHOD\\nURL\\nTS\\nNONCE\\nBODY\\n (reference C.1)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(16).upper()
    message = f"{method}\n{url}\n{ts}\n{nonce}\n".encode() + body + b"\n"
    key = private_key(key_pem or creds.merchant_private_key_pem)
    signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
    return (
        f'WECHATPAY2-SHA256-RSA2048 mchid="{mchid or creds.mchid}",nonce_str="{nonce}",'
        f'signature="{signature}",timestamp="{ts}",serial_no="{serial_no or creds.merchant_serial_no}"'
    )


def verify_response(creds: SandboxCredentials, response: httpx.Response) -> bool:
    """Check the response signature over TS\\nNONCE\\nBODY\\n with the WeChat Pay public key (reference C.4)."""
    h = response.headers
    message = f"{h['wechatpay-timestamp']}\n{h['wechatpay-nonce']}\n".encode() + response.content + b"\n"
    try:
        public_key(creds.wechatpay_public_key_pem).verify(
            base64.b64decode(h["wechatpay-signature"]), message, padding.PKCS1v15(), hashes.SHA256()
        )
    except Exception:
        return False
    return True


@dataclass
class PayClient:
    """Signs and sends APIv3 requests by hand."""

    base: str
    creds: SandboxCredentials
    http: httpx.Client

    def send(self, method: str, url: str, body: Any = None, raw: bytes | None = None, **auth: Any) -> httpx.Response:
        content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        headers = {
            "Authorization": authorization(self.creds, method, url, content, **auth),
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Wechatpay-Serial": self.creds.public_key_id,
        }
        return self.http.request(method, self.base + url, content=content, headers=headers)

    def create(self, body: dict[str, Any]) -> httpx.Response:
        return self.send("POST", PRODUCTS, body)

    def get(self, pid: str, brand_id: str | None = None) -> httpx.Response:
        return self.send("GET", f"{PRODUCTS}/{pid}?brand_id={brand_id or self.creds.brand_id}")

    def patch(self, pid: str, body: dict[str, Any]) -> httpx.Response:
        return self.send("PATCH", f"{PRODUCTS}/{pid}", body)

    def deactivate(self, pid: str, body: dict[str, Any]) -> httpx.Response:
        return self.send("POST", f"{PRODUCTS}/{pid}/deactivate", body)


@dataclass
class ShopClient:
    """Mini Program API calls with an access_token in the query string."""

    base: str
    creds: SandboxCredentials
    http: httpx.Client
    token: str = ""

    def fetch_token(self) -> str:
        response = self.http.get(
            self.base + "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.creds.appid, "secret": self.creds.app_secret},
        )
        self.token = response.json()["access_token"]
        return self.token

    def call(self, name: str, body: Any) -> dict[str, Any]:
        if not self.token:
            self.fetch_token()
        response = self.http.post(f"{self.base}/shop/coupon/{name}", params={"access_token": self.token}, json=body)
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result


def shop_coupon(out_coupon_id: str, coupon_type: int = 102, **overrides: Any) -> dict[str, Any]:
    """A valid shop coupon body of the given type (reference A.3, A.5)."""
    now = int(time.time())
    condition: dict[str, Any] = {}
    info: dict[str, Any] = {}
    needs = {
        1: {"out_product_ids", "product_cnt", "discount_num"},
        2: {"out_product_ids", "product_price", "discount_fee"},
        3: {"out_product_ids", "discount_num"},
        4: {"out_product_ids", "discount_fee"},
        5: {"out_product_ids", "tradein_info"},
        6: {"buyget_info"},
        101: {"product_cnt", "discount_num"},
        102: {"product_price", "discount_fee"},
        103: {"discount_num"},
        104: {"discount_fee"},
    }[coupon_type]
    values: dict[str, Any] = {
        "out_product_ids": ["p-1", "p-2"],
        "product_cnt": 2,
        "product_price": 10000,
        "tradein_info": {"out_product_id": "p-3", "price": 100},
        "buyget_info": {"buy_out_product_id": "p-1", "buy_product_cnt": 2, "get_out_product_id": "p-2",
                        "get_product_cnt": 1},
        "discount_num": 8500,
        "discount_fee": 2000,
    }  # fmt: skip
    for key in needs:
        (info if key in {"discount_num", "discount_fee"} else condition)[key] = values[key]
    if condition:
        info["discount_condition"] = condition
    coupon: dict[str, Any] = {
        "out_coupon_id": out_coupon_id,
        "type": coupon_type,
        "promote_type": 4,
        "coupon_info": {
            "name": "满100减20",
            "promote_info": {"promote_type": 4, "finder": {"nickname": "视频号昵称"}},
            "discount_info": info,
            "receive_info": {"start_time": now, "end_time": now + 86400, "limit_num_one_person": 1, "total_num": 500},
            "valid_info": {"valid_type": 2, "valid_day_num": 3},
        },
    }
    coupon.update(overrides)
    return coupon


def display_info(name: str = "咖啡满减券", single: bool = False) -> dict[str, Any]:
    info: dict[str, Any] = {"name": name, "image_url": IMAGE + "a.png", "background_url": IMAGE + "b.png"}
    if single:
        info["original_price"] = 3000
        info["combo_package_list"] = [
            {"name": "单品", "pick_count": 1, "choice_list": [{"name": "美式咖啡", "price": 3000, "count": 1}]}
        ]
    return info


def stock(rule: dict[str, Any] | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "coupon_available_period": {
            "available_begin_time": "2026-12-01T00:00:00+08:00",
            "available_end_time": "2027-11-30T23:59:59+08:00",  # 364 days: a stock reads STOPPED after it (B.10)
        }
    }
    if rule:
        usage.update(rule)
    return {
        "remark": "首批",
        "coupon_code_mode": "WECHATPAY",
        "stock_send_rule": {"max_count": 1000, "max_count_per_user": 1},
        "single_usage_rule": usage,
        "usage_rule_display_info": {"coupon_usage_method_list": ["OFFLINE"], "usage_description": "到店出示使用"},
        "coupon_display_info": {"code_display_mode": "QRCODE"},
        "notify_config": {"notify_appid": "wx1234567890abcdef"},
        "store_scope": "NONE",
    }


def product_body(
    creds: SandboxCredentials, out_request_no: str, scope: str = "ALL", **overrides: Any
) -> dict[str, Any]:
    """A valid partner create body: scope=ALL NORMAL, or scope=SINGLE NORMAL (reference B.2-B.5)."""
    body: dict[str, Any] = {
        "out_request_no": out_request_no,
        "brand_id": creds.brand_id,
        "scope": scope,
        "type": "NORMAL",
        "usage_mode": "SINGLE",
        "display_info": display_info(single=scope == "SINGLE"),
    }
    if scope == "ALL":
        body["single_usage_info"] = {"normal_coupon": {"threshold": 10000, "discount_amount": 1000}}
        body["stock"] = stock()
    else:
        body["stock"] = stock({"normal_coupon": {"threshold": 0, "discount_amount": 500}})
    body.update(overrides)
    return body


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"
