"""access_token machinery (reference A.9, E Family-1 items 2-3): two isolated token pools and their checks.

- `GET /cgi-bin/token` issues a new token each call; older tokens of that pool stay usable for the grace window.
- `POST /cgi-bin/stable_token` returns the same token while more than the grace window remains, renews it within the
  last grace window (both stay valid until the old one expires), and `force_refresh` rotates it at once (limited to
  N per day, M seconds apart).
- Coupon calls: no token -> 41001; unknown or superseded -> 40001; past expiry -> 42001.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.credentials import SandboxCredentials
from reconciler.sandbox.messages import Answer, Request, ShopError, shop_answer
from reconciler.sandbox.store import Store

# Reference A.8: exact errmsg texts of the Channels common-error page.
ERR_INVALID_CREDENTIAL = (
    40001,
    "invalid credential, access_token is invalid or not latest, could get access_token by getStableAccessToken, "
    "more details at https://mmbizurl.cn/s/JtxxFh33r",
)
ERR_TOKEN_MISSING = (41001, "access_token missing")
ERR_TOKEN_EXPIRED = (42001, "access_token expired")

POOL_TOKEN = "token"
POOL_STABLE = "stable_token"
_FORCE_KEY = "stable_force_refresh_times"


class TokenService:
    """Issues and checks access tokens against the store."""

    def __init__(self, store: Store, credentials: SandboxCredentials, config: SandboxConfig) -> None:
        self.store = store
        self.credentials = credentials
        self.config = config

    def _check_client(self, grant_type: Any, appid: Any, secret: Any) -> None:
        if grant_type != "client_credential":
            raise ShopError(40002, "invalid grant_type")
        if not appid:
            raise ShopError(41002, "appid missing")
        if appid != self.credentials.appid:
            raise ShopError(40013, "invalid appid")
        if not secret:
            raise ShopError(41004, "appsecret missing")
        if secret != self.credentials.app_secret:
            raise ShopError(40125, "invalid appsecret")

    def _issue(self, pool: str, now: float) -> tuple[str, float]:
        token = secrets.token_urlsafe(96)
        expires_at = now + self.config.token_lifetime_s
        self.store.add_token(token, pool, now, expires_at)
        return token, expires_at

    def get_token(self, request: Request) -> Answer:
        """`GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..` (reference A.9.1)."""
        q = request.query
        self._check_client(q.get("grant_type"), q.get("appid"), q.get("secret"))
        now = self.config.clock()
        with self.store.transaction():
            # A new token supersedes the previous ones, which stay usable for the grace window (A.9.1).
            self.store.invalidate_tokens(POOL_TOKEN, now + self.config.token_grace_s)
            token, expires_at = self._issue(POOL_TOKEN, now)
        return shop_answer({"access_token": token, "expires_in": round(expires_at - now)})

    def stable_token(self, request: Request) -> Answer:
        """`POST /cgi-bin/stable_token` with a JSON body (reference A.9.2)."""
        body = parse_json_object(request.body)
        self._check_client(body.get("grant_type"), body.get("appid"), body.get("secret"))
        force = body.get("force_refresh", False)
        if not isinstance(force, bool):
            raise ShopError(40097, "invalid args: force_refresh must be a boolean")
        now = self.config.clock()
        grace = self.config.token_grace_s
        with self.store.transaction():
            latest = self.store.latest_token(POOL_STABLE)
            if force:
                self._note_force_refresh(now)
                # Force refresh invalidates the previous token immediately (A.9.2).
                self.store.invalidate_tokens(POOL_STABLE, now)
                token, expires_at = self._issue(POOL_STABLE, now)
            elif latest is not None and _usable(latest[2], latest[3], now) and latest[2] - now > grace:
                token, expires_at = latest[0], latest[2]
            else:
                # Renewed within the last grace window; the old token keeps working until its own expiry.
                token, expires_at = self._issue(POOL_STABLE, now)
        return shop_answer({"access_token": token, "expires_in": round(expires_at - now)})

    def _note_force_refresh(self, now: float) -> None:
        raw = self.store.get_meta(_FORCE_KEY)
        times = [t for t in (json.loads(raw) if raw else []) if t > now - 86400]
        if times and now - times[-1] < self.config.stable_force_refresh_min_interval_s:
            raise ShopError(45011, "api minute-quota reach limit must slower retry next minute")
        if len(times) >= self.config.stable_force_refresh_per_day:
            raise ShopError(45009, "reach max api daily quota limit")
        times.append(now)
        self.store.set_meta(_FORCE_KEY, json.dumps(times))

    def check_access_token(self, request: Request) -> None:
        """Raise the documented errcode unless the request carries a currently valid token."""
        token = request.query.get("access_token")
        if not token:
            raise ShopError(*ERR_TOKEN_MISSING)
        row = self.store.get_token(token)
        now = self.config.clock()
        if row is None:
            raise ShopError(*ERR_INVALID_CREDENTIAL)
        _pool, _issued, expires_at, invalid_after = row
        if invalid_after is not None and now >= invalid_after:
            raise ShopError(*ERR_INVALID_CREDENTIAL)
        if now >= expires_at:
            raise ShopError(*ERR_TOKEN_EXPIRED)


def _usable(expires_at: float, invalid_after: float | None, now: float) -> bool:
    return now < expires_at and (invalid_after is None or now < invalid_after)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The JSON object of a Mini Program request: empty -> 44002, not a JSON object -> 47001 (reference A.8)."""
    if not body.strip():
        raise ShopError(44002, "empty post data")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        raise ShopError(47001, "data format error") from None
    if not isinstance(value, dict):
        raise ShopError(47001, "data format error")
    return value
