"""Build the two providers from `Settings`: secrets come from the environment (or files it names), never the toml."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from reconciler.config import Settings
from reconciler.errors import ConfigError
from reconciler.providers.base import Provider
from reconciler.providers.shop import ShopProvider
from reconciler.providers.wechatpay import WechatPayProvider

FAMILIES = ("shop", "product")


def build_providers(
    settings: Settings,
    *,
    families: Collection[str] = FAMILIES,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Provider]:
    """Providers keyed "shop" and "product" (only the `families` asked for, so a shop-only project needs no
    WeChat Pay keys). Both talk to their configured `base_url` over the network (tests point it at a served sandbox;
    the embedded sandbox builds its providers itself, on an ASGI transport). Callers pace and retry through
    `pacing.Pacer`. Configuration problems raise `ConfigError` naming what to set.

    `environ` defaults to the process environment (the production caller, `open_upstream`, passes nothing); tests
    pass a dict instead of mutating `os.environ` under other tests.
    """
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown provider families: {', '.join(sorted(unknown))}")
    env = dict(environ) if environ is not None else None

    timeout = settings.apply.request_timeout_s
    # Read and check every setting before opening any client, so a ConfigError leaves nothing to close.
    shop, pay = settings.shop, settings.wechatpay
    shop_secret = None
    if "shop" in families:
        if not shop.appid:
            raise ConfigError("[shop] appid is not set in couponctl.toml")
        shop_secret = settings.shop_secret(env)
    keys: tuple[bytes, bytes] | None = None
    apiv3_key: bytes | None = None
    if "product" in families:
        # Platform-certificate mode (reference C.4) verifies with downloaded certificates: no public key needed.
        by_certificate = pay.verification == "platform_certificate"
        needed = ("mchid", "serial_no") + (() if by_certificate else ("public_key_id", "public_key_file"))
        missing = [name for name in needed if not getattr(pay, name)]
        if missing:
            raise ConfigError(f"[wechatpay] {', '.join(missing)} not set in couponctl.toml")
        private_key_pem = settings.wechatpay_private_key(env)
        if by_certificate:
            apiv3_key = settings.wechatpay_apiv3_key(env)
            keys = (private_key_pem, b"")
        else:
            public_key_path = settings.resolve(pay.public_key_file)
            try:
                keys = (private_key_pem, public_key_path.read_bytes())
            except OSError as exc:
                raise ConfigError(
                    f"cannot read the WeChat Pay public key from {public_key_path}: {exc.strerror}"
                ) from None

    # The product provider parses its keys (and may raise ConfigError), so it is built before the shop client opens.
    built: dict[str, Provider] = {}
    if keys is not None:
        built["product"] = WechatPayProvider(
            pay.mchid,
            pay.serial_no,
            keys[0],
            pay.public_key_id,
            keys[1],
            pay.base_url,
            pay.brand_id,
            timeout=timeout,
            apiv3_key=apiv3_key,
            files_root=settings.root,  # image uploads read their planned files under it (decision D33)
        )
    if shop_secret is not None:
        built["shop"] = ShopProvider(
            shop.appid, shop_secret, shop.base_url, timeout=timeout, not_found_errcodes=shop.not_found_errcodes
        )
    providers = {family: built[family] for family in FAMILIES if family in built}
    return providers
