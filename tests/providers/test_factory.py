"""build_providers: settings and environment in, working providers out; configuration mistakes as ConfigError."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import httpx
import pytest

from reconciler.config import Settings, ShopSettings, WechatPaySettings
from reconciler.errors import ConfigError
from reconciler.plan.model import Call
from reconciler.providers.factory import build_providers
from reconciler.providers.shop import ShopProvider
from reconciler.providers.wechatpay import WechatPayProvider
from tests.providers.fake_shop import APPID, SECRET, FakeShop
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


def test_build_providers_wires_both_families_to_their_transports(tmp_path: Path) -> None:
    """Both providers are built from settings plus environment and reach the transport chosen for their family."""
    fake_shop, fake_pay = FakeShop(), FakeWechatPay()
    settings, environ = make_settings(tmp_path, fake_pay)
    transports = {"shop": httpx.MockTransport(fake_shop), "product": httpx.MockTransport(fake_pay)}

    async def main() -> tuple[str | None, str | None]:
        providers = build_providers(settings, transport_for=transports.get, environ=environ)
        try:
            assert list(providers) == ["shop", "product"]
            assert isinstance(providers["shop"], ShopProvider)
            assert isinstance(providers["product"], WechatPayProvider)
            shop = await providers["shop"].execute(
                Call(operation="shop.add", payload={"coupon": {"out_coupon_id": "c1"}}, target="c1")
            )
            product = await providers["product"].execute(
                Call(operation="product.create", payload={"out_request_no": "abc-123456", "brand_id": BRAND_ID})
            )
            return shop.upstream_id, product.upstream_id
        finally:
            for provider in providers.values():
                await provider.aclose()

    assert asyncio.run(main()) == ("c1", "1000000013")
    assert "c1" in fake_shop.coupons


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
