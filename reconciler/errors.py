"""The exception tree of couponctl. Every error the user can cause or meet derives from `CouponctlError`.

The CLI catches `CouponctlError` once, prints `str(err)` on stderr (one readable message, no traceback unless
`--debug`) and exits with `err.exit_code`. Errors carry data (file:line, address, upstream code, Request-ID) so that
callers and tests can inspect them without parsing text.

    CouponctlError
    ├── ConfigError            couponctl.toml or the environment is wrong
    ├── ManifestError          one or more manifest diagnostics (all of a run at once)
    ├── PlanError              the plan cannot be made or is not applyable (blocked actions, time rules)
    │   └── SavedPlanError     a saved plan is stale, expired, tampered with or of an unknown format
    ├── StateError             the state store refused an operation
    │   ├── LockError          the state is locked by someone else (holder details attached)
    │   └── StateVersionError  the state was written by a newer couponctl
    ├── UpstreamError          WeChat (or the sandbox) answered with an error
    │   ├── TransientUpstreamError   worth retrying: 429, 5xx, -1, 300000, timeouts, dropped connections
    │   └── SignatureError     a WeChat Pay response failed verification: treated as an attack
    └── ApplyError             an apply stopped part-way (carries the account of what landed)
        └── ApplyInterrupted   Ctrl-C stopped it (exit 130)

Nothing secret may appear in any message: URLs are passed through `redact_url` before they are stored here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_TOKEN_IN_QUERY = re.compile(r"(?i)((?:access_token|secret|appsecret)=)[^&\s#\"']*")


def redact_url(url: str) -> str:
    """Replace the values of `access_token` / `secret` query parameters with `REDACTED`."""
    return _TOKEN_IN_QUERY.sub(r"\1REDACTED", url)


class CouponctlError(Exception):
    """Root of every error couponctl raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(CouponctlError):
    """couponctl.toml, a key file or an environment variable is missing or wrong."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a manifest, located precisely.

    Rendered as `FILE:LINE:COL: address: field.path: message` (address and field path are omitted when unknown,
    e.g. for YAML syntax errors). `severity` is "error" or "warning"; warnings never fail a run.
    """

    file: str
    line: int
    col: int
    message: str
    address: str | None = None
    field: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        parts = [f"{self.file}:{self.line}:{self.col}"]
        if self.severity == "warning":
            parts.append("warning")
        if self.address:
            parts.append(self.address)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.col, self.message)


class ManifestError(CouponctlError):
    """Manifests are invalid. Holds every diagnostic of the run, sorted by place."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        lines = [str(d) for d in self.diagnostics]
        lines.append(f"{len(errors)} error{'s' if len(errors) != 1 else ''} in manifests; nothing was sent upstream.")
        super().__init__("\n".join(lines))


class PlanError(CouponctlError):
    """The plan cannot be made, or it contains blocked actions and cannot be applied."""


class SavedPlanError(PlanError):
    """A saved plan file is stale, expired, edited by hand, or of an unknown format version."""


class StateError(CouponctlError):
    """The state store refused an operation (unknown address, unsafe rm/mv, corrupt data...)."""


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds the state lock (as much as the backend knows)."""

    lock_id: str
    holder: str
    host: str
    pid: int
    operation: str
    acquired_at: str  # ISO-8601 UTC

    def describe(self, now_iso: str | None = None) -> str:
        return (
            f"lock {self.lock_id} held by {self.holder} on {self.host} (pid {self.pid}) "
            f"for '{self.operation}' since {self.acquired_at}"
        )


class LockError(StateError):
    """The state is locked by another run."""

    def __init__(self, info: LockInfo, hint: str = "") -> None:
        self.info = info
        msg = f"state is locked: {info.describe()}"
        if hint:
            msg += f"\n{hint}"
        super().__init__(msg)


class StateVersionError(StateError):
    """The state was written by a newer couponctl (its schema revision is unknown to this one)."""


class UpstreamError(CouponctlError):
    """WeChat answered with an error. The message names the coupon, the call, the code and the Request-ID."""

    def __init__(
        self,
        *,
        call: str,
        message: str,
        address: str | None = None,
        http_status: int | None = None,
        code: str | int | None = None,
        request_id: str | None = None,
        url: str | None = None,
        detail: Any = None,
    ) -> None:
        self.call = call
        self.address = address
        self.http_status = http_status
        self.code = code
        self.request_id = request_id
        self.url = redact_url(url) if url else None
        self.detail = detail
        self.upstream_message = message
        where = f"{address}: " if address else ""
        bits = [f"{where}{call} failed"]
        if http_status is not None:
            bits.append(f"HTTP {http_status}")
        if code is not None:
            bits.append(f"code {code}")
        text = ", ".join(bits) + f": {redact_url(message)}"
        if request_id and request_id not in message:  # shop errmsgs carry it already ("rid: ...")
            text += f" (Request-ID {request_id})"
        super().__init__(text)

    def with_address(self, address: str) -> UpstreamError:
        """The same error, attributed to a coupon address (providers do not know addresses)."""
        clone = type(self)(
            call=self.call,
            message=self.upstream_message,
            address=address,
            http_status=self.http_status,
            code=self.code,
            request_id=self.request_id,
            url=self.url,
            detail=self.detail,
        )
        return clone


class TransientUpstreamError(UpstreamError):
    """Worth retrying with the same request: 429, 5xx, errcode -1 / 300000 / 45011, timeouts, dropped connections."""


class SignatureError(UpstreamError):
    """A WeChat Pay response was unsigned, tampered with, stale or signed by an unknown key. Nothing is recorded."""


class ApplyError(CouponctlError):
    """An apply stopped part-way. `summary` is the exact account (applied / failed / not started)."""

    def __init__(self, message: str, summary: Any = None) -> None:
        self.summary = summary
        super().__init__(message)


class ApplyInterrupted(ApplyError):
    """Ctrl-C stopped an apply. Exit 130 (128 + SIGINT, the shell's convention) so CI tells it from a failure."""

    exit_code = 130
