"""Requests and answers as the sandbox sees them, and the error shapes of both API families.

Mini Program side (reference A.1): HTTP 200 with `{"errcode", "errmsg": "... rid: xxxxxxxx-xxxxxxxx-xxxxxxxx"}`.
WeChat Pay side (reference B.11): HTTP status + `{"code", "message", "detail"?}`, signed by the app.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Request:
    """One HTTP request, with the raw bytes a signature covers."""

    method: str
    path: str
    raw_url: str  # raw path plus "?query" exactly as sent (reference C.1 canonical URL)
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @classmethod
    def from_scope(cls, scope: dict[str, Any], body: bytes) -> Request:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query_string: bytes = scope.get("query_string", b"")
        raw_url = raw_path.decode("latin-1") + ("?" + query_string.decode("latin-1") if query_string else "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        return cls(scope["method"].upper(), scope["path"], raw_url, query, headers, body)


@dataclass
class Answer:
    """What the sandbox sends back; `log_code` is the errcode or APIv3 code recorded in the call log."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    log_code: int | str | None = None
    log_extra: dict[str, Any] | None = None  # more fields for the call log entry (a store batch's `effect`, D34)


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, the exact bytes that are signed and sent."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


JSON_CONTENT_TYPE = ("content-type", "application/json; charset=utf-8")


def rid() -> str:
    """A request id in WeChat's `xxxxxxxx-xxxxxxxx-xxxxxxxx` form (reference A.1)."""
    return f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


class ShopError(Exception):
    """A Mini Program API error: answered as HTTP 200 with errcode/errmsg."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


def shop_answer(payload: dict[str, Any], status: int = 200) -> Answer:
    return Answer(status, dump_json(payload), [JSON_CONTENT_TYPE], payload.get("errcode", 0))


def shop_ok(**result: Any) -> Answer:
    return shop_answer({"errcode": 0, "errmsg": "ok", **result})


def shop_error(errcode: int, errmsg: str, status: int = 200) -> Answer:
    return shop_answer({"errcode": errcode, "errmsg": f"{errmsg} rid: {rid()}"}, status)


# Reference B.11 / B.12 / B.9: business codes carried after the last "-" of Request-ID.
BUSINESS_CODES = {
    "PARAM_ERROR": 268435461,
    "INVALID_REQUEST": 268578101,
    "NOT_FOUND": 268578608,
    "NO_AUTH": 268579803,
    "RATELIMIT_EXCEEDED": 270924289,
    "IDEMPOTENCY_MISMATCH": 268578927,
}

STATUS_FOR_CODE = {
    "PARAM_ERROR": 400,
    "INVALID_REQUEST": 400,
    "ALREADY_EXISTS": 400,
    "SIGN_ERROR": 401,
    "NO_AUTH": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,  # our default: the APIv3 docs show no 405 body; we answer the APIv3 shape
    "RATELIMIT_EXCEEDED": 429,
    "SYSTEM_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}

CODE_FOR_STATUS = {400: "PARAM_ERROR", 401: "SIGN_ERROR", 403: "NO_AUTH", 404: "NOT_FOUND", 429: "RATELIMIT_EXCEEDED"}


class PayError(Exception):
    """A WeChat Pay APIv3 error; the app turns it into a signed `{code, message, detail}` answer."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        field: str | None = None,
        value: Any = None,
        issue: str | None = None,
        location: str = "body",
        business_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_FOR_CODE.get(code, 400)
        self.business_code = business_code if business_code is not None else BUSINESS_CODES.get(code, 0)
        self.detail: dict[str, Any] | None = None
        if field is not None:
            detail: dict[str, Any] = {"field": field, "issue": issue or message, "location": location}
            if value is not None:
                detail["value"] = value
            self.detail = detail

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail:
            body["detail"] = self.detail
        return body


def param_error(field: str, issue: str, value: Any = None, location: str = "body") -> PayError:
    """400 PARAM_ERROR naming the offending field (a JSON pointer for body fields, reference B.11)."""
    return PayError(
        "PARAM_ERROR", f"参数错误: {field} {issue}", field=field, value=value, issue=issue, location=location
    )


def invalid_request(message: str, field: str | None = None, business_code: int | None = None) -> PayError:
    return PayError(
        "INVALID_REQUEST", message, field=field, issue=message if field else None, business_code=business_code
    )
