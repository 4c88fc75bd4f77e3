"""HTTP plumbing shared by both providers: sending without leaking URLs, and what counts as transient.

httpx puts full URLs in its exception messages and logs every request URL at INFO (style.md warns): with the shop
`access_token` in the query string, either would leak it. `send_safely` turns every httpx failure into a typed error
with redacted text, and `install_log_redaction` scrubs the `httpx` logger's records.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from reconciler.errors import TransientUpstreamError, UpstreamError, redact_url

E = TypeVar("E", bound=UpstreamError)

# Contract §2.4: retry 429 and 5xx; never another 4xx.
TRANSIENT_HTTP_STATUSES = frozenset({429})


def transient_http_status(status: int) -> bool:
    """429 and every 5xx are worth retrying with the same request (reference B.11, contract §2.4)."""
    return status in TRANSIENT_HTTP_STATUSES or 500 <= status < 600


_PARSED: dict[str, httpx.URL] = {}  # request URLs already parsed, in this process only (never written anywhere)
_PARSED_MAX = 256


def build_request(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    params: Mapping[str, str] | None = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> httpx.Request:
    """What `client.build_request(method, path, ...)` builds (the same URL, headers and timeout), for a `path` that
    starts with `/`: the URL is made as one string and parsed once, instead of merged with the base URL and then
    with the query, each step re-validating every character (~70 µs of a call's CPU)."""
    url = str(client.base_url).rstrip("/") + path
    if params:
        url += "?" + str(httpx.QueryParams(params))
    parsed = _PARSED.get(url)
    if parsed is None:  # most calls repeat a URL (every shop add, every create): parsed once (httpx.URL is immutable)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        parsed = _PARSED[url] = httpx.URL(url)
    merged = client.headers.copy()
    if headers:
        merged.update(headers)
    return httpx.Request(
        method,
        parsed,
        content=content,
        headers=merged,
        extensions={**(extensions or {}), "timeout": client.timeout.as_dict()},
    )


async def send_safely(client: httpx.AsyncClient, request: httpx.Request, *, call: str) -> httpx.Response:
    """Send and read the whole response; httpx failures become typed errors whose text holds no secret.

    Timeouts, connection failures and responses cut short (the server may have committed the call: contract §2.4
    "dropped connections") are transient; anything else from httpx (bad URL scheme, protocol misuse) is not.
    `from None` keeps the httpx exception, whose message and `.request` carry the full URL, out of tracebacks.
    """
    try:
        return await client.send(request)
    except httpx.TimeoutException as exc:
        raise TransientUpstreamError(
            call=call, message=f"timed out ({type(exc).__name__})", url=str(request.url)
        ) from None
    except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        raise TransientUpstreamError(
            call=call, message=f"connection failed ({type(exc).__name__}: {redact_url(str(exc))})", url=str(request.url)
        ) from None
    except httpx.HTTPError as exc:
        raise UpstreamError(
            call=call, message=f"{type(exc).__name__}: {redact_url(str(exc))}", url=str(request.url)
        ) from None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The `Retry-After` header as seconds (delta-seconds or an HTTP date), when present and sane."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    date = response.headers.get("Date")
    try:
        now = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        now = None
    if now is None:
        return None
    return max(0.0, (when - now).total_seconds())


def with_retry_after(err: E, response: httpx.Response) -> E:
    """Attach `retry_after` (seconds) to a transient error when the response says how long to wait.

    `reconciler.errors` has no field for it, so it travels as an attribute read by `pacing.retry_after_of`.
    """
    seconds = retry_after_seconds(response)
    if seconds is not None and isinstance(err, TransientUpstreamError):
        err.retry_after = seconds  # type: ignore[attr-defined]
    return err


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message and arguments through `redact_url` (access_token / secret values)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        return True


def _redact_arg(arg: object) -> object:
    if isinstance(arg, httpx.URL):
        return redact_url(str(arg))
    if isinstance(arg, str):
        return redact_url(arg)
    return arg


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Put the redacting filter on the loggers httpx and httpcore write to (idempotent).

    Logger filters do not apply to records of child loggers, so httpcore's modules are named one by one.
    """
    for name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
