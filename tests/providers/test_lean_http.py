"""The lean HTTP/1.1 transport against a real socket server: bodies by length and chunked, keep-alive reuse, a server
that closes, timeouts and refused connections becoming httpx's exception types (which send_safely maps)."""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest

from reconciler.errors import TransientUpstreamError
from reconciler.providers.lean_http import LeanTransport, lean_transport
from reconciler.providers.transport import build_request, send_safely

Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # request head -> keep the connection open?


async def _serve(handler: Handler) -> tuple[asyncio.Server, str, list[int]]:
    connections: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                if not await handler(head + body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", connections


def _answer(body: bytes, *, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        len(body),
        extra,
        body,
    )


def test_bodies_by_length_and_chunked_and_one_reused_connection() -> None:
    seen: list[bytes] = []

    async def handler(request: bytes, writer: asyncio.StreamWriter) -> bool:
        seen.append(request)
        if b"/chunked" in request.split(b"\r\n", 1)[0]:
            writer.write(
                b'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n'
            )
        else:
            writer.write(_answer(b'{"ok":true}', extra=b"Request-ID: r-1\r\n"))
        await writer.drain()
        return True

    async def scenario() -> None:
        server, url, connections = await _serve(handler)
        async with httpx.AsyncClient(base_url=url, transport=LeanTransport()) as client:
            for _ in range(3):
                response = await client.post("/x", content=b'{"n":1}', headers={"Content-Type": "application/json"})
                assert response.status_code == 200 and response.json() == {"ok": True}
                assert response.headers["Request-ID"] == "r-1" and response.reason_phrase == "OK"
            chunked = await client.get("/chunked", params={"q": "1"})
            assert chunked.status_code == 201 and chunked.json() == {"a": 1}
        server.close()
        await server.wait_closed()
        assert len(connections) == 1  # kept alive and reused
        assert seen[0].startswith(b"POST /x HTTP/1.1\r\n") and seen[0].endswith(b'\r\n\r\n{"n":1}')
        assert b"content-length: 7" in seen[0].lower() and b"host: 127.0.0.1" in seen[0].lower()
        assert seen[3].startswith(b"GET /chunked?q=1 HTTP/1.1\r\n")

    asyncio.run(scenario())


def test_a_connection_the_server_closes_is_not_reused() -> None:
    async def handler(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(_answer(b"{}", extra=b"Connection: close\r\n"))
        await writer.drain()
        return False

    async def scenario() -> None:
        server, url, connections = await _serve(handler)
        async with httpx.AsyncClient(base_url=url, transport=LeanTransport()) as client:
            for _ in range(3):
                assert (await client.get("/")).status_code == 200
        server.close()
        await server.wait_closed()
        assert len(connections) == 3

    asyncio.run(scenario())


def test_timeouts_and_refused_connections_are_transient_errors_without_the_url() -> None:
    async def silent(request: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    async def scenario() -> None:
        server, url, _ = await _serve(silent)
        async with httpx.AsyncClient(base_url=url, transport=LeanTransport(), timeout=0.2) as client:
            request = client.build_request("POST", "/x", params={"access_token": "SECRET-TOKEN"}, content=b"{}")
            with pytest.raises(TransientUpstreamError) as info:
                await send_safely(client, request, call="shop.add")
            assert "timed out" in str(info.value) and "SECRET-TOKEN" not in str(info.value)
        server.close()
        await server.wait_closed()
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{free}", transport=LeanTransport()) as client:
            with pytest.raises(TransientUpstreamError, match="connection failed"):
                await send_safely(client, client.build_request("GET", "/"), call="product.get")

    asyncio.run(scenario())


def test_a_server_that_hangs_up_mid_answer_is_transient() -> None:
    async def cut(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
        await writer.drain()
        return False

    async def scenario() -> None:
        server, url, _ = await _serve(cut)
        async with httpx.AsyncClient(base_url=url, transport=LeanTransport()) as client:
            with pytest.raises(TransientUpstreamError, match="connection failed"):
                await send_safely(client, client.build_request("GET", "/"), call="product.get")
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_a_proxy_in_the_environment_keeps_httpx_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COUPONCTL_HTTP_TRANSPORT", raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(lean_transport("https://api.mch.weixin.qq.com"), LeanTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert lean_transport("https://api.mch.weixin.qq.com") is None


def test_couponctl_http_transport_httpx_keeps_httpx_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decision D37's way back: `COUPONCTL_HTTP_TRANSPORT=httpx` gives the providers httpx's own transport."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COUPONCTL_HTTP_TRANSPORT", "httpx")
    assert lean_transport("http://127.0.0.1:8080") is None
    monkeypatch.setenv("COUPONCTL_HTTP_TRANSPORT", "lean")
    assert isinstance(lean_transport("http://127.0.0.1:8080"), LeanTransport)


@pytest.mark.parametrize(
    ("method", "path", "params", "content", "headers"),
    [
        ("POST", "/shop/coupon/add", {"access_token": "t0k+n/=&x"}, b'{"a":1}', {"Content-Type": "application/json"}),
        ("GET", "/v3/marketing/partner/product-coupon/product-coupons/1000%2F1", {"brand_id": "120344"}, None, None),
        ("PATCH", "/v3/x", None, b"{}", {"Content-Type": "application/json"}),
    ],
)
def test_build_request_is_what_httpx_builds(
    method: str, path: str, params: dict[str, str] | None, content: bytes | None, headers: dict[str, str] | None
) -> None:
    """The one-parse request builder gives the URL (signed as sent), headers and timeout httpx's own would."""
    client = httpx.AsyncClient(base_url="https://api.example.com/", timeout=httpx.Timeout(7.0))
    ours = build_request(client, method, path, params=params, content=content, headers=headers)
    theirs = client.build_request(method, path, params=params, content=content, headers=headers)
    assert ours.url == theirs.url and ours.url.raw_path == theirs.url.raw_path
    assert ours.headers.multi_items() == theirs.headers.multi_items()
    assert ours.extensions["timeout"] == theirs.extensions["timeout"] and ours.content == theirs.content


def test_a_gzip_answer_is_decoded_as_httpx_decodes_it() -> None:
    """httpx asks for gzip by default; the body the providers verify and parse is the decoded one, as before."""
    compressed = gzip.compress(b'{"ok":true}')

    async def handler(request: bytes, writer: asyncio.StreamWriter) -> bool:
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(compressed)
        writer.write(head + compressed)
        await writer.drain()
        return True

    async def scenario() -> None:
        server, url, _ = await _serve(handler)
        async with httpx.AsyncClient(base_url=url, transport=LeanTransport()) as client:
            response = await client.get("/")
            assert response.content == b'{"ok":true}' and response.json() == {"ok": True}
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
