"""The lean HTTP/1.1 transport against a misbehaving server: bytes after an answer are never read as the next answer,
ambiguous framing and oversized bodies are refused, header values that would split the request are never sent,
a cancelled request never leaves its connection in the pool, and TLS verifies the server's certificate."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from reconciler.providers import lean_http
from reconciler.providers.lean_http import LeanTransport
from tests.providers.test_lean_http import _answer, _serve

_STRAY = b'HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{"stray":"yes"}'


@pytest.mark.parametrize("late", [False, True])
def test_bytes_after_an_answer_are_never_read_as_the_next_answer(late: bool) -> None:
    """A server that sends more than one answer (at once, or a moment later while the connection is idle): the
    second request must get its own answer from a fresh connection, never the stray bytes."""
    count = 0

    async def handler(request: bytes, writer: asyncio.StreamWriter) -> bool:
        nonlocal count
        count += 1
        if count == 1:
            writer.write(_answer(b'{"n":1}') + (b"" if late else _STRAY))
            await writer.drain()
            if late:
                await asyncio.sleep(0.05)
                writer.write(_STRAY)
                await writer.drain()
        else:
            writer.write(_answer(b'{"n":%d}' % count))
            await writer.drain()
        return True

    async def scenario() -> None:
        server, url, connections = await _serve(handler)
        async with httpx.AsyncClient(base_url=url, transport=LeanTransport()) as client:
            assert (await client.get("/1")).json() == {"n": 1}
            await asyncio.sleep(0.2)  # the late bytes reach the idle connection's buffer
            second = await client.get("/2")
            assert second.json() != {"stray": "yes"}
            assert second.json() == {"n": 2}
        server.close()
        await server.wait_closed()
        assert len(connections) == 2

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 7\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1_0\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\n{}\r\n0\r\n\r\n",
    ],
    ids=[
        "length-and-chunked",
        "two-lengths",
        "signed-length",
        "underscored-length",
        "space-before-colon",
        "hex-prefixed-chunk",
        "signed-chunk",
    ],
)
def test_ambiguous_framing_is_refused(answer: bytes) -> None:
    async def handler(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer)
        await writer.drain()
        return True

    async def scenario() -> None:
        server, url, _ = await _serve(handler)
        transport = LeanTransport()
        async with httpx.AsyncClient(base_url=url, transport=transport, timeout=2) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get("/")
            assert not any(transport._idle.values())  # never pooled
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


@pytest.mark.parametrize("framing", ["length", "chunked", "until-close"])
def test_an_answer_larger_than_the_cap_is_refused_before_it_is_read(framing: str) -> None:
    cap = lean_http.MAX_BODY

    async def handler(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if framing == "length":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n{" % (50 * 1024**3))
            await writer.drain()
            await asyncio.sleep(5)  # would be waited for (and buffered) by a reader that trusts the length
        elif framing == "chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(cap // 65536 + 2):
                writer.write(b"10000\r\n" + b"x" * 65536 + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\n\r\n")
            for _ in range(cap // 65536 + 2):
                writer.write(b"x" * 65536)
                await writer.drain()
            return False
        await writer.drain()
        return True

    async def scenario() -> None:
        server, url, _ = await _serve(handler)
        async with httpx.AsyncClient(base_url=url, transport=LeanTransport(), timeout=10) as client:
            started = time.monotonic()
            with pytest.raises(httpx.RemoteProtocolError, match="larger than"):
                await client.get("/")
            assert time.monotonic() - started < 4
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "headers",
    [{"X-A": "v\r\nX-Injected: 1"}, {"X-A": "v\nX-Injected: 1"}, {"X-A\r\nX-Injected": "1"}, {"X-A": "v\0"}],
)
def test_header_values_that_would_split_the_request_are_never_sent(headers: dict[str, str]) -> None:
    seen: list[bytes] = []

    async def handler(request: bytes, writer: asyncio.StreamWriter) -> bool:
        seen.append(request)
        writer.write(_answer(b"{}"))
        await writer.drain()
        return True

    async def scenario() -> None:
        server, url, connections = await _serve(handler)
        async with httpx.AsyncClient(base_url=url, transport=LeanTransport()) as client:
            with pytest.raises(httpx.LocalProtocolError):
                await client.post("/", content=b"{}", headers=headers)
        server.close()
        await server.wait_closed()
        assert seen == [] and connections == []

    asyncio.run(scenario())


def test_a_cancelled_request_closes_its_connection() -> None:
    async def scenario() -> None:
        hung_up = asyncio.Event()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{")  # then nothing: the client waits
            await writer.drain()
            assert await reader.read() == b""  # the client closed its end
            hung_up.set()
            writer.close()

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        transport = LeanTransport()
        async with httpx.AsyncClient(base_url=url, transport=transport, timeout=10) as client:
            task = asyncio.create_task(client.get("/"))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.wait_for(hung_up.wait(), 2)
            assert not any(transport._idle.values())
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
    names = ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)]
    subprocess.run([*request, *names], check=True, capture_output=True)
    return cert, key


def test_https_to_a_self_signed_server_fails_verification(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _self_signed(tmp_path)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)

    async def scenario() -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(_answer(b"{}"))
                await writer.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=context)
        url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with httpx.AsyncClient(base_url=url, transport=LeanTransport(), timeout=5) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/")
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_what_httpx_gave_the_providers_is_still_there() -> None:
    seen: list[bytes] = []

    async def handler(request: bytes, writer: asyncio.StreamWriter) -> bool:
        seen.append(request)
        writer.write(_answer(b"{}"))
        await writer.drain()
        return True

    async def scenario() -> None:
        server, url, _ = await _serve(handler)
        async with httpx.AsyncClient(base_url=url, transport=LeanTransport()) as client:
            response = await client.post("/empty")
            assert response.http_version == "HTTP/1.1" and response.reason_phrase == "OK"
            # not kept: `response.elapsed` (httpx sets it only when it reads a stream; no code of ours reads it)
        server.close()
        await server.wait_closed()
        head = seen[0].lower()
        assert b"\r\ncontent-length: 0\r\n" in head and b"\r\nhost: 127.0.0.1:" in head

    asyncio.run(scenario())


def test_an_idle_connection_the_server_closed_is_not_reused_and_interim_answers_are_skipped() -> None:
    """A server that closes a kept-alive connection while it is idle (no `Connection: close`): the next request
    opens a new one and succeeds; a 100 Continue before the answer is not taken for the answer."""

    async def handler(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + _answer(b'{"ok":1}'))
        await writer.drain()
        await asyncio.sleep(0.05)
        return False  # closes the connection it answered as kept alive

    async def scenario() -> None:
        server, url, connections = await _serve(handler)
        async with httpx.AsyncClient(base_url=url, transport=LeanTransport()) as client:
            for _ in range(3):
                assert (await client.post("/", content=b"{}")).json() == {"ok": 1}
                await asyncio.sleep(0.2)
        server.close()
        await server.wait_closed()
        assert len(connections) == 3

    asyncio.run(scenario())
