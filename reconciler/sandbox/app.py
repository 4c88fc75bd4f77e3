"""The sandbox ASGI application: routing, the order of checks, faults, rate limits and the call log.

Order for every API call: route (unknown path / wrong method answered like the real API) -> faults that answer
instead of the API -> authentication (access_token or APIv3 signature) -> rate limit -> the operation ->
`drop_after_commit` faults. Unexpected exceptions become `errcode -1` / `500 SYSTEM_ERROR`, never a traceback.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware

from reconciler.sandbox import admin, media, prerequisites
from reconciler.sandbox.bundles import BundleService
from reconciler.sandbox.codes import CodeService
from reconciler.sandbox.config import SandboxConfig, config_from_mapping
from reconciler.sandbox.credentials import SandboxCredentials
from reconciler.sandbox.faults import DEFAULT_TIMEOUT_S, FaultInjector, FaultRule
from reconciler.sandbox.limits import RateLimiter
from reconciler.sandbox.messages import (
    CODE_FOR_STATUS,
    STATUS_FOR_CODE,
    Answer,
    PayError,
    Request,
    ShopError,
    shop_error,
)
from reconciler.sandbox.shop import ENDPOINTS, USER_COUPON_ENDPOINTS, ShopService
from reconciler.sandbox.signing import BRAND_SCHEME
from reconciler.sandbox.stocks import StockService
from reconciler.sandbox.store import Store
from reconciler.sandbox.stores import STORE_VERBS, StoreService
from reconciler.sandbox.tokens import TokenService
from reconciler.sandbox.wechatpay import BRAND_PREFIX, PREFIX, ProductCouponService

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("reconciler.sandbox")
_REDACT = re.compile(r"(?i)((?:access_token|secret)=)[^&]*")
# Reference C.4: the platform-certificate download (merchants not yet on the WeChat Pay public key).
CERTIFICATES_PATH = "/v3/certificates"
# The SandboxConfig fields the admin API may change at run time (`PUT /_sandbox/switches`): what the docs leave open.
SWITCHES: tuple[str, ...] = (
    "shop_status1_body",
    "shop_not_found_errcode",
    "product_patch_requires_effective",
    "apiv3_key",
    # The account prerequisites (issue 17 item 4, `prerequisites.py`): switched on and off at run time.
    "confirm_required",
    "notify_config_required",
    "unauthorised_brand_ids",
    "unknown_store_ids",  # decision D34
)
MAX_BODY = 8 << 20  # 8 MiB (2 MB images plus multipart overhead fit): the rest is discarded (our default)


class InjectedConnectionDrop(httpx.RemoteProtocolError):
    """Raised after a committed operation to drop the answer (fault kind `drop_after_commit`).

    In-process (httpx.ASGITransport) the client sees this transport error; under uvicorn the connection closes
    after the status line, which the client sees as a dropped connection.
    """


@dataclass(frozen=True)
class Route:
    """What a request addresses: its family, operation name and the handler."""

    family: str  # "token" | "shop" | "pay" | "admin" | "unknown"
    operation: str
    handler: Callable[[Request, Any], Answer] | None = None
    allowed: tuple[str, ...] = ()
    brand: bool = False  # a WeChat Pay brand route (`/brand/...`, reference C.2)
    signed_body: Callable[[Request], bytes] | None = None  # what the signature covers when it is not the body


# `…/stocks/{stock_id}` by method and `…/stocks/{stock_id}/<verb>` -> (operation suffix, handler) (reference B.1).
STOCK_VERBS: dict[str, Callable[[StockService], tuple[str, Callable[[Request, Any, str, str], Answer]]]] = {
    "GET": lambda st: ("get", st.get_stock),
    "PATCH": lambda st: ("patch", st.patch_stock),
    "deactivate": lambda st: ("deactivate", st.deactivate_stock),
    "update-budget": lambda st: ("update_budget", st.update_budget),
}


def redact(path: str) -> str:
    return _REDACT.sub(r"\1REDACTED", path)


class Sandbox:
    """All the emulator's state and behaviour, independent of any HTTP server."""

    def __init__(self, credentials: SandboxCredentials, config: SandboxConfig, data: str | None) -> None:
        self.credentials = credentials
        self.config = config
        self.store = Store(data)
        self.tokens = TokenService(self.store, credentials, config)
        self.shop = ShopService(self.store, credentials, config)
        self.pay = ProductCouponService(self.store, credentials, config)
        self.stocks = StockService(self.pay)  # reads the config through self.pay (switches apply at once)
        self.bundles = BundleService(self.stocks)
        self.codes = CodeService(self.stocks)  # coupon code upload (decision D35)
        self.stores = StoreService(self.stocks)  # store association (decision D34)
        self.limiter = RateLimiter(config.rate_limits, config.rate_limit_burst_s, config.clock)
        self.faults = FaultInjector()
        self._calls: list[dict[str, Any]] = []
        self._seq = 0
        self._calls_lock = threading.Lock()

    def close(self) -> None:
        """Close the data file (the app is unusable afterwards)."""
        self.store.close()

    def set_switches(self, values: dict[str, Any]) -> dict[str, Any]:
        """Change the switches of `SWITCHES` at run time (admin API): the services read the new config at once."""
        unknown = sorted(set(values) - set(SWITCHES))
        if unknown:
            raise ValueError(f"unknown switches: {', '.join(unknown)} (switches: {', '.join(SWITCHES)})")
        config = config_from_mapping(values, self.config)
        self.config = self.tokens.config = self.shop.config = self.pay.config = config
        return self.switches()

    def switches(self) -> dict[str, Any]:
        return {name: getattr(self.config, name) for name in SWITCHES}

    def _by_certificate(self, route: Route, request: Request) -> bool:
        """Sign this WeChat Pay answer with the platform certificate? (the certificate download always is)"""
        if route.operation == "certificates":
            return bool(self.config.apiv3_key)
        return self.pay.certificate_mode(request)

    # --- call log -----------------------------------------------------------------------------------------------

    def calls(self) -> list[dict[str, Any]]:
        with self._calls_lock:
            return [dict(c) for c in self._calls]

    def clear_calls(self) -> int:
        with self._calls_lock:
            count = len(self._calls)
            self._calls.clear()
            return count

    def _log(self, route: Route, request: Request, answer: Answer | None, out_request_no: str | None) -> None:
        entry: dict[str, Any] = {
            "operation": route.operation,
            "method": request.method,
            "path": redact(request.raw_url),
            "http_status": answer.status if answer is not None else 0,
        }
        key = "code" if route.family == "pay" else "errcode"
        entry[key] = answer.log_code if answer is not None else None
        if answer is None:
            entry["dropped"] = True
        if out_request_no:
            entry["out_request_no"] = out_request_no
        if answer is not None and answer.log_extra:
            entry.update(answer.log_extra)
        entry["at"] = self.config.clock()
        with self._calls_lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._calls.append(entry)

    # --- routing ------------------------------------------------------------------------------------------------

    def route(self, request: Request) -> Route:
        path = request.path
        if path.startswith(admin.PREFIX):
            return Route("admin", "admin")
        if path == "/cgi-bin/token":
            return Route("token", "token", lambda r, _m: self.tokens.get_token(r), ("GET",))
        if path == "/cgi-bin/stable_token":
            return Route("token", "stable_token", lambda r, _m: self.tokens.stable_token(r), ("POST",))
        if path.startswith("/shop/coupon/"):
            name = path[len("/shop/coupon/") :]
            if name in ENDPOINTS or name in USER_COUPON_ENDPOINTS:
                return Route("shop", f"shop.{name}", lambda r, _m: self.shop.handle(name, r), ("POST",))
        if path.startswith(("/v3/", "/brand/")):
            return self._pay_route(path, request.method)
        return Route("unknown", "unknown")

    def _pay_route(self, path: str, method: str) -> Route:
        if path == CERTIFICATES_PATH:
            return Route("pay", "certificates", self.pay.certificates, ("GET",))
        if path in prerequisites.NOTIFY_CONFIG_PATHS or path in prerequisites.BRAND_NOTIFY_CONFIG_PATHS:
            brand = path.startswith("/brand/")
            handler = lambda r, c: prerequisites.handle_notify_configs(self.pay, r, c)  # noqa: E731
            return Route("pay", f"{'brand.' if brand else ''}product.notify_configs", handler, ("GET", "POST"), brand)
        if path in media.UPLOAD_PATHS:
            return Route("pay", "product.media.upload_image", self.pay.upload_image, ("POST",),
                         signed_body=media.signed_meta)  # fmt: skip
        for prefix, namespace, brand in ((PREFIX, "product", False), (BRAND_PREFIX, "brand.product", True)):
            route = self._product_route(path, method, prefix, namespace, brand)
            if route is not None:
                return route
        return Route("pay", "unknown", brand=path.startswith("/brand/"))

    def _product_route(self, path: str, method: str, prefix: str, ns: str, brand: bool) -> Route | None:
        pay, st, bs = self.pay, self.stocks, self.bundles
        if path == prefix:
            return Route("pay", f"{ns}.create", pay.create, ("POST",), brand)
        if not path.startswith(prefix + "/"):
            return None
        parts = path[len(prefix) + 1 :].split("/")
        pid = parts[0]
        if not pid:
            return None
        match parts[1:]:
            case [] if method == "PATCH":
                return Route("pay", f"{ns}.patch", lambda r, c: pay.patch(r, c, pid), ("GET", "PATCH"), brand)
            case []:
                return Route("pay", f"{ns}.get", lambda r, c: pay.get(r, c, pid), ("GET", "PATCH"), brand)
            case ["deactivate"]:
                return Route("pay", f"{ns}.deactivate", lambda r, c: pay.deactivate(r, c, pid), ("POST",), brand)
            case ["stocks"]:
                op, handler = ("create", st.add_stock) if method == "POST" else ("list", st.list_stocks)
                return Route("pay", f"{ns}.stocks.{op}", lambda r, c: handler(r, c, pid), ("GET", "POST"), brand)
            case ["stocks", sid] if sid:
                op, one = STOCK_VERBS["PATCH" if method == "PATCH" else "GET"](st)
                return Route("pay", f"{ns}.stocks.{op}", lambda r, c: one(r, c, pid, sid), ("GET", "PATCH"), brand)
            case ["stocks", sid, verb] if sid and verb in STORE_VERBS:  # decision D34
                op, handler, allowed = STORE_VERBS[verb](self.stores)
                return Route("pay", f"{ns}.stocks.{op}", lambda r, c: handler(r, c, pid, sid), allowed, brand)
            case ["stocks", sid, "upload-coupon-codes"] if sid:  # decision D35
                codes = self.codes
                return Route("pay", f"{ns}.stocks.upload_codes", lambda r, c: codes.upload(r, c, pid, sid), ("POST",),
                             brand)  # fmt: skip
            case ["stocks", sid, verb] if sid and verb in {"deactivate", "update-budget"}:
                op, one = STOCK_VERBS[verb](st)
                return Route("pay", f"{ns}.stocks.{op}", lambda r, c: one(r, c, pid, sid), ("POST",), brand)
            case ["stock-bundles"]:
                return Route("pay", f"{ns}.stock_bundles.create", lambda r, c: bs.add_bundle(r, c, pid), ("POST",),
                             brand)  # fmt: skip
            case ["stock-bundles", bid] if bid:
                return Route("pay", f"{ns}.stock_bundles.patch", lambda r, c: bs.patch_bundle(r, c, pid, bid),
                             ("PATCH",), brand)  # fmt: skip
            case ["stock-bundles", bid, "update-budget"] if bid:
                return Route("pay", f"{ns}.stock_bundles.update_budget",
                             lambda r, c: bs.update_bundle_budget(r, c, pid, bid), ("POST",), brand)  # fmt: skip
        return None

    # --- the request cycle --------------------------------------------------------------------------------------

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        request = Request.from_scope(dict(scope), body)
        route = self.route(request)
        if route.family == "admin":
            await _send(send, admin.handle_admin(self, request))
            return
        answer, dropped = await self._answer(route, request, receive)
        if route.family == "pay" and not route.brand and answer.status < 500 and self._by_certificate(route, request):
            answer = self.pay.sign_with_certificate(answer)
        if route.brand:
            # C.2: brand answers name the brand scheme; the header is not covered by the signature.
            answer.headers = [(k, BRAND_SCHEME if k == "wechatpay-signature-type" else v) for k, v in answer.headers]
        self._log(route, request, None if dropped else answer, _out_request_no(request))
        if dropped:
            await send({"type": "http.response.start", "status": answer.status, "headers": _raw(answer.headers)})
            raise InjectedConnectionDrop("connection dropped after the operation was committed (injected fault)")
        await _send(send, answer)

    async def _answer(self, route: Route, request: Request, receive: Receive) -> tuple[Answer, bool]:
        try:
            latency = self.faults.pick(route.operation, ("latency",))
            if latency is not None:
                await anyio.sleep(float(latency.value))
            fault = self.faults.pick(route.operation, ("timeout", "http_status", "errcode"))
            if fault is not None:
                if fault.kind == "timeout":
                    await _wait_or_disconnect(receive, float(fault.value or DEFAULT_TIMEOUT_S))
                return self._fault_answer(route, fault), False
            answer = self._call(route, request)
            # Only a committed success is dropped: a refused call has nothing to lose.
            succeeded = answer.status < 300 and answer.log_code in (0, None)
            drop = succeeded and self.faults.pick(route.operation, ("drop_after_commit",)) is not None
            return answer, drop
        except Exception:  # never a traceback to the caller: the real APIs answer a system error
            log.exception("sandbox: unexpected error in %s", route.operation)
            if route.family == "pay":
                return self.pay.error(PayError("SYSTEM_ERROR", "系统错误")), False
            return shop_error(-1, "system error"), False

    def _call(self, route: Route, request: Request) -> Answer:
        if route.family == "pay":
            return self._call_pay(route, request)
        if route.family == "unknown" or route.handler is None:
            return shop_error(40066, "invalid url")
        try:
            if request.method not in route.allowed:
                if route.allowed == ("GET",):
                    return shop_error(43001, "require GET method")
                return shop_error(43002, "require POST method")
            if route.family == "shop":
                self.tokens.check_access_token(request)
                if not self.limiter.allow(route.operation):
                    return self._shop_throttled()
            elif not self.limiter.allow(route.operation):
                return self._shop_throttled()
            return route.handler(request, "")
        except ShopError as exc:
            return shop_error(exc.errcode, exc.errmsg)

    def _shop_throttled(self) -> Answer:
        code = self.config.shop_rate_limit_errcode
        message = "reach max api daily quota limit" if code == 45009 else "instantaneous frequency too high"
        return shop_error(code, message)

    def _call_pay(self, route: Route, request: Request) -> Answer:
        try:
            if route.operation == "unknown":
                raise PayError("NOT_FOUND", "请求的资源不存在 (no such API)")
            if request.method not in route.allowed:
                raise PayError("METHOD_NOT_ALLOWED", f"该接口不支持 {request.method} 方法")
            signed_body = route.signed_body(request) if route.signed_body is not None else None
            caller = self.pay.authenticate(request, route.brand, signed_body)
            if not self.limiter.allow(route.operation):
                raise PayError("RATELIMIT_EXCEEDED", "请求过于频繁，请稍后重试")
            assert route.handler is not None
            return route.handler(request, caller)
        except PayError as exc:
            return self.pay.error(exc)

    def _fault_answer(self, route: Route, fault: FaultRule) -> Answer:
        if route.family == "pay":
            if fault.kind == "errcode":
                code = str(fault.value)
                return self.pay.error(PayError(code, f"injected fault: {code}", status=STATUS_FOR_CODE.get(code, 500)))
            status = int(fault.value) if fault.kind == "http_status" else 500
            code = CODE_FOR_STATUS.get(status, "SYSTEM_ERROR" if status < 502 else "SERVICE_UNAVAILABLE")
            return self.pay.error(PayError(code, f"injected fault: HTTP {status}", status=status))
        if fault.kind == "errcode":
            errcode = int(fault.value)
            return shop_error(errcode, _SHOP_MESSAGES.get(errcode, "injected fault"))
        status = int(fault.value) if fault.kind == "http_status" else 200
        return shop_error(-1, "system error", status=status)


_SHOP_MESSAGES = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    42001: "access_token expired",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit must slower retry next minute",
    300000: "instantaneous frequency too high",
}


def _out_request_no(request: Request) -> str | None:
    if not request.body or b"out_request_no" not in request.body:
        return None
    try:
        import json

        value = json.loads(request.body).get("out_request_no")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) else None


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _wait_or_disconnect(receive: Receive, seconds: float) -> None:
    """Hang like a stuck upstream until the client gives up (disconnects) or `seconds` pass."""
    with anyio.move_on_after(seconds):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return


def _raw(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


async def _send(send: Send, answer: Answer) -> None:
    headers = [*answer.headers, ("content-length", str(len(answer.body)))]
    await send({"type": "http.response.start", "status": answer.status, "headers": _raw(headers)})
    await send({"type": "http.response.body", "body": answer.body})


class SandboxMiddleware:
    """Serves every HTTP request from the Sandbox; lifespan and other scopes pass through to Starlette."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.sandbox.handle(scope, receive, send)


def create_app(
    credentials: SandboxCredentials, config: SandboxConfig | None = None, data: str | None = None
) -> Starlette:
    """The sandbox as an ASGI app; `data=None` keeps everything in memory, a path persists to that SQLite file.

    `app.state.sandbox` is the `Sandbox` behind it (for in-process tests and the embedded mode).
    """
    sandbox = Sandbox(credentials, config or SandboxConfig(), data)
    app = Starlette(middleware=[Middleware(SandboxMiddleware, sandbox=sandbox)])
    app.state.sandbox = sandbox
    return app
