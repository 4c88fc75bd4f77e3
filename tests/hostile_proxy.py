"""A hostile upstream for tests: a loopback HTTP proxy in front of the served sandbox that spoils the signed
responses of WeChat Pay calls in one chosen way (contract §4 "tampered or unsigned responses").

Modes: "tamper_body" (change the body, keep the signature), "wrong_key" (re-sign with a key WeChat never
published), "strip_signature" (drop Wechatpay-Signature), "stale" (re-sign with a timestamp 10 minutes old),
"replay" (answer every call after the first with the first signed answer, headers and all), "pass" (forward).
Only 2xx responses under /v3/ are spoiled; everything else is forwarded as is.

The proxy does no costly work per request (the TLS context of its upstream client and the keys it signs with
are made once): the CLI under test gives every call a short timeout, and a proxy that spent a few hundred ms of CPU
per answer turned load on the machine into timeouts, retries and, at worst, a run that failed for the wrong reason.
"""

from __future__ import annotations

import base64
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


@dataclass
class HostileProxy:
    upstream: str
    mode: str = "pass"
    wechatpay_private_key_pem: bytes | None = None
    spoiled: int = 0
    _first: tuple[int, dict[str, str], bytes] | None = field(default=None, repr=False)
    url: str = ""
    # Made once, not per request: loading the CA bundle for a new client costs ~0.2 s of CPU, an RSA key ~0.4 s.
    _tls: ssl.SSLContext = field(default_factory=ssl.create_default_context, repr=False)
    _wrong_key: rsa.RSAPrivateKey | None = field(default=None, repr=False)
    _real_key: rsa.RSAPrivateKey | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.mode == "wrong_key":
            self._wrong_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if self.mode == "stale":
            assert self.wechatpay_private_key_pem is not None, "stale mode re-signs with the real key"
            real = serialization.load_pem_private_key(self.wechatpay_private_key_pem, password=None)
            assert isinstance(real, rsa.RSAPrivateKey)
            self._real_key = real

    def _sign(self, key: rsa.RSAPrivateKey, timestamp: str, nonce: str, body: bytes) -> str:
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()

    def spoil(self, status: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.mode == "replay":
            if self._first is None:
                self._first = (status, dict(headers), body)
                return status, headers, body
            self.spoiled += 1
            return self._first
        self.spoiled += 1
        if self.mode == "tamper_body":
            return (
                status,
                headers,
                body.replace(b'"EFFECTIVE"', b'"EFFECTIVF"') if b"EFFECTIVE" in body else body + b" ",
            )
        if self.mode == "strip_signature":
            return status, {k: v for k, v in headers.items() if k.lower() != "wechatpay-signature"}, body
        if self.mode == "wrong_key":
            assert self._wrong_key is not None
            headers["wechatpay-signature"] = self._sign(
                self._wrong_key, headers["wechatpay-timestamp"], headers["wechatpay-nonce"], body
            )
            return status, headers, body
        if self.mode == "stale":
            assert self._real_key is not None
            old = str(int(time.time()) - 600)
            headers["wechatpay-timestamp"] = old
            headers["wechatpay-signature"] = self._sign(self._real_key, old, headers["wechatpay-nonce"], body)
            return status, headers, body
        self.spoiled -= 1
        return status, headers, body

    def app(self) -> Starlette:
        async def forward(request: Request) -> Response:
            url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", *HOP_HEADERS}}
            async with httpx.AsyncClient(base_url=self.upstream, timeout=30, verify=self._tls) as client:
                upstream = await client.request(request.method, url, content=await request.body(), headers=headers)
            out_headers = {k.lower(): v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
            status, body = upstream.status_code, upstream.content
            if request.url.path.startswith("/v3/") and 200 <= status < 300 and self.mode != "pass":
                status, out_headers, body = self.spoil(status, out_headers, body)
            return Response(content=body, status_code=status, headers=out_headers)

        methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


@contextmanager
def hostile_proxy(upstream: str, mode: str, wechatpay_private_key_pem: bytes | None = None) -> Iterator[HostileProxy]:
    """Serve a HostileProxy on 127.0.0.1 (a free port) in a thread for the duration of the block."""
    proxy = HostileProxy(upstream=upstream, mode=mode, wechatpay_private_key_pem=wechatpay_private_key_pem)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # Listening before the server thread runs: a client connecting early waits in the backlog until uvicorn
    # accepts, instead of being refused (a start-up race that load on the machine could lose).
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(proxy.app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    proxy.url = f"http://127.0.0.1:{port}"
    try:
        yield proxy
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
