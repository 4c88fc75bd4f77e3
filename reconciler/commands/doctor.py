"""`couponctl doctor`: is this account ready for its first apply? (issue 17 item 4, decision D32)

One line per check, each failure with its fix: the configuration loads; the credentials of each configured family
are present (never printed); the shop's access token is fetched and its `confirm` done (reference A.2); the WeChat
Pay signing round trip works, the product-coupon notify configuration is set (B.1) and every brand has authorised
the partner (B.0). Only reads are sent, except with `--fix`: then `/shop/coupon/confirm` when the shop is not
confirmed, and `POST notify-configs` when no notify URL is set and `--notify-url` names one. No coupon call, ever.

Against the embedded sandbox (`[upstream] mode = "sandbox"`) the same checks run in-process; its prerequisites are
off, so they pass. The checks themselves and their interpretation are in `preflight.py`, which apply shares.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.commands.preflight import Check, brand_checks, notify_checks, shop_checks
from reconciler.config import Settings
from reconciler.errors import ConfigError, PlanError

if TYPE_CHECKING:
    from reconciler.commands.progress import ProgressSink
    from reconciler.providers.base import Provider

__all__ = ["Check", "DoctorReport", "config_failure", "doctor"]

CONFIG_FIX = "correct couponctl.toml (every key: docs/configuration.md), then run couponctl doctor again"


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Every check, in the order run, and the upstream they ran against."""

    upstream: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "upstream": self.upstream, "checks": [c.as_json() for c in self.checks]}


def config_failure(error: ConfigError) -> DoctorReport:
    """The report when couponctl.toml does not load: one failed check (the others need the configuration)."""
    return DoctorReport("", (Check("config", "project", False, str(error), CONFIG_FIX),))


def doctor(
    settings: Settings,
    *,
    fix: bool = False,
    notify_url: str | None = None,
    brands: Sequence[str] = (),
    progress: ProgressSink | None = None,
) -> DoctorReport:
    """Run every check for the configured families; `fix` sends the account calls that fix what they can.

    `brands` are checked besides the configured (or the embedded sandbox's) brand and those the manifests name.
    `notify_url` (with `fix`) is set as the product-coupon notify URL when none is set; an existing one is never
    replaced. `progress` is told of every retry (a handful of calls: no count of them)."""
    if notify_url is not None and not fix:
        raise PlanError("--notify-url sets the notify URL, so it needs --fix")
    if notify_url is not None and not notify_url.startswith("https://"):
        raise PlanError(f"--notify-url must be an https URL (reference B.1), not {notify_url!r}")
    return asyncio.run(_doctor(settings, fix=fix, notify_url=notify_url, brands=brands, progress=progress))


async def _doctor(
    settings: Settings, *, fix: bool, notify_url: str | None, brands: Sequence[str], progress: ProgressSink | None
) -> DoctorReport:
    from reconciler.commands.progress import CallProgress
    from reconciler.providers.pacing import Pacer
    from reconciler.providers.shop import ShopProvider
    from reconciler.providers.wechatpay import WechatPayProvider

    where = f"{settings.config_file.name} loads" if settings.config_file else "no couponctl.toml: the defaults"
    env = f", environment {settings.env.name}" if settings.env.name else ""
    checks = [Check("config", "project", True, f"{where} (upstream mode {settings.upstream.mode}{env})")]
    providers, description, mchid, default_brand, credential_checks = _open(settings)
    checks.extend(credential_checks)
    pacer = Pacer.from_settings(settings)
    CallProgress(progress, "checking the account", {}, pacer)  # wires the pacer's retries to `progress`
    retry = pacer.retry
    try:
        shop = providers.get("shop")
        if isinstance(shop, ShopProvider):
            checks.extend(await shop_checks(shop, fix=fix, retry=retry))
        product = providers.get("product")
        if isinstance(product, WechatPayProvider):
            probe = await notify_checks(product, mchid, notify_url=notify_url, retry=retry)
            checks.extend((probe.signing, probe.notify))
            declared = [default_brand] if default_brand else []
            wanted = list(dict.fromkeys([*declared, *manifest_brands(settings), *brands]))
            if wanted:
                checks.extend(await brand_checks(product, wanted, mchid, retry=retry))
            else:
                checks.append(_no_brand())
    finally:
        for provider in providers.values():
            await provider.aclose()
    return DoctorReport(description, tuple(checks))


def manifest_brands(settings: Settings) -> list[str]:
    """The brands the configured manifests name (offline); none when they do not load (validate says why)."""
    from reconciler.commands.common import manifest_paths
    from reconciler.errors import CouponctlError
    from reconciler.manifest import load_manifests
    from reconciler.manifest.cache import cache_for

    try:
        loaded = load_manifests(manifest_paths(settings, ()), root=settings.root, cache=cache_for(settings))
    except CouponctlError:
        return []
    return sorted({c.brand_id for c in loaded.coupons if c.kind == "ProductCoupon" and c.brand_id})


def _open(settings: Settings) -> tuple[dict[str, Provider], str, str, str | None, list[Check]]:
    """The providers of each configured family (those whose credentials are complete), the upstream's description,
    the partner mchid, the default brand and one credentials check per family."""
    if settings.upstream.mode == "sandbox":
        return _open_embedded(settings)
    from reconciler.providers.factory import build_providers

    families = [f for f, on in (("shop", settings.shop.appid), ("product", settings.wechatpay.mchid)) if on]
    if not families:
        missing = Check(
            "credentials", "project", False, "neither [shop] appid nor [wechatpay] mchid is set",
            "set the family you manage in couponctl.toml (docs/configuration.md)",
        )  # fmt: skip
        return {}, "WeChat", "", None, [missing]
    providers: dict[str, Provider] = {}
    checks = []
    for family in families:
        try:
            providers.update(build_providers(settings, families=[family]))
        except ConfigError as err:
            checks.append(Check("credentials", family, False, str(err), CONFIG_FIX))
        else:
            checks.append(Check("credentials", family, True, _credentials_found(settings, family)))
    pay = settings.wechatpay
    return providers, "WeChat", pay.mchid, pay.brand_id or None, checks


def _open_embedded(settings: Settings) -> tuple[dict[str, Provider], str, str, str | None, list[Check]]:
    from reconciler.commands.upstream import _embedded_upstream, sandbox_credentials

    try:
        upstream = _embedded_upstream(settings)
        creds = sandbox_credentials(settings)
    except ConfigError as err:
        return {}, "embedded sandbox", "", None, [Check("credentials", "project", False, str(err), CONFIG_FIX)]
    found = Check("credentials", "project", True, "the embedded sandbox's own credentials (generated on first use)")
    return dict(upstream.providers), upstream.description, creds.mchid, upstream.default_brand_id, [found]


def _credentials_found(settings: Settings, family: str) -> str:
    """What was found, never a secret: the ids and where each secret came from."""
    if family == "shop":
        return f"appid {settings.shop.appid}; app secret present (from the environment)"
    pay = settings.wechatpay
    verification = (
        "APIv3 key present (platform-certificate mode)"
        if pay.verification == "platform_certificate"
        else f"WeChat Pay public key {pay.public_key_id} readable"
    )
    return f"mchid {pay.mchid}, certificate serial {pay.serial_no}; private key readable; {verification}"


def _no_brand() -> Check:
    return Check(
        "brand", "product", False, "no brand to check: [wechatpay] brand_id is not set",
        "set [wechatpay] brand_id, or name brands with couponctl doctor --brand BRAND_ID",
    )  # fmt: skip
