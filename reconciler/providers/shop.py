"""The Mini Program shop coupon client (family "shop"; reference A.1, A.6, A.8-A.10).

Every call is `POST {base}/shop/coupon/<name>?access_token=...` with a JSON body; the outcome is in the body's
`errcode` (HTTP 200 even for errors, A.1). The access_token comes from `POST /cgi-bin/stable_token` (A.9.2), is cached
for the run, fetched by one task at a time, and refreshed once when a call answers 40001 / 42001 (contract §2.4).

The token travels in the query string, so it must never reach a message, a log line or a repr: URLs are built with
`params=`, every httpx failure is re-raised with redacted text (`transport.send_safely`), the `httpx` logger is
filtered (`transport.install_log_redaction`), and errmsg texts pass through `redact_url`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from typing import Any

import httpx

from reconciler.config import Secret
from reconciler.errors import TransientUpstreamError, UpstreamError, redact_url
from reconciler.plan.model import Call
from reconciler.providers.base import CallResult
from reconciler.providers.lean_http import lean_transport
from reconciler.providers.transport import (
    build_request,
    install_log_redaction,
    send_safely,
    transient_http_status,
    with_retry_after,
)

TOKEN_PATH = "/cgi-bin/stable_token"  # A.9.2
COUPON_PATH = "/shop/coupon/"  # A.6
PAGE_SIZE = 200  # A.6.4 / A.7: get_list page_size <= 200

# A.8: codes worth retrying with the same request: system error, instantaneous frequency limit (300000), per-minute
# quota (45011) and "system busy, retry" (990010).
TRANSIENT_ERRCODES: frozenset[int] = frozenset({-1, 300000, 45011, 990010})
# A.8 / A.9: the token is stale (40001: invalid or not latest; 42001: expired): refresh once and retry once.
TOKEN_ERRCODES: frozenset[int] = frozenset({40001, 42001})
# A.10: the daily quota does not come back within a run: stop cleanly, do not retry (contract §2.4 fault list).
DAILY_QUOTA_ERRCODE = 45009
# `get` for an unknown out_coupon_id: the /shop coupon error table could not be read (reference F.3 [??]). These are
# the codes we read as "does not exist" by default: 1090057 is the documented "coupon not found" ret_code of the
# claim callback (A.2) [INF]; 9401020 is omitted on purpose (v1 "parameter wrong", A.8 warns not to reuse v1 codes).
# A setting (`[shop] not_found_errcodes`) replaces them when real WeChat answers differently.
NOT_FOUND_ERRCODES: frozenset[int] = frozenset({1090057})
# Our default: refresh this long before `expires_in` runs out (the stable token is renewed 5 minutes before expiry,
# A.9.2); for short test lifetimes, at most half of the lifetime.
TOKEN_SAFETY_MARGIN_S = 300.0

_JSON = {"Content-Type": "application/json"}
_RID = re.compile(r"rid:\s*([0-9A-Za-z-]+)")
_OPERATIONS: dict[str, str] = {
    "shop.add": "add",
    "shop.update": "update",
    "shop.update_status": "update_status",
    "shop.get": "get",
    "shop.get_list": "get_list",
    "shop.update_stock": "update_coupon_stock",  # A.6.6
}
# A.6.6 [INF]: update_coupon_stock takes the handed-out count as `receive_num`; when users claimed coupons after the
# plan read it, upstream refuses the call (the code is undocumented: the sandbox answers 1090059). What to do next:
STOCK_REFUSED_HINT = (
    "update_coupon_stock sends the handed-out count the plan knew as receive_num; if users claimed coupons since, "
    "run `couponctl refresh` (or plan again, which re-reads it) and apply the new plan"
)


def request_id_of(errmsg: str) -> str | None:
    """The `rid: xxxxxxxx-xxxxxxxx-xxxxxxxx` suffix WeChat appends to messages (A.1), when present."""
    match = _RID.search(errmsg)
    return match.group(1) if match else None


class ShopProvider:
    """`/shop/coupon/*` calls with a run-scoped, self-refreshing stable access_token."""

    family = "shop"

    def __init__(
        self,
        appid: str,
        secret: Secret,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,  # the embedded sandbox's ASGI transport (open_upstream)
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        not_found_errcodes: Collection[int] = NOT_FOUND_ERRCODES,
    ) -> None:
        install_log_redaction()
        self.appid = appid
        self.not_found_errcodes = frozenset(not_found_errcodes)
        self._secret = secret
        self._clock = clock
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._token_lock = asyncio.Lock()
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport if transport is not None else lean_transport(base_url),
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"ShopProvider(appid={self.appid!r}, base_url={str(self._client.base_url)!r})"

    # -- base.Provider ------------------------------------------------------------------------------------------
    async def execute(self, call: Call) -> CallResult:
        """Send `call.payload` to /shop/coupon/<add|update|update_status|update_coupon_stock> (A.6); errcode 0 is
        success. `call.out_request_no` is never sent: /shop/coupon has no request number (A.6)."""
        name = _OPERATIONS.get(call.operation)
        if name is None:
            raise ValueError(f"ShopProvider cannot execute {call.operation!r}")
        try:
            data = await self._call(call.operation, name, call.payload)
        except UpstreamError as err:
            if call.operation != "shop.update_stock" or isinstance(err, TransientUpstreamError):
                raise
            raise UpstreamError(
                call=err.call,
                message=f"{err.upstream_message}; {STOCK_REFUSED_HINT}",
                http_status=err.http_status,
                code=err.code,
                request_id=err.request_id,
                url=err.url,
                detail=err.detail,
            ) from None
        errmsg = str(data.get("errmsg", ""))
        return CallResult(
            operation=call.operation,
            upstream_id=call.target or _out_coupon_id(call.payload),
            entity=None,
            request_id=request_id_of(errmsg),
            raw=data,
        )

    async def read(self, upstream_id: str, *, brand_id: str | None = None) -> Mapping[str, Any] | None:
        """The `coupon` object from `get` (A.6.3), or None when upstream answers one of the not-found errcodes."""
        try:
            data = await self._call("shop.get", "get", {"out_coupon_id": upstream_id})
        except UpstreamError as err:
            if not isinstance(err, TransientUpstreamError) and err.code in self.not_found_errcodes:
                return None
            raise
        result = data.get("result")
        coupon = result.get("coupon") if isinstance(result, dict) else None
        if not isinstance(coupon, dict):
            raise UpstreamError(call="shop.get", message="answer has no result.coupon object")
        return coupon

    def list_all(
        self,
        *,
        before_page: Callable[[], Awaitable[None]] | None = None,
        retry: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]] | None = None,
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Every coupon, paging `get_list` by offset with page_size 200 until total_num is reached (A.6.4).

        Each item is the `coupon` object; when the page entry has a `coupon_stock` (activated coupons only), it is
        added to the coupon under the key "coupon_stock". `before_page` is awaited before each page (the caller's
        rate limiter); with `retry`, each page is fetched through it (the caller's retry policy for transient
        errors: one page is read again, not the whole list).
        """
        return self._list_all(before_page, retry)

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- account checks (couponctl doctor) ------------------------------------------------------------------------
    async def fetch_token(self) -> None:
        """Fetch (or reuse) the run's access token: the pre-flight token check (A.9.2)."""
        await self._access_token()

    async def account_call(self, name: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """One `/shop/coupon/<name>` call outside a plan: the pre-flight's `get_list` probe and `confirm` (A.2)."""
        return await self._call(f"shop.{name}", name, payload)

    # -- internals ----------------------------------------------------------------------------------------------
    async def _list_all(
        self,
        before_page: Callable[[], Awaitable[None]] | None,
        retry: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]] | None,
    ) -> AsyncIterator[Mapping[str, Any]]:
        offset = 0
        while True:

            async def page(offset: int = offset) -> dict[str, Any]:
                if before_page is not None:
                    await before_page()
                return await self._call("shop.get_list", "get_list", {"page_size": PAGE_SIZE, "offset": offset})

            data = await (retry(page) if retry is not None else page())
            entries = data.get("result_list") or []
            total = data.get("total_num")
            if not isinstance(entries, list) or not isinstance(total, int):
                raise UpstreamError(call="shop.get_list", message="answer has no total_num / result_list")
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("coupon"), dict):
                    continue
                coupon = dict(entry["coupon"])
                if isinstance(entry.get("coupon_stock"), dict):
                    coupon["coupon_stock"] = entry["coupon_stock"]
                yield coupon
            offset += len(entries)
            # An empty page ends the walk even if total_num promised more (coupons may vanish between pages).
            if not entries or offset >= total:
                return

    async def _call(self, operation: str, name: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """One API call with the token; on 40001 / 42001 refresh the token once and send the call once more."""
        token = await self._access_token()
        data = await self._post(operation, COUPON_PATH + name, payload, token)
        if _errcode(data) in TOKEN_ERRCODES:
            token = await self._access_token(stale=token)
            data = await self._post(operation, COUPON_PATH + name, payload, token)
        _raise_for_errcode(operation, data)
        return data

    async def _post(self, operation: str, path: str, payload: Mapping[str, Any], token: str) -> dict[str, Any]:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        request = build_request(self._client, "POST", path, params={"access_token": token}, content=body, headers=_JSON)
        response = await send_safely(self._client, request, call=operation)
        return _json_body(operation, response)

    async def _access_token(self, *, stale: str | None = None) -> str:
        """The cached token, fetched when missing, near expiry, or equal to `stale` (the one upstream refused).

        The lock makes concurrent callers share one fetch; a caller that saw a token refused gets the token another
        task already refreshed instead of fetching again.
        """
        async with self._token_lock:
            if stale is not None and self._token == stale:
                self._token = None
            if self._token is None or self._clock() >= self._token_expires_at:
                self._token, lifetime = await self._fetch_token()
                self._token_expires_at = self._clock() + lifetime
            return self._token

    async def _fetch_token(self) -> tuple[str, float]:
        # A.9.2: stable_token without force_refresh returns the current token or its successor; force_refresh would
        # invalidate tokens other processes hold and is limited to 20 a day.
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self._secret.reveal(),
            "force_refresh": False,
        }
        request = self._client.build_request(
            "POST", TOKEN_PATH, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        response = await send_safely(self._client, request, call="stable_token")
        data = _json_body("stable_token", response)
        _raise_for_errcode("stable_token", data)
        token = data.get("access_token")
        expires_in = data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float) or expires_in <= 0:
            raise UpstreamError(call="stable_token", message="answer has no access_token / expires_in")
        margin = min(TOKEN_SAFETY_MARGIN_S, expires_in / 2)
        return token, float(expires_in) - margin


def _out_coupon_id(payload: Mapping[str, Any]) -> str | None:
    coupon = payload.get("coupon") or payload.get("coupon_stock")  # add / update, update_coupon_stock (A.6)
    value = coupon.get("out_coupon_id") if isinstance(coupon, Mapping) else payload.get("out_coupon_id")
    return str(value) if value is not None else None


def _errcode(data: Mapping[str, Any]) -> int:
    value = data.get("errcode", 0)  # A.1: v2 success examples are `{"errcode": 0}`; a missing errcode is success
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _json_body(operation: str, response: httpx.Response) -> dict[str, Any]:
    """The JSON object of an answer; HTTP-level failures raise (429 / 5xx transient, other statuses not)."""
    status = response.status_code
    if status != 200:
        error_type = TransientUpstreamError if transient_http_status(status) else UpstreamError
        err = error_type(
            call=operation, message=response.reason_phrase or "HTTP error", http_status=status, url=_safe_url(response)
        )
        raise with_retry_after(err, response)
    try:
        data = json.loads(response.content)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise UpstreamError(call=operation, message="answer is not a JSON object", http_status=status)
    return data


def _raise_for_errcode(operation: str, data: Mapping[str, Any]) -> None:
    code = _errcode(data)
    if code == 0:
        return
    errmsg = redact_url(str(data.get("errmsg", "")))
    request_id = request_id_of(errmsg)
    if code in TRANSIENT_ERRCODES:
        raise TransientUpstreamError(call=operation, message=errmsg or "retry later", code=code, request_id=request_id)
    if code == DAILY_QUOTA_ERRCODE:
        raise UpstreamError(
            call=operation,
            message=f"daily API quota reached, not retried in this run ({errmsg}); "
            "reset it in the Mini Program console or wait for tomorrow",
            code=code,
            request_id=request_id,
        )
    if code in TOKEN_ERRCODES and operation != "stable_token":
        errmsg = f"access_token refused again after one refresh ({errmsg})"
    elif operation == "stable_token":
        # A.9.1: at the token endpoint, 40001 / 40125 mean a wrong AppSecret, 40013 a wrong appid, 40164 the IP.
        errmsg = f"cannot get an access_token for this appid and app secret ({errmsg})"
    raise UpstreamError(call=operation, message=errmsg or "error", code=code, request_id=request_id)


def _safe_url(response: httpx.Response) -> str:
    return redact_url(str(response.request.url))
