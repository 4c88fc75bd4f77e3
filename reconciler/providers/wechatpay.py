"""The WeChat Pay APIv3 partner product-coupon client (family "product"; reference Part B, signing Part C).

Every request is signed by `WechatPaySigner` over the exact bytes sent; every 2xx response is verified by
`ResponseVerifier` before a single byte of it is parsed (contract §2.4: a 2xx failing verification is an attack,
nothing is recorded from it). Errors map to the typed tree of `reconciler.errors` (reference B.11).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from reconciler.errors import SignatureError, TransientUpstreamError, UpstreamError
from reconciler.plan.model import Call
from reconciler.providers.base import CallResult
from reconciler.providers.lean_http import lean_transport
from reconciler.providers.media import UPLOAD, upload_image
from reconciler.providers.transport import build_request, send_safely, transient_http_status, with_retry_after
from reconciler.providers.wechatpay_auth import (
    CERTIFICATES_PATH,
    SIGNED_BODY,
    ResponseVerifier,
    WechatPaySigner,
    load_public_key,
    platform_certificates,
)
from reconciler.providers.wechatpay_codes import UPLOAD_CODES, upload_codes
from reconciler.providers.wechatpay_stocks import is_stock_operation, stock_request
from reconciler.providers.wechatpay_stores import check_store_answer, read_associated_stores

COUPONS_PATH = "/v3/marketing/partner/product-coupon/product-coupons"  # reference B.1
# B.6: "object does not exist / not owned" is business code 268578608, the suffix of the Request-ID; the HTTP status
# the seed doc lists is 404 NOT_FOUND [??]. Both are read as "does not exist" by `read`.
NOT_FOUND_CODES: frozenset[str] = frozenset({"NOT_FOUND"})
NOT_FOUND_BUSINESS_CODES: frozenset[str] = frozenset({"268578608"})
STOCK_PAGE_SIZE = 50  # B.4: list stocks page_size <= 50
# B.4 [S]: at most 200 effective stocks per coupon, so a handful of pages; a bound so a looping token cannot spin.
MAX_STOCK_PAGES = 20
STOCK_LIST = "product.stock.list"  # the operation name of list-stocks (its rate: reconciler.upstream_facts)


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """The one serialisation of a request body: signed and sent as these exact bytes (C.1)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WechatPayProvider:
    """Partner product coupons: create, PATCH, deactivate, GET, and their stocks and bundles. There is no API
    listing coupons (B.1)."""

    family = "product"

    def __init__(
        self,
        mchid: str,
        serial_no: str,
        private_key_pem: bytes,
        public_key_id: str,
        public_key_pem: bytes,
        base_url: str,
        brand_id: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,  # the embedded sandbox's ASGI transport (open_upstream)
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        apiv3_key: bytes | None = None,
        files_root: Path | None = None,
    ) -> None:
        """`apiv3_key` given: platform-certificate mode (C.4), for merchants not yet on the WeChat Pay public key.
        The public key id and PEM are then unused (pass empty ones): answers are verified with the certificates of
        `GET /v3/certificates`, fetched before the first call and again once when an answer names an unknown one."""
        self.brand_id = brand_id
        self.files_root = files_root or Path.cwd()  # image uploads read their planned file under it (decision D33)
        self._clock = clock
        self._apiv3_key = apiv3_key
        self._certificates_lock = asyncio.Lock()
        self._certificates_loaded = False
        if apiv3_key is not None:
            # C.3: no Wechatpay-Serial until a certificate is known; then its serial names the key family to sign with.
            self._signer = WechatPaySigner(mchid, serial_no, private_key_pem, "", clock=clock)
            self._verifier = ResponseVerifier({}, clock=clock)
        else:
            self._signer = WechatPaySigner(mchid, serial_no, private_key_pem, public_key_id, clock=clock)
            self._verifier = ResponseVerifier({public_key_id: load_public_key(public_key_pem)}, clock=clock)
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=self._signer,
            transport=transport if transport is not None else lean_transport(base_url),  # CPU per call: lean_http.py
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"WechatPayProvider(mchid={self._signer.mchid!r}, base_url={str(self._client.base_url)!r})"

    async def execute(self, call: Call) -> CallResult:
        """Send `call.payload` for product.create / product.patch / product.deactivate (B.5, B.7, B.8) and the stock
        and bundle calls (B.1, B.4: `wechatpay_stocks.py`)."""
        if call.operation == UPLOAD:  # an image from a file, multipart (B.1, C.1; decision D33): `media.py`
            return await upload_image(self, call)
        if call.operation == UPLOAD_CODES:  # a batch of codes read from a file (B.4; decision D35)
            return await upload_codes(self, call)
        if call.operation == "product.create":
            method, path = "POST", COUPONS_PATH
        elif call.operation == "product.patch":
            method, path = "PATCH", _coupon_path(call)
        elif call.operation == "product.deactivate":
            method, path = "POST", _coupon_path(call) + "/deactivate"
        elif is_stock_operation(call.operation):  # stocks and bundles (B.1, B.4): the answer is the stock / bundle
            method, path = stock_request(call)
        else:
            raise ValueError(f"WechatPayProvider cannot execute {call.operation!r}")
        # B.11: an error names the call; a stock call also names the stock it concerns
        label = f"{call.operation} (stock {call.stock_name})" if call.stock_name else call.operation
        response = await self._send(label, method, path, content=encode_body(call.payload))
        entity = self._entity(label, response)
        check_store_answer(call, entity)  # a store batch with a failed id is a refusal (decision D34)
        upstream_id = entity.get("product_coupon_id") if entity is not None else None
        if is_stock_operation(call.operation):
            upstream_id = call.target  # the coupon the stock belongs to
        return CallResult(
            operation=call.operation,
            upstream_id=str(upstream_id) if upstream_id is not None else call.target,
            entity=entity,
            request_id=response.headers.get("Request-ID"),
            http_status=response.status_code,
            raw=entity or {},
        )

    async def read(self, upstream_id: str, *, brand_id: str | None = None) -> Mapping[str, Any] | None:
        """GET the product coupon (B.6), or None when WeChat says it does not exist (404 NOT_FOUND / 268578608)."""
        path = f"{COUPONS_PATH}/{quote(upstream_id, safe='')}"
        try:
            response = await self._send("product.get", "GET", path, params={"brand_id": brand_id or self.brand_id})
        except UpstreamError as err:
            if _is_not_found(err):
                return None
            raise
        return self._entity("product.get", response)

    async def read_first_stock(
        self, product_coupon_id: str, *, brand_id: str | None = None
    ) -> Mapping[str, Any] | None:
        """The coupon's first stock (批次) from list-stocks (B.4, page_size 1), or None when it has none.

        GET of the coupon never returns its stock (B.2); `import --generate` needs it to write a manifest.
        """
        path = f"{COUPONS_PATH}/{quote(product_coupon_id, safe='')}/stocks"
        params = {"brand_id": brand_id or self.brand_id, "page_size": "1"}
        response = await self._send(STOCK_LIST, "GET", path, params=params)
        stocks = (self._entity(STOCK_LIST, response) or {}).get("stock_list") or []
        first = stocks[0] if isinstance(stocks, list) and stocks else None
        return first if isinstance(first, dict) else None

    async def read_stocks(
        self,
        product_coupon_id: str,
        *,
        brand_id: str | None = None,
        before_page: Callable[[], Awaitable[None]] | None = None,
        retry: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]] | None = None,
    ) -> list[Mapping[str, Any]]:
        """Every stock of the coupon from list-stocks (B.4: page_size at most 50, `page_token` paging), awaiting
        `before_page` before each page (the caller's pacing) and fetching each page through `retry` when given.

        A PROGRESSIVE_BUNDLE coupon has one stock per step of its ladder; `import --generate` rebuilds the
        `stock_bundle` from them; refresh and drift compare them with state (decision D29)."""
        path = f"{COUPONS_PATH}/{quote(product_coupon_id, safe='')}/stocks"
        stocks: list[Mapping[str, Any]] = []
        token: str | None = None
        for _page in range(MAX_STOCK_PAGES):
            params = {"brand_id": brand_id or self.brand_id, "page_size": str(STOCK_PAGE_SIZE)}
            if token:
                params["page_token"] = token

            async def page_of(params: Mapping[str, str] = params) -> httpx.Response:
                if before_page is not None:
                    await before_page()
                return await self._send(STOCK_LIST, "GET", path, params=params)

            response = await (retry(page_of) if retry is not None else page_of())
            data = self._entity(STOCK_LIST, response) or {}
            page = data.get("stock_list") or []
            stocks.extend(item for item in page if isinstance(item, dict))
            token = data.get("next_page_token") if isinstance(data.get("next_page_token"), str) else None
            if not token or not page:
                return stocks
        raise UpstreamError(call=STOCK_LIST, message=f"more than {MAX_STOCK_PAGES} pages of stocks")

    async def read_stores(
        self,
        product_coupon_id: str,
        stock_id: str,
        *,
        brand_id: str | None = None,
        before_page: Callable[[], Awaitable[None]] | None = None,
        retry: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]] | None = None,
    ) -> list[str]:
        """The store ids associated with a stock (decision D34, `wechatpay_stores.py`)."""
        return await read_associated_stores(
            self, COUPONS_PATH, product_coupon_id, stock_id, brand_id or self.brand_id,
            before_page=before_page, retry=retry,
        )  # fmt: skip

    async def account_request(
        self, operation: str, method: str, path: str, payload: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """A signed call that is not a coupon call (the partner's notify configuration, B.1 / F.11, which the
        pre-flight reads and sets, decision D32), its answer verified like every other: the JSON object, or None
        for an empty body. Errors raise as every call's do (B.11)."""
        content = encode_body(payload) if payload is not None else None
        response = await self._send(operation, method, path, content=content)
        return self._entity(operation, response)

    def list_all(
        self,
        *,
        before_page: Callable[[], Awaitable[None]] | None = None,
        retry: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]] | None = None,
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Product coupons have no list API (reference B.1): drift re-reads every known id instead."""
        raise NotImplementedError("WeChat Pay has no API listing product coupons (reference B.1)")

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        content_type: str = "application/json",
        signed_body: bytes | None = None,  # what the signature covers when not the body (the upload's meta, C.1)
    ) -> httpx.Response:
        if self._apiv3_key is not None and not self._certificates_loaded:
            await self._load_certificates(stale=None)
        headers = {"Content-Type": content_type} if content is not None else None
        extensions = {SIGNED_BODY: signed_body} if signed_body is not None else None
        request = build_request(
            self._client, method, path, content=content, params=params, headers=headers, extensions=extensions
        )
        response = await send_safely(self._client, request, call=operation)
        status = response.status_code
        request_id = response.headers.get("Request-ID")
        signed = 200 <= status < 300 or self._verifier.has_signature(response.headers)
        serial = response.headers.get("Wechatpay-Serial")
        if signed and self._apiv3_key is not None and serial and not self._verifier.knows(serial):
            # C.4: a serial we do not hold means WeChat rotated its certificate: download them again (once).
            await self._load_certificates(stale=serial)
        if 200 <= status < 300:
            # Contract §2.4 / C.4: verify every 2xx before reading anything from it.
            self._verifier.verify(response.headers, response.content, call=operation, http_status=status)
            return response
        # F.14: WeChat may not sign errors; verify when signed, so a forged error cannot pass either.
        if signed:
            self._verifier.verify(response.headers, response.content, call=operation, http_status=status)
        code, message, detail = _error_fields(response)
        error_type = TransientUpstreamError if transient_http_status(status) else UpstreamError
        err = error_type(
            call=operation,
            message=message,
            http_status=status,
            code=code,
            request_id=request_id,
            url=str(request.url),
            detail=detail,
        )
        raise with_retry_after(err, response)

    async def _load_certificates(self, *, stale: str | None) -> None:
        """Download, decrypt and check the platform certificates (C.4), then trust them for every later answer.

        The download is itself verified, with the certificate it delivers: the APIv3 key (which only we and WeChat
        hold) authenticates the encrypted certificate, and its key must have signed the answer, or nothing is
        trusted. One task downloads; others wait for it. `stale` is a serial some answer named that we did not hold:
        when another task has meanwhile loaded it, nothing is downloaded again.
        """
        assert self._apiv3_key is not None
        async with self._certificates_lock:
            if self._certificates_loaded and (stale is None or self._verifier.knows(stale)):
                return
            call = "certificates"
            request = self._client.build_request("GET", CERTIFICATES_PATH)
            response = await send_safely(self._client, request, call=call)
            status, request_id = response.status_code, response.headers.get("Request-ID")
            if not 200 <= status < 300:
                code, message, detail = _error_fields(response)
                error_type = TransientUpstreamError if transient_http_status(status) else UpstreamError
                err = error_type(
                    call=call,
                    message=f"cannot download the platform certificates: {message}",
                    http_status=status,
                    code=code,
                    request_id=request_id,
                    detail=detail,
                )
                raise with_retry_after(err, response)
            try:
                certificates = platform_certificates(response.content, self._apiv3_key, self._clock())
            except ValueError as exc:
                raise SignatureError(
                    call=call,
                    message=f"response refused: platform certificates: {exc}",
                    http_status=status,
                    request_id=request_id,
                ) from None
            keys = {cert.serial_no: cert.key for cert in certificates}
            ResponseVerifier(keys, clock=self._clock).verify(
                response.headers, response.content, call=call, http_status=status
            )
            self._verifier.add_keys(keys)
            # C.3: name the newest certificate, so WeChat signs its answers with the certificate family.
            self._signer.public_key_id = max(certificates, key=lambda c: c.not_after).serial_no
            self._certificates_loaded = True

    def _entity(self, operation: str, response: httpx.Response) -> dict[str, Any] | None:
        if not response.content:
            return None
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise UpstreamError(
                call=operation,
                message="signed response is not a JSON object",
                http_status=response.status_code,
                request_id=response.headers.get("Request-ID"),
            )
        return data


def _coupon_path(call: Call) -> str:
    if not call.target:
        raise ValueError(f"{call.operation} needs the product_coupon_id as call.target")
    return f"{COUPONS_PATH}/{quote(call.target, safe='')}"


def _error_fields(response: httpx.Response) -> tuple[str | None, str, Any]:
    """`code`, `message` and `detail` of an APIv3 error body (reference B.11), tolerating any body."""
    try:
        data = json.loads(response.content) if response.content else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        code = data.get("code")
        message = data.get("message")
        return (
            str(code) if code is not None else None,
            str(message) if message else response.reason_phrase or "error",
            data.get("detail"),
        )
    return None, response.reason_phrase or "error", None


def _is_not_found(err: UpstreamError) -> bool:
    if isinstance(err, SignatureError):  # a forged "not found" is an attack, never a missing coupon
        return False
    if err.http_status is None or not 400 <= err.http_status < 500:
        return False
    if err.http_status == 404 and err.code in NOT_FOUND_CODES:
        return True
    return bool(err.request_id) and str(err.request_id).rsplit("-", 1)[-1] in NOT_FOUND_BUSINESS_CODES
