"""A small HTTP/1.1 transport for httpx over asyncio streams: keep-alive, TLS, timeouts, nothing else.

httpx's default transport (httpcore over anyio) costs more CPU per request than the rest of a call together: with
limits lifted, each request and each finished response rescans every pooled connection and asks each idle one
whether its socket is readable through anyio's typed attributes (a dict of lambdas built per call). This transport
keeps what couponctl uses (HTTP/1.1 requests with a known body, `Content-Length` or chunked answers, connections
reused while the server keeps them open, httpx's timeouts and its exception types, which `transport.send_safely`
maps to our errors) and reuses an idle connection after one cheap check (the server has not closed it).

Not supported (the providers fall back to httpx's own transport, `lean_transport`): proxies from the environment,
HTTP/2. A reused connection the server closed at the same instant fails like httpcore's ("server disconnected"):
transient, retried by the pacer (decision D5 reads a shop coupon back first; WeChat Pay calls carry request numbers).

Refused as a malformed answer (never guessed at): Content-Length with chunked, conflicting or non-decimal lengths, a
body over `MAX_BODY`. A connection with bytes beyond its answer is never reused (they would be read as the next
request's answer), and a header name or value with CR, LF or NUL is never sent (`httpx.LocalProtocolError`).
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import urllib.request
from collections.abc import Iterable

import httpx

_MAX_HEAD = 64 * 1024  # status line and headers
MAX_BODY = 8 * 1024 * 1024  # WeChat answers are small JSON pages; anything larger is refused before it is buffered
_BAD_VALUE = re.compile(rb"[\r\n\0]")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")
_NO_BODY = frozenset({204, 304})
_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def lean_transport(base_url: str) -> httpx.AsyncBaseTransport | None:
    """The lean transport for `base_url`, or None (httpx's default) when the environment names a proxy, which
    httpx honours and this transport does not, or when `COUPONCTL_HTTP_TRANSPORT=httpx` asks for it (decision D37:
    the way back to httpx's own transport, should a network in between need what this one leaves out)."""
    if os.environ.get("COUPONCTL_HTTP_TRANSPORT", "").strip().lower() == "httpx":
        return None
    if urllib.request.getproxies():
        return None
    if httpx.URL(base_url).scheme not in ("http", "https"):
        return None
    return LeanTransport()


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with a pool of idle keep-alive connections per origin."""

    def __init__(self, *, max_idle: int = 64) -> None:
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._max_idle = max_idle
        self._ssl: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme, host = url.scheme, url.host
        port = url.port or (443 if scheme == "https" else 80)
        origin = (scheme, host, port)
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()
        try:
            head = _request_head(request.method, url.raw_path, request.headers.raw, len(body))
        except ValueError as exc:  # never sent: a CR/LF in a header would split the request (h11 refuses it too)
            raise httpx.LocalProtocolError(str(exc), request=request) from None
        conn = self._reuse(origin)
        if conn is None:
            conn = await self._connect(scheme, host, port, timeouts.get("connect"))
        reader, writer = conn
        keep = False
        try:
            try:
                writer.write(head + body if len(body) < 65536 else head)
                if len(body) >= 65536:
                    writer.write(body)
                async with asyncio.timeout(timeouts.get("write")):
                    await writer.drain()
            except TimeoutError:
                raise httpx.WriteTimeout("timed out sending the request", request=request) from None
            except OSError as exc:
                raise httpx.WriteError(f"{type(exc).__name__} while sending the request", request=request) from None
            try:
                async with asyncio.timeout(timeouts.get("read")):
                    status, reason, headers, content, keep = await _read_response(reader, request.method)
                keep = keep and not _buffered(reader)  # bytes beyond the answer: never read as the next one
            except TimeoutError:
                raise httpx.ReadTimeout("timed out reading the response", request=request) from None
            except asyncio.IncompleteReadError:
                raise httpx.RemoteProtocolError(
                    "server disconnected without sending a complete response", request=request
                ) from None
            except (asyncio.LimitOverrunError, ValueError) as exc:
                raise httpx.RemoteProtocolError(f"malformed response: {exc}", request=request) from None
            except OSError as exc:
                raise httpx.ReadError(f"{type(exc).__name__} while reading the response", request=request) from None
        finally:
            if keep:
                self._release(origin, conn)
            else:
                writer.close()
        return httpx.Response(
            status,
            headers=headers,
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    def _reuse(self, origin: tuple[str, str, int]) -> _Conn | None:
        idle = self._idle.get(origin)
        while idle:
            reader, writer = idle.pop()
            if not reader.at_eof() and not writer.is_closing() and not _buffered(reader):
                return reader, writer
            writer.close()  # closed by the server meanwhile: never reused
        return None

    def _release(self, origin: tuple[str, str, int], conn: _Conn) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) >= self._max_idle:
            conn[1].close()
        else:
            idle.append(conn)

    async def _connect(self, scheme: str, host: str, port: int, timeout: float | None) -> _Conn:
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()  # httpx's own verification defaults (certifi, SSL_CERT_FILE)
                self._ssl.set_alpn_protocols(["http/1.1"])
            context = self._ssl
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.open_connection(
                    host, port, ssl=context, server_hostname=host if context else None, limit=_MAX_HEAD
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port} ({type(exc).__name__})") from None

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for _, writer in conns:
                writer.close()


def _request_head(method: str, target: bytes, headers: Iterable[tuple[bytes, bytes]], length: int) -> bytes:
    lines = [method.encode("ascii") + b" " + target + b" HTTP/1.1"]
    has_length = False
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise ValueError("a header name or value holds a control character")
        lower = name.lower()
        if lower == b"content-length":
            has_length = True
        elif lower == b"transfer-encoding":  # the body is whole: send it with its length
            continue
        lines.append(name + b": " + value)
    if not has_length and (length or method not in ("GET", "HEAD")):
        lines.append(b"Content-Length: " + str(length).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _read_response(
    reader: asyncio.StreamReader, method: str
) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes, bool]:
    """Status, reason, headers, the whole body, and whether the connection may be reused."""
    while True:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw[:-4].split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code, _, reason = rest.partition(b" ")
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise ValueError("not an HTTP/1.x status line")
        status = int(code)
        if not 100 <= status < 200 or status == 101:
            break  # 1xx interim answers (100 Continue) are skipped
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    chunked = False
    close = version == b"HTTP/1.0"
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError("header line without a colon")
        if not _TOKEN.fullmatch(name):  # "Content-Length : 5" or a folded line: refused, as h11 does
            raise ValueError("invalid header name")
        value = value.strip()
        lower = name.lower()
        if lower == b"content-length":
            if not value.isdigit() or (length is not None and length != int(value)):
                raise ValueError("invalid or conflicting Content-Length")
            length = int(value)
        elif lower == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif lower == b"connection":
            token = value.lower()
            close = b"close" in token or (close and b"keep-alive" not in token)
        headers.append((name, value))
    if chunked and length is not None:
        raise ValueError("both Content-Length and Transfer-Encoding: chunked")
    if length is not None and length > MAX_BODY:
        raise ValueError(f"answer of {length} bytes, larger than {MAX_BODY}")
    if method == "HEAD" or status in _NO_BODY:
        content = b""
    elif chunked:
        content = await _read_chunked(reader)
        headers = [(n, v) for n, v in headers if n.lower() != b"transfer-encoding"]  # the body is whole now
    elif length is not None:
        content = await reader.readexactly(length)
    else:
        content = await _read_until_close(reader)  # delimited by the server closing the connection
        close = True
    return status, reason, headers, content, not close


def _buffered(reader: asyncio.StreamReader) -> bool:
    """Whether bytes the server sent beyond the last answer wait in the reader (asyncio has no public accessor)."""
    return bool(getattr(reader, "_buffer", b""))


async def _read_until_close(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    total = 0
    while part := await reader.read(65536):
        total += len(part)
        if total > MAX_BODY:
            raise ValueError(f"answer larger than {MAX_BODY} bytes")
        parts.append(part)
    return b"".join(parts)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        digits = size_line.split(b";", 1)[0].strip()
        if not _HEX.fullmatch(digits):  # int(..., 16) would take "0x1f", "+1f" or "1_f"
            raise ValueError("invalid chunk size")
        size = int(digits, 16)
        total += size
        if total > MAX_BODY:
            raise ValueError(f"answer larger than {MAX_BODY} bytes")
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, ignored
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
