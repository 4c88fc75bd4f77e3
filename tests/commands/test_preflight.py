"""The pre-flight checks (decision D32): each interpretation of an answer or error, then each probe against the
in-process sandbox with its prerequisites switched on, through the real providers (no mock)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from reconciler.commands import preflight
from reconciler.commands.preflight import (
    NOTIFY_CONFIG_PATH,
    NOTIFY_OPERATION,
    Check,
    brand_check,
    brand_checks,
    confirm_check,
    notify_checks,
    notify_probe,
    refusal,
    shop_checks,
    token_check,
    unconfirmed_refusal,
)
from reconciler.config import Secret
from reconciler.errors import SignatureError, TransientUpstreamError, UpstreamError
from reconciler.providers.shop import ShopProvider
from reconciler.providers.wechatpay import WechatPayProvider
from reconciler.sandbox import SandboxConfig, create_app, generate_credentials

CREDS = generate_credentials()
MCHID = "1900000001"


def shop_error(code: int, call: str = "shop.get_list") -> UpstreamError:
    return UpstreamError(call=call, message=f"error {code} rid: 0a0b0c0d-0a0b0c0d-0a0b0c0d", code=code)


def pay_error(status: int, code: str, cls: type[UpstreamError] = UpstreamError) -> UpstreamError:
    return cls(call=NOTIFY_OPERATION, message="answer", http_status=status, code=code, request_id=f"AB-{status}")


# --- interpretations -------------------------------------------------------------------------------------------


def test_token_check_names_the_setting_each_errcode_points_at() -> None:
    assert token_check(None).ok
    assert "appid" in token_check(shop_error(40013, "stable_token")).fix
    assert "app secret" in token_check(shop_error(40125, "stable_token")).fix
    assert "whitelist" in token_check(shop_error(40164, "stable_token")).fix
    other = token_check(shop_error(-1, "stable_token"))
    assert not other.ok and not other.unmet and "appid, the app secret and the network" in other.fix


def test_confirm_check_reads_48001_as_not_confirmed() -> None:
    assert confirm_check(None).ok and not confirm_check(None).fixed
    assert confirm_check(None, fixed=True).fixed
    unmet = confirm_check(shop_error(48001))
    assert not unmet.ok and unmet.unmet and "couponctl doctor --fix" in unmet.fix
    assert "/shop/coupon/confirm was not called" in unmet.message
    other = confirm_check(shop_error(45009))
    assert not other.ok and not other.unmet  # a quota is not a missing confirm


def test_notify_probe_with_a_configuration() -> None:
    probe = notify_probe({"notify_url": "https://example.com/n", "update_time": "x"}, None, MCHID)
    assert probe.signing.ok and "answer signature verified" in probe.signing.message
    assert probe.notify.ok and probe.url == "https://example.com/n"
    empty = notify_probe({}, None, MCHID)
    assert empty.signing.ok and empty.notify.unmet


def test_notify_probe_reads_a_404_as_no_configuration_and_a_signed_request_accepted() -> None:
    probe = notify_probe(None, pay_error(404, "NOT_FOUND"), MCHID)
    assert probe.signing.ok and "HTTP 404" in probe.signing.message
    assert probe.notify.unmet and MCHID in probe.notify.message and "--notify-url" in probe.notify.fix


def test_notify_probe_separates_our_signature_from_theirs() -> None:
    ours = notify_probe(None, pay_error(401, "SIGN_ERROR"), MCHID)
    assert not ours.signing.ok and "serial_no" in ours.signing.fix
    assert ours.notify.skipped and not ours.notify.unmet
    theirs = notify_probe(None, pay_error(200, "", SignatureError), MCHID)
    assert not theirs.signing.ok and "public_key_file" in theirs.signing.fix
    assert theirs.notify.skipped


def test_notify_probe_does_not_guess_on_other_answers() -> None:
    refused = notify_probe(None, pay_error(400, "INVALID_REQUEST"), MCHID)
    assert refused.signing.ok and not refused.notify.ok and not refused.notify.unmet
    down = notify_probe(None, pay_error(503, "SERVICE_UNAVAILABLE", TransientUpstreamError), MCHID)
    assert not down.signing.ok and "temporary" in down.signing.fix and down.notify.skipped


def test_brand_check_reads_no_auth_as_unauthorised() -> None:
    assert brand_check("120344", None, MCHID).ok
    unmet = brand_check("120344", pay_error(403, "NO_AUTH"), MCHID)
    assert unmet.unmet and unmet.subject == "120344" and "authorise partner" in unmet.fix
    unknown = brand_check("120344", pay_error(500, "SYSTEM_ERROR", TransientUpstreamError), MCHID)
    assert not unknown.ok and not unknown.unmet


def test_refusal_names_only_what_is_known_to_be_unmet() -> None:
    checks = [
        confirm_check(shop_error(48001)),
        brand_check("120344", pay_error(500, "SYSTEM_ERROR"), MCHID),
        brand_check("777", pay_error(403, "NO_AUTH"), MCHID),
    ]
    text = str(refusal(checks))
    assert "shop.confirm" in text and "product.brand 777" in text and "product.brand 120344" not in text
    assert text.count("fix: ") == 2 and "Nothing was applied" in text and "--skip-preflight" in text


def test_a_listing_that_answers_48001_is_the_confirm_refusal() -> None:
    refused = unconfirmed_refusal(shop_error(48001))
    assert refused is not None and "/shop/coupon/confirm was not called" in str(refused)
    assert unconfirmed_refusal(shop_error(48001, "shop.add")) is None
    assert unconfirmed_refusal(shop_error(45009)) is None


def test_check_lines_and_json() -> None:
    failed = Check("brand", "product", False, "not authorised", "authorise it", subject="120344", unmet=True)
    assert failed.line() == "FAIL product.brand 120344: not authorised\n       fix: authorise it"
    assert failed.as_json() == {
        "check": "product.brand",
        "ok": False,
        "message": "not authorised",
        "subject": "120344",
        "fix": "authorise it",
    }
    assert Check("token", "shop", True, "fetched", "unused").line() == "ok   shop.token: fetched"
    skipped = Check("notify_config", "product", False, "not checked", skipped=True)
    assert skipped.line().startswith("skip ") and skipped.as_json()["skipped"] is True


# --- the probes against the in-process sandbox ---------------------------------------------------------------------


def against(config: SandboxConfig, scenario: Callable[[ShopProvider, WechatPayProvider], Awaitable[Any]]) -> Any:
    app = create_app(CREDS, config)
    transport = httpx.ASGITransport(app=app)
    shop = ShopProvider(CREDS.appid, Secret(CREDS.app_secret), "http://sandbox.invalid", transport=transport)
    pay = WechatPayProvider(
        mchid=CREDS.mchid,
        serial_no=CREDS.merchant_serial_no,
        private_key_pem=CREDS.merchant_private_key_pem.encode(),
        public_key_id=CREDS.public_key_id,
        public_key_pem=CREDS.wechatpay_public_key_pem.encode(),
        base_url="http://sandbox.invalid",
        brand_id=CREDS.brand_id,
        transport=transport,
    )

    async def main() -> Any:
        try:
            return await scenario(shop, pay)
        finally:
            await shop.aclose()
            await pay.aclose()

    try:
        return asyncio.run(main())
    finally:
        app.state.sandbox.close()


UNMET = SandboxConfig(
    confirm_required=True, notify_config_required=True, unauthorised_brand_ids=(CREDS.brand_id,), extra_brand_ids=("7",)
)


def test_probes_find_each_unmet_prerequisite() -> None:
    async def scenario(shop: ShopProvider, pay: WechatPayProvider) -> list[Check]:
        probe = await notify_checks(pay, CREDS.mchid)
        return [
            *await shop_checks(shop),
            probe.signing,
            probe.notify,
            *await brand_checks(pay, [CREDS.brand_id, "7"], CREDS.mchid),
        ]

    checks = against(UNMET, scenario)
    assert [(c.family, c.name, c.ok, c.unmet) for c in checks] == [
        ("shop", "token", True, False),
        ("shop", "confirm", False, True),
        ("product", "signing", True, False),
        ("product", "notify_config", False, True),
        ("product", "brand", False, True),
        ("product", "brand", True, False),
    ]


def test_fix_confirms_and_sets_the_notify_url_but_never_replaces_one() -> None:
    async def scenario(shop: ShopProvider, pay: WechatPayProvider) -> tuple[list[Check], Check, Check]:
        fixed_shop = await shop_checks(shop, fix=True)
        fixed = await notify_checks(pay, CREDS.mchid, notify_url="https://example.com/a")
        again = await notify_checks(pay, CREDS.mchid, notify_url="https://example.com/b")
        return fixed_shop, fixed.notify, again.notify

    shop_checks_, fixed, again = against(UNMET, scenario)
    assert shop_checks_[-1].ok and shop_checks_[-1].fixed
    assert fixed.ok and fixed.fixed and "https://example.com/a" in fixed.message
    assert again.ok and not again.fixed and "https://example.com/a" in again.message  # the first one stays


def test_without_fix_nothing_is_written() -> None:
    async def scenario(shop: ShopProvider, pay: WechatPayProvider) -> list[Check]:
        first = await shop_checks(shop)
        await notify_checks(pay, CREDS.mchid)
        return [*first, *await shop_checks(shop), (await notify_checks(pay, CREDS.mchid)).notify]

    checks = against(UNMET, scenario)
    assert [c.ok for c in checks if c.name in ("confirm", "notify_config")] == [False, False, False]


def test_with_every_switch_off_every_probe_passes() -> None:
    async def scenario(shop: ShopProvider, pay: WechatPayProvider) -> list[Check]:
        probe = await notify_checks(pay, CREDS.mchid)
        return [
            *await shop_checks(shop),
            probe.signing,
            probe.notify,
            *await brand_checks(pay, [CREDS.brand_id], CREDS.mchid),
        ]

    checks = against(SandboxConfig(), scenario)
    assert all(c.ok for c in checks), [c.line() for c in checks if not c.ok]
    assert "answer signature verified" in checks[2].message


def test_account_request_reads_and_sets_the_notify_configuration_through_the_public_provider_api() -> None:
    """The pre-flight's account calls go through `WechatPayProvider.account_request` (signed, answer verified),
    never the provider's private request path."""

    async def scenario(shop: ShopProvider, pay: WechatPayProvider) -> tuple[int | None, Any, Any]:
        try:
            await pay.account_request(NOTIFY_OPERATION, "GET", NOTIFY_CONFIG_PATH)
        except UpstreamError as err:
            missing = err.http_status
        else:
            missing = None
        body = {"notify_url": "https://example.com/n"}
        return (
            missing,
            await pay.account_request(NOTIFY_OPERATION, "POST", NOTIFY_CONFIG_PATH, body),
            (await pay.account_request(NOTIFY_OPERATION, "GET", NOTIFY_CONFIG_PATH)),
        )

    missing, written, read = against(UNMET, scenario)
    assert missing == 404
    assert written["notify_url"] == read["notify_url"] == "https://example.com/n"
    source = Path(preflight.__file__).read_text(encoding="utf-8")
    assert "._send" not in source and "._entity" not in source
