"""The account checks `couponctl doctor` runs and `apply` repeats before its first mutating call (decision D32).

Each check is a read (or, with `doctor --fix`, the one account call that fixes it) and its interpretation: the
interpretations are pure functions of the answer or the error, so they are tested without a network. A check is one
`Check` line: what was found, and when it failed, the one fix.

What each prerequisite looks like from the client side (none has a documented "status" read):

- shop `confirm` (reference A.2): a `get_list` of one coupon answers errcode 48001 until `/shop/coupon/confirm` was
  called. 48001 is "API not authorised" in the global table (A.8); that it is what an unconfirmed shop answers is
  our reading [INF], which the sandbox's `confirm_required` switch follows.
- the product-coupon notify configuration (B.1, F.11): `GET .../notify-configs` answers the URL, or an error when
  none is set (404 NOT_FOUND is our default [INF]). It is per partner merchant, not per brand.
- the brand's authorisation (B.0): a read naming the brand answers 403 NO_AUTH when the brand has not authorised the
  partner (B.11, E Family-2 item 4); any other answer (the coupon, or 404 for the probe id) means it has.
- the signing round trip (C.1, C.4): the notify-configuration read is signed by us and its answer verified by us;
  401 SIGN_ERROR means WeChat refused our signature, a `SignatureError` that we refused WeChat's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.errors import PlanError, SignatureError, TransientUpstreamError, UpstreamError

if TYPE_CHECKING:
    from reconciler.plan.model import Action
    from reconciler.providers.shop import ShopProvider
    from reconciler.providers.wechatpay import WechatPayProvider

T = TypeVar("T")
Retry = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]

# Reference A.2 / A.8: what a shop coupon call answers before `/shop/coupon/confirm` [INF].
NOT_CONFIRMED_ERRCODE = 48001
# Reference B.1 / F.11: the partner's product-coupon notify configuration (GET reads it, POST {notify_url} sets it).
NOTIFY_CONFIG_PATH = "/v3/marketing/partner/product-coupon/notify-configs"
COUPONS_PATH = "/v3/marketing/partner/product-coupon/product-coupons"
# The id the brand probe reads: any id works (an authorised brand answers 404 for an unknown one, B.6) [INF].
PROBE_COUPON_ID = "1000000000"
NOTIFY_OPERATION = "product.notify_configs"
CONFIRM_FIX = "run `couponctl doctor --fix`: it calls /shop/coupon/confirm once (reference A.2; WeChat then sends a "
CONFIRM_FIX += "test event to your push URL, which must answer it)"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of `couponctl doctor`: `ok`, what was found, and the fix when it failed."""

    name: str  # "config", "credentials", "token", "confirm", "signing", "notify_config", "brand"
    family: str  # "project", "shop" or "product"
    ok: bool
    message: str
    fix: str = ""
    subject: str = ""  # the brand a brand check concerns
    fixed: bool = False  # `doctor --fix` changed it
    skipped: bool = False  # not checked: a check it depends on failed
    unmet: bool = False  # a prerequisite is known to be unmet (not merely "could not tell"): apply refuses on these

    def line(self) -> str:
        mark = "ok  " if self.ok else ("skip" if self.skipped else "FAIL")
        text = f"{mark} {self.family}.{self.name}{f' {self.subject}' if self.subject else ''}: {self.message}"
        return text + (f"\n       fix: {self.fix}" if self.fix and not self.ok else "")

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"check": f"{self.family}.{self.name}", "ok": self.ok, "message": self.message}
        if self.subject:
            data["subject"] = self.subject
        if self.fix and not self.ok:
            data["fix"] = self.fix
        if self.fixed:
            data["fixed"] = True
        if self.skipped:
            data["skipped"] = True
        return data


@dataclass(frozen=True, slots=True)
class NotifyProbe:
    """What the notify-configuration read told: the signing round trip and the configuration itself."""

    signing: Check
    notify: Check
    url: str | None = field(default=None)


# --- interpretations (pure) ---------------------------------------------------------------------------------------


def token_check(error: UpstreamError | None) -> Check:
    """The stable_token fetch (A.9.2): the errcodes of A.8 name the setting to fix."""
    if error is None:
        return Check("token", "shop", True, "access token fetched (stable_token)")
    fixes = {
        40013: "check [shop] appid in couponctl.toml",
        40125: "check the app secret (the variable [shop] secret_env names)",
        40001: "check the app secret (the variable [shop] secret_env names)",
        41004: "set the app secret (the variable [shop] secret_env names)",
        40164: "add this machine's IP address to the Mini Program's IP whitelist",
    }
    fix = fixes.get(_int_code(error) or 0, "check [shop] appid, the app secret and the network, then run doctor again")
    return Check("token", "shop", False, f"cannot fetch an access token: {error}", fix)


def confirm_check(error: UpstreamError | None, *, fixed: bool = False) -> Check:
    """The get_list probe: 48001 means `/shop/coupon/confirm` has not been called (A.2 [INF])."""
    if error is None:
        message = (
            "confirmed now: /shop/coupon/confirm answered ok" if fixed else "shop coupon APIs answer (confirm done)"
        )
        return Check("confirm", "shop", True, message, fixed=fixed)
    if _int_code(error) == NOT_CONFIRMED_ERRCODE:
        return Check(
            "confirm", "shop", False, "shop coupon APIs answer errcode 48001: /shop/coupon/confirm was not called",
            CONFIRM_FIX, unmet=True,
        )  # fmt: skip
    return Check("confirm", "shop", False, f"shop coupon APIs refused a read: {error}", _generic_fix(error))


def notify_probe(answer: Mapping[str, Any] | None, error: UpstreamError | None, mchid: str) -> NotifyProbe:
    """The notify-configuration read, as the signing round trip and the notify-configuration checks."""
    if error is None:
        url = answer.get("notify_url") if answer else None
        signing = Check("signing", "product", True, "signed request accepted; answer signature verified")
        if isinstance(url, str) and url:
            return NotifyProbe(signing, Check("notify_config", "product", True, f"notify URL set: {url}"), url)
        return NotifyProbe(signing, _notify_missing(mchid, "the answer names no notify_url"))
    if isinstance(error, SignatureError):
        signing = Check(
            "signing", "product", False, f"WeChat Pay's answer failed verification: {error}",
            "check [wechatpay] public_key_id and public_key_file (the WeChat Pay public key of the merchant "
            "platform), or the APIv3 key in platform-certificate mode",
        )  # fmt: skip
        return NotifyProbe(signing, _skipped("notify_config", "the signing round trip failed"))
    if error.http_status == 401:
        signing = Check(
            "signing", "product", False, f"WeChat Pay refused our signature: {error}",
            "check [wechatpay] mchid, serial_no (the merchant API certificate's serial) and the merchant private key",
        )  # fmt: skip
        return NotifyProbe(signing, _skipped("notify_config", "the signing round trip failed"))
    if (
        error.http_status is not None
        and 400 <= error.http_status < 500
        and not isinstance(error, TransientUpstreamError)
    ):
        signing = Check("signing", "product", True, f"signed request accepted (answer: HTTP {error.http_status})")
        if error.http_status == 404 or error.code == "NOT_FOUND":
            return NotifyProbe(signing, _notify_missing(mchid, "none is set"))
        return NotifyProbe(
            signing, Check("notify_config", "product", False, f"cannot read it: {error}", _generic_fix(error))
        )
    failed = Check("signing", "product", False, f"no answer to check: {error}", _generic_fix(error))
    return NotifyProbe(failed, _skipped("notify_config", "WeChat Pay did not answer"))


def brand_check(brand_id: str, error: UpstreamError | None, mchid: str) -> Check:
    """A read naming the brand: 403 NO_AUTH means the brand has not authorised the partner (B.0)."""
    if error is None:
        return Check("brand", "product", True, f"brand has authorised partner {mchid}", subject=brand_id)
    if error.http_status == 403 or error.code == "NO_AUTH":
        return Check(
            "brand", "product", False, f"brand has not authorised partner {mchid} (403 NO_AUTH)",
            f"the brand {brand_id} must authorise partner {mchid} for product coupons (商品券) on the WeChat Pay "
            "brand platform; then run couponctl doctor again", subject=brand_id, unmet=True,
        )  # fmt: skip
    return Check("brand", "product", False, f"cannot tell: {error}", _generic_fix(error), subject=brand_id)


def _notify_missing(mchid: str, why: str) -> Check:
    return Check(
        "notify_config", "product", False, f"no product-coupon notify URL for partner {mchid}: {why}",
        "set it on the merchant platform, or run `couponctl doctor --fix --notify-url https://…` "
        "(POST notify-configs, reference B.1)", unmet=True,
    )  # fmt: skip


def _skipped(name: str, why: str) -> Check:
    return Check(name, "product", False, f"not checked: {why}", skipped=True)


def _generic_fix(error: UpstreamError) -> str:
    if isinstance(error, TransientUpstreamError):
        return "WeChat answered a temporary error: run couponctl doctor again in a minute"
    return "see the error above (reference B.11 / A.8), then run couponctl doctor again"


def _int_code(error: UpstreamError) -> int | None:
    try:
        return int(error.code) if error.code is not None else None
    except (TypeError, ValueError):
        return None


# --- the probes (I/O) ----------------------------------------------------------------------------------------------


async def _direct(fn: Callable[[], Awaitable[Any]]) -> Any:
    return await fn()


async def shop_checks(provider: ShopProvider, *, fix: bool = False, retry: Retry = _direct) -> list[Check]:
    """The token fetch and the confirm probe (one `get_list` of one coupon); with `fix`, confirm when unconfirmed."""
    try:
        await retry(provider.fetch_token)
    except UpstreamError as err:
        return [token_check(err), Check("confirm", "shop", False, "not checked: no access token", skipped=True)]
    checks = [token_check(None)]
    probe = await _shop_probe(provider, retry)
    if fix and not probe.ok and probe.message.endswith("was not called"):
        try:
            await retry(lambda: provider.account_call("confirm", {}))
        except UpstreamError as err:
            fix_ = "make the push URL answer WeChat's test event (reference A.2), then run it again"
            checks.append(Check("confirm", "shop", False, f"/shop/coupon/confirm refused: {err}", fix_))
            return checks
        probe = await _shop_probe(provider, retry, fixed=True)
    return [*checks, probe]


async def _shop_probe(provider: ShopProvider, retry: Retry, *, fixed: bool = False) -> Check:
    try:
        await retry(lambda: provider.account_call("get_list", {"page_size": 1, "offset": 0}))
    except UpstreamError as err:
        return confirm_check(err)
    return confirm_check(None, fixed=fixed)


async def notify_checks(
    provider: WechatPayProvider, mchid: str, *, notify_url: str | None = None, retry: Retry = _direct
) -> NotifyProbe:
    """The notify-configuration read (the signing round trip too); with `notify_url`, set it when none is set."""
    probe = await _notify_probe(provider, mchid, retry)
    if notify_url and probe.signing.ok and not probe.notify.ok:
        try:
            await retry(
                lambda: provider.account_request(
                    NOTIFY_OPERATION, "POST", NOTIFY_CONFIG_PATH, {"notify_url": notify_url}
                )
            )
        except UpstreamError as err:
            failed = Check(
                "notify_config", "product", False, f"setting the notify URL failed: {err}", _generic_fix(err)
            )
            return NotifyProbe(probe.signing, failed)
        after = await _notify_probe(provider, mchid, retry)
        notify = after.notify
        if notify.ok:
            notify = Check("notify_config", "product", True, f"notify URL set now: {after.url}", fixed=True)
        return NotifyProbe(after.signing, notify, after.url)
    return probe


async def _notify_probe(provider: WechatPayProvider, mchid: str, retry: Retry) -> NotifyProbe:
    try:
        answer = await retry(lambda: provider.account_request(NOTIFY_OPERATION, "GET", NOTIFY_CONFIG_PATH))
    except UpstreamError as err:
        return notify_probe(None, err, mchid)
    return notify_probe(answer, None, mchid)


async def brand_checks(
    provider: WechatPayProvider, brands: Sequence[str], mchid: str, *, retry: Retry = _direct
) -> list[Check]:
    """One read per brand (the probe id, or any coupon): NO_AUTH or not."""
    checks = []
    for brand in brands:

        async def read(brand: str = brand) -> Any:
            return await provider.read(PROBE_COUPON_ID, brand_id=brand)

        try:
            await retry(read)
        except UpstreamError as err:
            checks.append(brand_check(brand, err, mchid))
        else:
            checks.append(brand_check(brand, None, mchid))
    return checks


async def plan_preflight(
    providers: Mapping[str, Any],
    actions: Sequence[Action],
    *,
    mchid: str,
    default_brand_id: str | None,
    shop_listed: bool,
    retry: Retry = _direct,
) -> list[Check]:
    """apply's pre-flight: the checks of the families the plan's calls use, nothing else.

    Shop calls: the confirm probe, unless this run has already listed shop coupons (the listing would have answered
    48001: `unconfirmed_refusal`). Product creates: the notify configuration. Product calls: each of their brands."""
    calls = [(action, call) for action in actions if action.applyable for call in action.calls]
    checks: list[Check] = []
    shop = providers.get("shop")
    if shop is not None and not shop_listed and any(c.operation.startswith("shop.") for _a, c in calls):
        checks.extend(await shop_checks(shop, retry=retry))
    product = providers.get("product")
    product_calls = [(a, c) for a, c in calls if c.operation.startswith("product.")]
    if product is not None and product_calls:
        if any(c.operation == "product.create" for _a, c in product_calls):
            probe = await notify_checks(product, mchid, retry=retry)
            checks.extend((probe.signing, probe.notify))
        brands = sorted({b for a, _c in product_calls if (b := a.brand_id or default_brand_id)})
        checks.extend(await brand_checks(product, brands, mchid, retry=retry))
    return checks


def unconfirmed_refusal(error: UpstreamError) -> PlanError | None:
    """A shop listing that answered 48001 (an unconfirmed shop, A.2 [INF]) as the pre-flight's refusal."""
    check = confirm_check(error)
    return refusal([check]) if check.unmet and error.call == "shop.get_list" else None


def refusal(checks: Sequence[Check]) -> PlanError:
    """apply's refusal: every unmet prerequisite with its fix, and that nothing was sent."""
    failed = [c.line() for c in checks if c.unmet]
    return PlanError(
        "an account prerequisite is not met (pre-flight, decision D32):\n"
        + "\n".join(failed)
        + "\nNothing was applied. `couponctl doctor` runs every check; `apply --skip-preflight` skips them."
    )


async def refuse_unmet(
    providers: Mapping[str, Any],
    actions: Sequence[Action],
    *,
    mchid: str,
    default_brand_id: str | None,
    shop_listed: bool,
    retry: Retry = _direct,
) -> None:
    """Raise apply's refusal when a prerequisite the plan's calls need is known to be unmet (decision D32). What the
    checks could not tell (a temporary error, an unexpected answer) does not stop apply: its own calls will say."""
    checks = await plan_preflight(
        providers, actions, mchid=mchid, default_brand_id=default_brand_id, shop_listed=shop_listed, retry=retry
    )
    if any(c.unmet for c in checks):
        raise refusal(checks)


@contextlib.contextmanager
def prerequisite_errors(enabled: bool) -> Iterator[None]:
    """Turn a shop listing's 48001 (an unconfirmed shop) into the pre-flight's refusal, with its fix."""
    try:
        yield
    except UpstreamError as err:
        refused = unconfirmed_refusal(err) if enabled else None
        if refused is None:
            raise
        raise refused from None
