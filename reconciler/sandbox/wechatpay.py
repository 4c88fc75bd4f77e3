"""WeChat Pay APIv3 partner product coupons (商品券), reference Part B and C; checklist E Family 2.

Routes (partner variant, B.1): create, GET, PATCH, deactivate, image upload; the stock and stock-bundle calls are in
`stocks.py` and `bundles.py`. Every request must carry a
valid `WECHATPAY2-SHA256-RSA2048` signature from the registered merchant key (401 SIGN_ERROR otherwise); every
answer, errors included, is signed with the sandbox's WeChat Pay key and carries the `Wechatpay-*` headers and a
`Request-ID` ending in the business code (B.11). Mutations are idempotent per `out_request_no` (B.9).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from reconciler.sandbox import media
from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.credentials import SandboxCredentials
from reconciler.sandbox.messages import (
    JSON_CONTENT_TYPE,
    Answer,
    PayError,
    Request,
    dump_json,
    invalid_request,
    param_error,
)
from reconciler.sandbox.prerequisites import brand_authorised, require_notify_config
from reconciler.sandbox.product_rules import (
    RULE_KEY,
    Fields,
    check_brand_id,
    check_create,
    check_display_info,
    check_out_request_no,
    check_strings,
    forbid_other_keys,
)
from reconciler.sandbox.signing import (
    BRAND_SCHEME,
    SCHEME,
    PlatformCertificate,
    SignatureProblem,
    encrypt_resource,
    load_private_key,
    load_public_key,
    new_nonce,
    new_platform_certificate,
    parse_authorization,
    request_message,
    response_message,
    sign,
    verify,
)
from reconciler.sandbox.stock_model import bundle_id_for, bundle_stocks, initial_state, new_stock
from reconciler.sandbox.store import Store

PREFIX = "/v3/marketing/partner/product-coupon/product-coupons"
BRAND_PREFIX = "/brand/marketing/product-coupon/product-coupons"  # reference B.1 brand variant
CHINA = timezone(timedelta(hours=8))
MISMATCH_MESSAGE = "使用了相同单号，但与上次请求的数据不一致"  # B.9, business code 268578927


@dataclass(frozen=True)
class Caller:
    """Who signed a request: a partner (owner = mchid) or, on brand routes, a brand (owner = "brand:<id>")."""

    owner: str
    brand_id: str | None = None


def rfc3339(ts: float) -> str:
    """`2025-08-31T23:59:59+08:00` (B.2)."""
    return datetime.fromtimestamp(ts, CHINA).isoformat(timespec="seconds")


class ProductCouponService:
    """The partner product-coupon endpoints over the store."""

    def __init__(self, store: Store, credentials: SandboxCredentials, config: SandboxConfig) -> None:
        self.store = store
        self.credentials = credentials
        self.config = config
        self._merchant_key = load_public_key(credentials.merchant_public_key_pem)
        self._signing_key = load_private_key(credentials.wechatpay_private_key_pem)
        self.brands = frozenset({credentials.brand_id, *config.extra_brand_ids})
        self._platform: PlatformCertificate | None = None  # made on first use (RSA key generation is slow)

    # --- signatures ---------------------------------------------------------------------------------------------

    def authenticate(self, request: Request, brand_route: bool = False, signed_body: bytes | None = None) -> Caller:
        """Verify the request signature (E Family-2 items 1-2); returns who is calling.

        Partner routes: `WECHATPAY2-SHA256-RSA2048 mchid=...` by the merchant key. Brand routes (our simplification,
        C.2): `WECHATPAY-BRAND-SHA256-RSA2048 brand_id=...` by the same key pair and serial, for an authorised brand,
        with the mandatory `Wechatpay-Serial` request header naming the WeChat Pay public key.
        """
        try:
            auth = parse_authorization(request.headers.get("authorization"), BRAND_SCHEME if brand_route else SCHEME)
        except SignatureProblem as exc:
            raise PayError("SIGN_ERROR", f"签名错误: {exc}") from None
        if brand_route:
            if auth.mchid not in self.brands or auth.serial_no != self.credentials.merchant_serial_no:
                raise PayError("SIGN_ERROR", "签名错误: 品牌ID或品牌API证书序列号不正确")
            if request.headers.get("wechatpay-serial") != self.credentials.public_key_id:
                # C.2: the header is mandatory and must name the brand's WeChat Pay public key (status: our default).
                raise PayError(
                    "PARAM_ERROR",
                    "Wechatpay-Serial 缺失或不是该品牌的微信支付公钥ID",
                    field="Wechatpay-Serial",
                    issue="missing or not this brand's public key id",
                    location="header",
                )
        elif auth.mchid != self.credentials.mchid or auth.serial_no != self.credentials.merchant_serial_no:
            raise PayError("SIGN_ERROR", "签名错误: 商户号或商户证书序列号不正确")
        if not auth.timestamp.isdigit():
            raise PayError("SIGN_ERROR", "签名错误: timestamp 必须是 Unix 秒")
        if abs(self.config.clock() - int(auth.timestamp)) > self.config.request_time_window_s:
            raise PayError("SIGN_ERROR", "签名错误: 请求时间戳与当前时间相差过大")
        body = request.body if signed_body is None else signed_body  # uploads sign the meta JSON (C.1)
        message = request_message(request.method, request.raw_url, auth.timestamp, auth.nonce_str, body)
        if not verify(self._merchant_key, message, auth.signature):
            raise PayError("SIGN_ERROR", "签名错误: 请检查签名串与签名值")
        if brand_route:
            return Caller(owner=f"brand:{auth.mchid}", brand_id=auth.mchid)
        return Caller(owner=auth.mchid)

    def signed(self, status: int, payload: dict[str, Any] | None, business_code: int = 0) -> Answer:
        """A signed answer over the exact bytes sent (E Family-2 item 3)."""
        body = dump_json(payload) if payload is not None else b""
        timestamp = str(int(self.config.clock()))
        nonce = new_nonce()
        signature = sign(self._signing_key, response_message(timestamp, nonce, body))
        headers = [
            JSON_CONTENT_TYPE,
            ("request-id", f"{secrets.token_hex(21).upper()}-{business_code}"),
            ("wechatpay-timestamp", timestamp),
            ("wechatpay-nonce", nonce),
            ("wechatpay-signature", signature),
            ("wechatpay-serial", self.credentials.public_key_id),
            ("wechatpay-signature-type", SCHEME),
        ]
        code = payload.get("code") if payload is not None and status >= 300 else None
        return Answer(status, body, headers, code)

    def error(self, exc: PayError) -> Answer:
        return self.signed(exc.status, exc.payload(), exc.business_code)

    # --- platform certificates (C.3 / C.4: merchants not yet on the WeChat Pay public key) -----------------------

    def platform_certificate(self) -> PlatformCertificate:
        if self._platform is None:
            self._platform = new_platform_certificate(self.config.clock())
        return self._platform

    def certificate_mode(self, request: Request) -> bool:
        """Is this answer signed with the platform certificate? Only when the merchant has an APIv3 key (so can
        download certificates) and the request does not name the public key in `Wechatpay-Serial`: during the
        migration WeChat signs with the key family the request names (C.3 [3P forum reply]; absent = certificate
        [INF])."""
        return bool(self.config.apiv3_key) and request.headers.get("wechatpay-serial") != self.credentials.public_key_id

    def sign_with_certificate(self, answer: Answer) -> Answer:
        """The same answer signed by the platform certificate's key instead of the public key (same timestamp)."""
        cert = self.platform_certificate()
        headers = dict(answer.headers)
        timestamp, nonce = headers["wechatpay-timestamp"], headers["wechatpay-nonce"]
        headers["wechatpay-signature"] = sign(cert.key, response_message(timestamp, nonce, answer.body))
        headers["wechatpay-serial"] = cert.serial_no
        return Answer(answer.status, answer.body, list(headers.items()), answer.log_code)

    def certificates(self, request: Request, caller: Caller) -> Answer:
        """GET /v3/certificates: the platform certificates, each encrypted with the merchant's APIv3 key (C.4)."""
        if caller.brand_id is not None:
            raise PayError("NOT_FOUND", "请求的资源不存在 (no such API)")  # C.2: brands use public keys only
        if not self.config.apiv3_key:
            # [our default] the real message for a merchant without an APIv3 key was not captured.
            raise invalid_request("商户未设置APIv3密钥，无法下载平台证书")
        cert = self.platform_certificate()
        item = {
            "serial_no": cert.serial_no,
            "effective_time": rfc3339(cert.not_before.timestamp()),
            "expire_time": rfc3339(cert.not_after.timestamp()),
            "encrypt_certificate": encrypt_resource(self.config.apiv3_key, cert.pem),
        }
        return self.signed(200, {"data": [item]})

    # --- helpers ------------------------------------------------------------------------------------------------

    def _body(self, request: Request) -> Fields:
        try:
            value = json.loads(request.body) if request.body.strip() else None
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
            raise PayError("PARAM_ERROR", "请求体不是合法的 JSON", field="/", issue="body is not valid JSON") from None
        if not isinstance(value, dict):
            raise PayError("PARAM_ERROR", "请求体必须是 JSON 对象", field="/", issue="body must be a JSON object")
        try:
            check_strings(value, "", self.config.reject_4byte_utf8)
        except RecursionError:  # absurdly deep JSON that the parser still accepted
            raise PayError("PARAM_ERROR", "请求体嵌套过深", field="/", issue="nested too deeply") from None
        return Fields(value, "")

    def _authorise(self, brand_id: str) -> None:
        if not brand_authorised(brand_id, self.brands, self.config):  # E Family-2 item 4
            raise PayError("NO_AUTH", "品牌未授权当前服务商使用商品券能力")

    def _load(self, owner: str, brand_id: str, product_coupon_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        row = self.store.get_product(product_coupon_id)
        if row is None or row[0] != owner or row[1]["brand_id"] != brand_id:
            # B.6: visible only to the creating partner + brand.
            raise PayError("NOT_FOUND", "当前访问对象不存在，请确认对象属于当前品牌且由当前服务商创建")
        return row[1], row[2]

    def _query_brand(self, request: Request, caller: Caller) -> str:
        if caller.brand_id is not None:  # brand routes carry no brand_id query parameter (B.6)
            return caller.brand_id
        brand_id = check_brand_id(request.query, "brand_id", "query")
        self._authorise(brand_id)
        return brand_id

    def _body_brand(self, body: Fields, caller: Caller) -> str:
        if caller.brand_id is not None:  # brand routes: the brand is the signer, not a body field (B.0)
            if body.has("brand_id"):
                raise param_error("/brand_id", "is not accepted on brand routes")
            return caller.brand_id
        brand_id = check_brand_id(body.obj, "/brand_id", "body")
        self._authorise(brand_id)
        return brand_id

    def _idempotent(self, key: str, body: dict[str, Any], create: bool) -> Answer | None:
        """Replay the first answer for the same body; refuse a different body (B.9)."""
        prior = self.store.get_idempotent(key)
        if prior is None:
            return None
        first_request, first_answer = prior
        if first_request != body:
            code = self.config.idempotency_mismatch_code if create else "INVALID_REQUEST"
            raise PayError(code, MISMATCH_MESSAGE, business_code=268578927)
        return self.signed(first_answer["status"], first_answer["body"])

    def _remember(self, key: str, body: dict[str, Any], payload: dict[str, Any]) -> Answer:
        self.store.put_idempotent(key, body, {"status": 200, "body": payload})
        return self.signed(200, payload)

    # --- endpoints ----------------------------------------------------------------------------------------------

    def create(self, request: Request, caller: Caller) -> Answer:
        """POST .../product-coupons (B.5)."""
        body = self._body(request)
        out_request_no = check_out_request_no(body)
        brand_id = self._body_brand(body, caller)
        key = f"{caller.owner}|{brand_id}|POST product-coupons|{out_request_no}"
        with self.store.transaction():
            replay = self._idempotent(key, body.obj, create=True)
            if replay is not None:
                return replay
            require_notify_config(self.store, self.config, caller.owner)  # switch `notify_config_required`
            check_create(body, self.config)
            product_coupon_id = self.store.next_product_coupon_id()
            entity, stocks, extra = self._build(product_coupon_id, {**body.obj, "brand_id": brand_id})
            self.store.put_product(caller.owner, entity, stocks)
            return self._remember(key, body.obj, {**entity, **extra})

    def _build(
        self, product_coupon_id: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        state = self.config.product_initial_state
        entity: dict[str, Any] = {"product_coupon_id": product_coupon_id, "brand_id": body["brand_id"]}
        for key in (
            "scope",
            "type",
            "usage_mode",
            "single_usage_info",
            "progressive_bundle_usage_info",
            "display_info",
            "out_product_no",
        ):
            if key in body:
                entity[key] = body[key]
        entity["state"] = state

        stock_state = initial_state(state, self.config.product_initial_state)
        if body["usage_mode"] == "SINGLE":
            first = new_stock(product_coupon_id, 1, body["stock"], body["brand_id"], stock_state)
            first["single_usage_rule"] = body["stock"]["single_usage_rule"]
            return entity, [first], {"stock": first}
        bundle_id = bundle_id_for(product_coupon_id, 0)
        rule_key = RULE_KEY[body["type"]]
        stock_list = bundle_stocks(
            product_coupon_id, bundle_id, 1, body["stock_bundle"], rule_key, body["brand_id"], stock_state
        )
        return entity, stock_list, {"stock_bundle": {"stock_bundle_id": bundle_id, "stock_list": stock_list}}

    def get(self, request: Request, caller: Caller, product_coupon_id: str) -> Answer:
        """GET .../product-coupons/{id}?brand_id= (B.6): never returns stock data."""
        brand_id = self._query_brand(request, caller)
        entity, _ = self._load(caller.owner, brand_id, product_coupon_id)
        return self.signed(200, entity)

    def _state_allows(self, state: str) -> bool:
        """May PATCH / deactivate act on a coupon in `state`? EFFECTIVE only by default (B.10); with the
        `product_patch_requires_effective` switch off, any state but DEACTIVATED (the PATCH doc page asks only
        that the coupon exists [INF]); a deactivated coupon stays terminal either way (B.8)."""
        if self.config.product_patch_requires_effective:
            return state == "EFFECTIVE"
        return state != "DEACTIVATED"

    def patch(self, request: Request, caller: Caller, product_coupon_id: str) -> Answer:
        """PATCH .../product-coupons/{id} (B.7): only display_info, only while EFFECTIVE."""
        body = self._body(request)
        out_request_no = check_out_request_no(body)
        brand_id = self._body_brand(body, caller)
        forbid_other_keys(body, {"out_request_no", "display_info", "brand_id"})
        key = f"{caller.owner}|{brand_id}|PATCH product-coupons/{product_coupon_id}|{out_request_no}"
        with self.store.transaction():
            entity, stocks = self._load(caller.owner, brand_id, product_coupon_id)
            replay = self._idempotent(key, body.obj, create=False)
            if replay is not None:
                return replay
            check_display_info(body.required("display_info"), "/display_info", entity["scope"], self.config)
            if not self._state_allows(entity["state"]):
                raise invalid_request(f"商品券当前状态为 {entity['state']}，仅生效中（EFFECTIVE）的商品券可修改")
            entity["display_info"] = body.obj["display_info"]  # whole-object replacement (B.7 [INF])
            self.store.put_product(caller.owner, entity, stocks)
            return self._remember(key, body.obj, entity)

    def deactivate(self, request: Request, caller: Caller, product_coupon_id: str) -> Answer:
        """POST .../product-coupons/{id}/deactivate (B.8): EFFECTIVE only; cascades to every stock; terminal."""
        body = self._body(request)
        out_request_no = check_out_request_no(body)
        brand_id = self._body_brand(body, caller)
        forbid_other_keys(body, {"out_request_no", "deactivate_reason", "brand_id"})
        key = f"{caller.owner}|{brand_id}|POST product-coupons/{product_coupon_id}/deactivate|{out_request_no}"
        with self.store.transaction():
            entity, stocks = self._load(caller.owner, brand_id, product_coupon_id)
            replay = self._idempotent(key, body.obj, create=False)
            if replay is not None:
                return replay
            reason = body.string("deactivate_reason", max_len=150)
            if not self._state_allows(entity["state"]):
                raise invalid_request(f"商品券当前状态为 {entity['state']}，仅生效中（EFFECTIVE）的商品券可失效")
            marks = {
                "deactivate_request_no": out_request_no,
                "deactivate_time": rfc3339(self.config.clock()),
                "deactivate_reason": reason,
            }
            entity.update(state="DEACTIVATED", **marks)
            for item in stocks:
                if item["state"] != "DEACTIVATED":
                    item.update(state="DEACTIVATED", **marks)
            self.store.put_product(caller.owner, entity, stocks)
            return self._remember(key, body.obj, entity)

    def upload_image(self, request: Request, caller: Caller) -> Answer:
        """POST .../media/upload-image (B.1): answers `{"image_url"}` (see reconciler.sandbox.media)."""
        return self.signed(200, media.upload_image(request, self.config))
