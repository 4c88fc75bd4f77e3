"""The account prerequisites the sandbox models (issue 17 item 4), each off by default and switchable at run time:
`/shop/coupon/confirm` (reference A.2), the product-coupon notify configuration (B.1, F.11) and the brand's
authorisation of the partner (B.0)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.sandbox import SandboxConfig, create_app
from reconciler.sandbox.prerequisites import BRAND_NOTIFY_CONFIG_PATHS, DEFAULT_NOTIFY_URL, NOTIFY_CONFIG_PATHS
from tests.sandbox.helpers import PRODUCTS, product_body, unique, verify_response
from tests.sandbox.test_inprocess import CREDS, Client, get_list, run, signed, token

NOTIFY = NOTIFY_CONFIG_PATHS[0]


def test_every_prerequisite_is_off_by_default() -> None:
    """The README demo needs none of them: a fresh sandbox lists shop coupons and creates product coupons."""

    async def scenario(client: Client) -> None:
        assert await get_list(client, await token(client)) == 0
        created = await signed(client, "POST", PRODUCTS, product_body(CREDS, unique("d")))
        assert created.status_code == 200, created.text

    run(SandboxConfig(), scenario)


@pytest.mark.parametrize("path", NOTIFY_CONFIG_PATHS)
def test_notify_config_gates_create_until_set(path: str) -> None:
    """With the switch on, create answers 400 INVALID_REQUEST until a notify URL is set; GET answers 404 until then
    and the configuration afterwards, signed; every spelling of the path (F.11) reads and writes the same one."""

    async def scenario(client: Client) -> None:
        missing = await signed(client, "GET", path)
        assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
        assert verify_response(CREDS, missing)
        refused = await signed(client, "POST", PRODUCTS, product_body(CREDS, unique("n")))
        assert refused.status_code == 400 and refused.json()["code"] == "INVALID_REQUEST"
        assert "notify-configs" in refused.json()["message"]
        set_ = await signed(client, "POST", path, {"notify_url": "https://example.com/coupon-events"})
        assert set_.status_code == 200, set_.text
        assert set_.json()["notify_url"] == "https://example.com/coupon-events"
        assert set_.json()["update_time"].endswith("+08:00")
        read = await signed(client, "GET", NOTIFY)  # the same configuration under the reference's spelling
        assert read.status_code == 200 and read.json() == set_.json()
        assert verify_response(CREDS, read)
        created = await signed(client, "POST", PRODUCTS, product_body(CREDS, unique("n")))
        assert created.status_code == 200, created.text

    run(SandboxConfig(notify_config_required=True), scenario)


@pytest.mark.parametrize(
    "body",
    [{"notify_url": "http://example.com/x"}, {"notify_url": ""}, {}, {"notify_url": "https://a", "brand_id": "1"}],
)
def test_notify_config_post_checks_its_body(body: dict[str, Any]) -> None:
    async def scenario(client: Client) -> None:
        answer = await signed(client, "POST", NOTIFY, body)
        assert answer.status_code == 400 and answer.json()["code"] == "PARAM_ERROR"
        assert (await signed(client, "GET", NOTIFY)).status_code == 404  # nothing was stored

    run(SandboxConfig(notify_config_required=True), scenario)


def test_notify_config_needs_a_signature_and_knows_its_methods() -> None:
    async def scenario(client: Client) -> None:
        unsigned = await client.get(NOTIFY)
        assert unsigned.status_code == 401 and unsigned.json()["code"] == "SIGN_ERROR"
        wrong = await signed(client, "PATCH", NOTIFY, {"notify_url": "https://example.com/x"})
        assert wrong.status_code == 405

    run(SandboxConfig(), scenario)


def test_with_the_switch_off_the_account_is_set_up() -> None:
    """Off (the default), a GET answers the sandbox's default notify URL until one is set, so doctor passes."""

    async def scenario(client: Client) -> None:
        default = await signed(client, "GET", NOTIFY)
        assert default.status_code == 200 and default.json()["notify_url"] == DEFAULT_NOTIFY_URL
        await signed(client, "POST", NOTIFY, {"notify_url": "https://example.com/n"})
        assert (await signed(client, "GET", NOTIFY)).json()["notify_url"] == "https://example.com/n"

    run(SandboxConfig(), scenario)


def test_brand_routes_have_their_own_notify_config() -> None:
    """On brand routes the brand is the caller, so its configuration is its own (C.2)."""
    assert all(p.startswith("/brand/") for p in BRAND_NOTIFY_CONFIG_PATHS)


def test_an_unauthorised_brand_answers_no_auth_on_every_partner_call() -> None:
    """`unauthorised_brand_ids` withdraws even the credentials' own brand: reads and creates naming it answer
    403 NO_AUTH (B.0, E Family-2 item 4) before anything else is looked at."""

    async def scenario(client: Client) -> None:
        read = await signed(client, "GET", f"{PRODUCTS}/1000000001?brand_id={CREDS.brand_id}")
        assert read.status_code == 403 and read.json()["code"] == "NO_AUTH"
        assert read.headers["request-id"].endswith("-268579803")
        create = await signed(client, "POST", PRODUCTS, product_body(CREDS, unique("a")))
        assert create.status_code == 403 and create.json()["code"] == "NO_AUTH"

    run(SandboxConfig(unauthorised_brand_ids=(CREDS.brand_id,)), scenario)


def test_prerequisites_switch_at_run_time_through_the_admin_api() -> None:
    """`PUT /_sandbox/switches` turns each prerequisite on and off; the confirm a client made is remembered."""
    app = create_app(CREDS, SandboxConfig())
    sandbox = app.state.sandbox
    try:
        values = sandbox.set_switches(
            {"confirm_required": True, "notify_config_required": True, "unauthorised_brand_ids": [CREDS.brand_id]}
        )
        assert values["confirm_required"] is True
        assert values["notify_config_required"] is True
        assert values["unauthorised_brand_ids"] == (CREDS.brand_id,)
        assert sandbox.pay.config.unauthorised_brand_ids == (CREDS.brand_id,)
        assert sandbox.shop.config.confirm_required is True
        assert sandbox.set_switches({"unauthorised_brand_ids": []})["unauthorised_brand_ids"] == ()
        with pytest.raises(ValueError, match="unknown switches"):
            sandbox.set_switches({"notify_required": True})
    finally:
        sandbox.close()
