"""The sandbox's switches for what the docs leave open (issue 15 item 3), and `/v3/certificates`.

Each switch is one reading of an undocumented behaviour: status-1 shop coupons echoed partially (reference A.6.4),
another "no such coupon" errcode (F.3), PATCH / deactivate outside EFFECTIVE (the PATCH doc page says only "the
coupon exists"), and platform certificates for merchants not yet on the WeChat Pay public key (C.3 / C.4).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3.type import RequestType

from tests.sandbox.helpers import PayClient, ShopClient, display_info, product_body, shop_coupon, unique
from tests.sandbox.test_wechatpayv3 import call, sdk
from tests.sandbox_server import ServedSandbox

APIV3_KEY = "0123456789abcdef0123456789ABCDEF"


@pytest.fixture
def switches(served: ServedSandbox, http: httpx.Client) -> Iterator[Any]:
    """Set switches for one test; the defaults come back afterwards (the served sandbox is shared by the module)."""
    url = f"{served.url}/_sandbox/switches"
    defaults = http.get(url).json()

    def put(**values: Any) -> dict[str, Any]:
        response = http.put(url, json=values)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    yield put
    http.put(url, json=defaults).raise_for_status()


def test_switches_are_listed_and_checked(served: ServedSandbox, http: httpx.Client, switches: Any) -> None:
    url = f"{served.url}/_sandbox/switches"
    assert http.get(url).json() == {
        "shop_status1_body": "full",
        "shop_not_found_errcode": 1090057,
        "product_patch_requires_effective": True,
        "apiv3_key": "",
        "confirm_required": False,
        "notify_config_required": False,
        "unauthorised_brand_ids": [],
        "unknown_store_ids": [],
    }
    assert http.put(url, json={"shop_status1_body": "half"}).status_code == 400
    assert http.put(url, json={"rate_limits": {}}).status_code == 400  # not a switch
    assert http.put(url, json={"apiv3_key": "short"}).status_code == 400
    assert switches(shop_status1_body="partial")["shop_status1_body"] == "partial"


@pytest.mark.parametrize("mode", ["partial", "zero_filled"])
def test_status_1_coupons_are_echoed_partially_and_active_ones_whole(
    shop: ShopClient, switches: Any, mode: str
) -> None:
    """get and get_list answer a status-1 coupon with the partial / zero-filled coupon_info of the doc examples;
    once active (status 2) the whole body comes back. The stored coupon is untouched."""
    draft, active = unique("draft"), unique("active")
    for out_id in (draft, active):
        assert shop.call("add", {"coupon": shop_coupon(out_id)})["errcode"] == 0
    assert shop.call("update_status", {"out_coupon_id": active, "status": 2})["errcode"] == 0
    whole = shop.call("get", {"out_coupon_id": draft})["result"]["coupon"]["coupon_info"]
    switches(shop_status1_body=mode)
    got = shop.call("get", {"out_coupon_id": draft})["result"]["coupon"]
    listed = {
        entry["coupon"]["out_coupon_id"]: entry["coupon"]
        for entry in shop.call("get_list", {"page_size": 200, "offset": 0})["result_list"]
    }
    assert got["status"] == 1 and listed[draft] == got
    if mode == "partial":
        assert got["coupon_info"] == {"name": whole["name"]}
    else:
        assert set(got["coupon_info"]) == set(whole)
        assert got["coupon_info"]["name"] == "" and got["coupon_info"]["discount_info"]["discount_fee"] == 0
    assert listed[active]["coupon_info"]["discount_info"] == whole["discount_info"]
    switches(shop_status1_body="full")
    assert shop.call("get", {"out_coupon_id": draft})["result"]["coupon"]["coupon_info"] == whole


def test_another_not_found_errcode(shop: ShopClient, switches: Any) -> None:
    assert shop.call("get", {"out_coupon_id": "no-such-coupon"})["errcode"] == 1090057
    switches(shop_not_found_errcode=1090099)
    assert shop.call("get", {"out_coupon_id": "no-such-coupon"})["errcode"] == 1090099
    assert shop.call("update_status", {"out_coupon_id": "no-such-coupon", "status": 2})["errcode"] == 1090099


def _auditing_coupon(pay: PayClient, served: ServedSandbox, http: httpx.Client) -> str:
    created = pay.create(product_body(pay.creds, unique("aud")))
    assert created.status_code == 200, created.text
    pid = str(created.json()["product_coupon_id"])
    # Back under review (AUDITING), as a coupon created while review is on would be.
    http.patch(f"{served.url}/_sandbox/product-coupons/{pid}", json={"state": "AUDITING"}).raise_for_status()
    return pid


def test_patch_and_deactivate_outside_effective_follow_the_switch(
    pay: PayClient, served: ServedSandbox, http: httpx.Client, switches: Any
) -> None:
    """Strict (default): PATCH / deactivate of an AUDITING coupon is 400 INVALID_REQUEST. Lenient: both work, and a
    DEACTIVATED coupon stays terminal either way."""
    pid = _auditing_coupon(pay, served, http)
    new_display = display_info(name="审核中改名")
    patch = {"out_request_no": unique("p"), "display_info": new_display, "brand_id": pay.creds.brand_id}
    refused = pay.patch(pid, patch)
    assert refused.status_code == 400 and refused.json()["code"] == "INVALID_REQUEST"
    switches(product_patch_requires_effective=False)
    patch["out_request_no"] = unique("p")
    patched = pay.patch(pid, patch)
    assert patched.status_code == 200 and patched.json()["display_info"]["name"] == "审核中改名"
    end = {"out_request_no": unique("d"), "deactivate_reason": "活动取消", "brand_id": pay.creds.brand_id}
    ended = pay.deactivate(pid, end)
    assert ended.status_code == 200 and ended.json()["state"] == "DEACTIVATED"
    patch["out_request_no"] = unique("p")
    again = pay.patch(pid, patch)
    assert again.status_code == 400 and again.json()["code"] == "INVALID_REQUEST"


def _decrypt(item: dict[str, Any], key: str) -> x509.Certificate:
    enc = item["encrypt_certificate"]
    assert enc["algorithm"] == "AEAD_AES_256_GCM"
    pem = AESGCM(key.encode()).decrypt(
        enc["nonce"].encode(), base64.b64decode(enc["ciphertext"]), enc["associated_data"].encode()
    )
    return x509.load_pem_x509_certificate(pem)


def test_certificates_are_served_encrypted_and_sign_certificate_mode_answers(pay: PayClient, switches: Any) -> None:
    """Without an APIv3 key /v3/certificates is refused; with one it serves the platform certificate encrypted with
    it (AEAD_AES_256_GCM), signed by that certificate; requests naming the public key are still answered with it."""
    refused = pay.send("GET", "/v3/certificates")
    assert refused.status_code == 400
    switches(apiv3_key=APIV3_KEY)
    response = pay.send("GET", "/v3/certificates")
    assert response.status_code == 200
    item = json.loads(response.content)["data"][0]
    cert = _decrypt(item, APIV3_KEY)
    assert f"{cert.serial_number:X}" == item["serial_no"] == response.headers["wechatpay-serial"]
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    h = response.headers
    message = f"{h['wechatpay-timestamp']}\n{h['wechatpay-nonce']}\n".encode() + response.content + b"\n"
    key.verify(base64.b64decode(h["wechatpay-signature"]), message, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(Exception):  # noqa: B017 - any cryptography error: the wrong key cannot decrypt
        _decrypt(item, "X" * 32)
    # A request naming the public key id keeps being answered with the public key (reference C.3).
    created = pay.create(product_body(pay.creds, unique("pk")))
    assert created.headers["wechatpay-serial"] == pay.creds.public_key_id


def test_wechatpayv3_in_certificate_mode_verifies_sandbox_answers(served: ServedSandbox, switches: Any) -> None:
    """The third-party SDK, with no public key, downloads /v3/certificates from the sandbox, decrypts it with the
    APIv3 key and verifies every answer with the platform certificate (its own code, not ours)."""
    switches(apiv3_key=APIV3_KEY)
    client = sdk(served)
    core = client._core
    core._public_key = None  # certificate mode: no public key (reference D.2)
    core._public_key_id = None
    core._apiv3_key = APIV3_KEY
    core._update_certificates()
    assert len(core._certificates) == 1
    creds = served.credentials
    code, created = call(client, "/v3/marketing/partner/product-coupon/product-coupons", RequestType.POST,
                         product_body(creds, unique("sdkc")))  # fmt: skip
    assert code == 200
    pid = created["product_coupon_id"]
    code, got = call(
        client, f"/v3/marketing/partner/product-coupon/product-coupons/{pid}?brand_id={creds.brand_id}", RequestType.GET
    )
    assert code == 200 and got["product_coupon_id"] == pid
    switches(apiv3_key="")
