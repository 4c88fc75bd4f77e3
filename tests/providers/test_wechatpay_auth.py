"""WeChat Pay APIv3 signing and response verification (reference C.1, C.4, C.5)."""

from __future__ import annotations

import base64
import re

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from reconciler.errors import ConfigError, SignatureError
from reconciler.providers.wechatpay_auth import (
    ResponseVerifier,
    WechatPaySigner,
    load_private_key,
    load_public_key,
    request_message,
    response_message,
)
from tests.providers.keys import VECTOR_KEY_PEM, VECTOR_MESSAGE, VECTOR_SIGNATURE, keypair

NOW = 1_700_000_000.0
PUB_ID = "PUB_KEY_ID_0000000000000024101100397200000006"


def make_signer() -> WechatPaySigner:
    return WechatPaySigner(
        "1900000001",
        "SERIAL01",
        keypair("merchant").private_pem,
        PUB_ID,
        clock=lambda: NOW,
        nonce=lambda: "593BEC0C930BF1AFEB40B4A08C8FB242",
    )


def test_signer_reproduces_published_wechatpay_go_vector() -> None:
    """The RSA-SHA256 primitive gives exactly the signature wechatpay-go publishes for its test key (C.5)."""
    signer = WechatPaySigner("1234567890", "F5765756002FDD77", VECTOR_KEY_PEM, "")
    assert signer.sign(VECTOR_MESSAGE) == VECTOR_SIGNATURE


def test_request_message_has_five_newline_terminated_lines() -> None:
    """A GET signs an empty body line, so the message ends with two newlines (C.1, C.2 example)."""
    message = request_message("get", b"/v3/x/200000001", "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", b"")
    assert message == b"GET\n/v3/x/200000001\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"


def test_authorization_header_format_and_signature_cover_sent_bytes() -> None:
    """The flow signs method, raw path with query, timestamp, nonce and the exact body bytes, and adds the headers."""
    signer = make_signer()
    body = '{"name":"咖啡"}'.encode()
    request = httpx.Request(
        "POST", "https://api.mch.weixin.qq.com/v3/p/product-coupons?brand_id=120344&a=%E4%B8%AD", content=body
    )
    flow = signer.auth_flow(request)
    signed = next(flow)
    header = signed.headers["Authorization"]
    match = re.fullmatch(
        r'WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",'
        r'timestamp="1700000000",serial_no="SERIAL01",signature="([A-Za-z0-9+/=]+)"',
        header,
    )
    assert match is not None
    expected = (
        b"POST\n/v3/p/product-coupons?brand_id=120344&a=%E4%B8%AD\n1700000000\n593BEC0C930BF1AFEB40B4A08C8FB242\n"
        + body
        + b"\n"
    )
    keypair("merchant").public.verify(base64.b64decode(match.group(1)), expected, padding.PKCS1v15(), hashes.SHA256())
    assert signed.headers["Wechatpay-Serial"] == PUB_ID
    assert signed.headers["Accept"] == "application/json"
    assert signed.headers["User-Agent"].startswith("couponctl/")


def test_default_nonce_is_32_upper_hex_and_fresh() -> None:
    """Without an injected nonce source, each request gets a new 32-character upper-case hex nonce."""
    signer = WechatPaySigner("1900000001", "S", keypair("merchant").private_pem, PUB_ID)
    nonces = set()
    for _ in range(2):
        request = httpx.Request("GET", "https://x/v3/a")
        header = next(signer.auth_flow(request)).headers["Authorization"]
        found = re.search(r'nonce_str="([^"]+)"', header)
        assert found is not None
        nonces.add(found.group(1))
    assert len(nonces) == 2
    assert all(re.fullmatch(r"[0-9A-F]{32}", n) for n in nonces)


def test_unreadable_private_key_is_a_config_error_without_key_text() -> None:
    """A broken key file gives one ConfigError that does not echo its content."""
    with pytest.raises(ConfigError) as info:
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXN0dWZm\n-----END PRIVATE KEY-----\n")
    assert "c2VjcmV0" not in str(info.value)


def signed_headers(
    body: bytes, *, timestamp: int = int(NOW), key: str = "wechatpay", extra: dict[str, str] | None = None
) -> dict[str, str]:
    nonce = "0123456789abcdef0123456789abcdef"
    sig = keypair(key).private.sign(response_message(str(timestamp), nonce, body), padding.PKCS1v15(), hashes.SHA256())
    headers = {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": base64.b64encode(sig).decode(),
        "Wechatpay-Serial": PUB_ID,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Request-ID": "REQ-0",
    }
    headers.update(extra or {})
    return headers


def make_verifier() -> ResponseVerifier:
    return ResponseVerifier({PUB_ID: load_public_key(keypair("wechatpay").public_pem)}, clock=lambda: NOW)


BODY = b'{"product_coupon_id":"1000000013","state":"EFFECTIVE"}'


def test_verifier_accepts_a_good_signature() -> None:
    """A response signed by the configured WeChat Pay key over the raw body passes."""
    make_verifier().verify(signed_headers(BODY), BODY)


def test_verifier_accepts_lower_case_header_names() -> None:
    """Header names are matched case-insensitively, as HTTP requires."""
    make_verifier().verify({k.lower(): v for k, v in signed_headers(BODY).items()}, BODY)


def test_verifier_refuses_tampered_body() -> None:
    """One changed byte of the body fails verification and the error carries the Request-ID."""
    with pytest.raises(SignatureError) as info:
        make_verifier().verify(signed_headers(BODY), BODY.replace(b"EFFECTIVE", b"AUDITING!"))
    assert info.value.request_id == "REQ-0"
    assert "bad signature" in str(info.value)


def test_verifier_refuses_signature_by_another_key() -> None:
    """A signature made with any key but the configured WeChat Pay key is refused."""
    with pytest.raises(SignatureError, match="bad signature"):
        make_verifier().verify(signed_headers(BODY, key="intruder"), BODY)


@pytest.mark.parametrize(
    "header",
    ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial", "Wechatpay-Signature-Type"],
)
def test_verifier_refuses_missing_headers(header: str) -> None:
    """A response lacking any signature header is treated as unsigned."""
    headers = signed_headers(BODY)
    del headers[header]
    with pytest.raises(SignatureError, match=f"unsigned.*{header}"):
        make_verifier().verify(headers, BODY)


def test_verifier_refuses_other_signature_type() -> None:
    """Only WECHATPAY2-SHA256-RSA2048 is accepted (D.2)."""
    headers = signed_headers(BODY, extra={"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"})
    with pytest.raises(SignatureError, match="Signature-Type"):
        make_verifier().verify(headers, BODY)


def test_verifier_refuses_unknown_serial() -> None:
    """A Wechatpay-Serial naming a key we do not hold is refused, even if the signature itself is valid."""
    headers = signed_headers(BODY, extra={"Wechatpay-Serial": "PUB_KEY_ID_0000000000000024101100397200000099"})
    with pytest.raises(SignatureError, match="unknown key"):
        make_verifier().verify(headers, BODY)


@pytest.mark.parametrize("offset", [300, -300, 3600])
def test_verifier_refuses_timestamps_five_minutes_or_more_away(offset: int) -> None:
    """A validly signed response 5 minutes old or in the future is refused (C.4)."""
    with pytest.raises(SignatureError, match="away from now"):
        make_verifier().verify(signed_headers(BODY, timestamp=int(NOW) + offset), BODY)


def test_verifier_accepts_timestamp_just_inside_the_window() -> None:
    """299 seconds of skew is still accepted."""
    make_verifier().verify(signed_headers(BODY, timestamp=int(NOW) - 299), BODY)


def test_verifier_refuses_signtest_probe() -> None:
    """WeChat's `WECHATPAY/SIGNTEST/` probe signatures fail like any bad signature (C.4)."""
    headers = signed_headers(BODY, extra={"Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + "A" * 40})
    with pytest.raises(SignatureError):
        make_verifier().verify(headers, BODY)


def test_verifier_refuses_non_base64_signature() -> None:
    """Garbage in the signature header is refused, not crashed on."""
    with pytest.raises(SignatureError, match="Base64"):
        make_verifier().verify(signed_headers(BODY, extra={"Wechatpay-Signature": "***"}), BODY)


def test_verifier_refuses_a_replayed_response() -> None:
    """The same signed answer (timestamp, nonce, signature) presented twice is refused the second time."""
    verifier = make_verifier()
    verifier.verify(signed_headers(BODY), BODY)
    with pytest.raises(SignatureError, match="replayed"):
        verifier.verify(signed_headers(BODY), BODY)


def test_verifier_forgets_answers_once_outside_the_window() -> None:
    """Remembered answers are dropped when their timestamp leaves the 5-minute window (which refuses them anyway)."""
    now = [NOW]
    verifier = ResponseVerifier({PUB_ID: load_public_key(keypair("wechatpay").public_pem)}, clock=lambda: now[0])
    verifier.verify(signed_headers(BODY), BODY)
    now[0] = NOW + 301
    verifier.verify(signed_headers(BODY, timestamp=int(NOW) + 300), BODY)
    assert len(verifier._seen) == 1
    with pytest.raises(SignatureError, match="away from now"):
        verifier.verify(signed_headers(BODY), BODY)
