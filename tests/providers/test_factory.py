"""build_providers: settings and environment in, working providers out; configuration mistakes as ConfigError."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from reconciler.config import Settings, ShopSettings, WechatPaySettings
from reconciler.errors import ConfigError
from reconciler.providers.factory import build_providers
from reconciler.providers.shop import ShopProvider
from reconciler.providers.wechatpay import WechatPayProvider
from tests.providers.fake_shop import APPID, SECRET
from tests.providers.fake_wechatpay import BRAND_ID, MCHID, PUBLIC_KEY_ID, SERIAL_NO, FakeWechatPay


def make_settings(root: Path, fake_pay: FakeWechatPay) -> tuple[Settings, dict[str, str]]:
    (root / "keys").mkdir()
    (root / "keys" / "wechatpay_pub.pem").write_bytes(fake_pay.platform.public_pem)
    key_file = root / "apiclient_key.pem"
    key_file.write_bytes(fake_pay.merchant.private_pem)
    settings = Settings(
        root=root,
        config_file=root / "couponctl.toml",
        shop=ShopSettings(appid=APPID),
        wechatpay=WechatPaySettings(
            mchid=MCHID,
            serial_no=SERIAL_NO,
            public_key_id=PUBLIC_KEY_ID,
            public_key_file="keys/wechatpay_pub.pem",
            brand_id=BRAND_ID,
        ),
    )
    environ = {"COUPONCTL_SHOP_APPSECRET": SECRET, "COUPONCTL_WECHATPAY_KEY_FILE": str(key_file)}
    return settings, environ


def test_build_providers_configures_both_families_from_settings_and_environment(tmp_path: Path) -> None:
    """Both providers are built from settings plus environment, each aimed at its configured base_url.

    (That they then sign, verify and authenticate against a real server is what every end-to-end test checks: the
    CLI runs in real mode through build_providers against a sandbox served over HTTP.)"""
    settings, environ = make_settings(tmp_path, FakeWechatPay())
    settings = dataclasses.replace(
        settings,
        shop=dataclasses.replace(settings.shop, base_url="https://shop.example.test"),
        wechatpay=dataclasses.replace(settings.wechatpay, base_url="https://pay.example.test"),
    )

    async def main() -> dict[str, str]:
        providers = build_providers(settings, environ=environ)
        try:
            assert isinstance(providers["shop"], ShopProvider)
            assert isinstance(providers["product"], WechatPayProvider)
            assert providers["product"].brand_id == BRAND_ID
            return {family: repr(provider) for family, provider in providers.items()}
        finally:
            for provider in providers.values():
                await provider.aclose()

    shown = asyncio.run(main())
    assert list(shown) == ["shop", "product"]
    assert shown["shop"] == f"ShopProvider(appid={APPID!r}, base_url='https://shop.example.test')"
    assert shown["product"] == f"WechatPayProvider(mchid={MCHID!r}, base_url='https://pay.example.test')"
    assert SECRET not in "".join(shown.values())


def test_only_the_requested_families_need_configuration(tmp_path: Path) -> None:
    """A shop-only build needs no WeChat Pay keys at all."""
    settings = Settings(root=tmp_path, config_file=None, shop=ShopSettings(appid=APPID))

    async def main() -> list[str]:
        providers = build_providers(settings, families=["shop"], environ={"COUPONCTL_SHOP_APPSECRET": SECRET})
        for provider in providers.values():
            await provider.aclose()
        return list(providers)

    assert asyncio.run(main()) == ["shop"]


def test_missing_app_secret_names_the_environment_variable(tmp_path: Path) -> None:
    """Without the secret in the environment, the error says which variable to set."""
    settings, environ = make_settings(tmp_path, FakeWechatPay())
    del environ["COUPONCTL_SHOP_APPSECRET"]
    with pytest.raises(ConfigError, match="COUPONCTL_SHOP_APPSECRET"):
        build_providers(settings, environ=environ)


def test_missing_wechatpay_settings_are_named(tmp_path: Path) -> None:
    """Empty mchid / public key settings are reported by their toml names."""
    settings, environ = make_settings(tmp_path, FakeWechatPay())
    settings = dataclasses.replace(settings, wechatpay=WechatPaySettings(serial_no=SERIAL_NO))
    with pytest.raises(ConfigError, match=r"\[wechatpay\] mchid, public_key_id, public_key_file not set"):
        build_providers(settings, environ=environ)


def test_unreadable_public_key_file_is_a_config_error(tmp_path: Path) -> None:
    """A public_key_file that does not exist is reported with its resolved path."""
    settings, environ = make_settings(tmp_path, FakeWechatPay())
    (tmp_path / "keys" / "wechatpay_pub.pem").unlink()
    with pytest.raises(ConfigError, match=r"wechatpay_pub\.pem"):
        build_providers(settings, environ=environ)


def test_private_key_that_is_not_a_key_is_a_config_error(tmp_path: Path) -> None:
    """A merchant key file holding something else fails with ConfigError, not a cryptography traceback."""
    settings, environ = make_settings(tmp_path, FakeWechatPay())
    Path(environ["COUPONCTL_WECHATPAY_KEY_FILE"]).write_text("not a key")
    with pytest.raises(ConfigError, match="private key"):
        build_providers(settings, environ=environ)
