"""Serving the sandbox on loopback with uvicorn, announcing the real bound URL (port 0 = any free port)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

from starlette.applications import Starlette


class _HideInjectedDrops(logging.Filter):
    """An injected `drop_after_commit` is intended: keep uvicorn from logging it as a crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        from reconciler.sandbox.app import InjectedConnectionDrop

        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, InjectedConnectionDrop)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and without
    # it every answer (headers and body are two writes) waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)  # listening before the URL is printed: early clients queue instead of being refused
    return sock


def serve(app: Starlette, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Bind, announce `http://host:port`, and serve until interrupted."""
    import uvicorn

    sock = bind(host, port)
    real_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    announce(f"http://{shown_host}:{real_port}")
    logging.getLogger("uvicorn.error").addFilter(_HideInjectedDrops())
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
