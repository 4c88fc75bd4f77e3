"""APIv3 signatures: verifying `WECHATPAY2-SHA256-RSA2048` requests and signing responses (reference Part C).

Request message (C.1): METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n over the raw bytes as sent.
Response message (C.4): TIMESTAMP\\nNONCE\\nBODY\\n over the exact bytes sent.
Keys are loaded once per sandbox (PEM parsing is far slower than one verification).
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SCHEME = "WECHATPAY2-SHA256-RSA2048"
BRAND_SCHEME = "WECHATPAY-BRAND-SHA256-RSA2048"  # brand routes (reference C.2): brand_id instead of mchid
_PAIR = re.compile(r'\s*([A-Za-z_]+)\s*=\s*"([^"]*)"\s*')
AUTH_KEYS = ("mchid", "nonce_str", "timestamp", "serial_no", "signature")


class SignatureProblem(Exception):
    """Why a request signature was refused (the message is safe to return to the caller)."""


@dataclass(frozen=True)
class AuthorizationHeader:
    """The parsed `Authorization` header of an APIv3 request (`mchid` holds `brand_id` for the brand scheme)."""

    mchid: str
    nonce_str: str
    timestamp: str
    serial_no: str
    signature: str


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    # The sandbox generated (or owns) this key, so OpenSSL's slow consistency check (~40 ms per load) is skipped:
    # the embedded mode builds a sandbox on every couponctl invocation.
    key = serialization.load_pem_private_key(pem.encode(), password=None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def parse_authorization(header: str | None, expected: str = SCHEME) -> AuthorizationHeader:
    """Parse `WECHATPAY2-SHA256-RSA2048 k="v",...` (pairs in any order, reference C.1; brand scheme C.2)."""
    if not header:
        raise SignatureProblem("Authorization header is missing")
    scheme, _, rest = header.strip().partition(" ")
    if scheme != expected:
        raise SignatureProblem(f"unsupported authorization scheme, expected {expected}")
    identity = "brand_id" if expected == BRAND_SCHEME else "mchid"
    values: dict[str, str] = {}
    for part in rest.split(","):
        match = _PAIR.fullmatch(part)
        if match is None:
            raise SignatureProblem("malformed Authorization header")
        values[match.group(1)] = match.group(2)
    keys = (identity, *AUTH_KEYS[1:])
    missing = [key for key in keys if not values.get(key)]
    if missing:
        raise SignatureProblem(f"Authorization header lacks {', '.join(missing)}")
    return AuthorizationHeader(
        values[identity], values["nonce_str"], values["timestamp"], values["serial_no"], values["signature"]
    )


def request_message(method: str, url: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The 5-line message a request signature covers (reference C.1)."""
    return b"%s\n%s\n%s\n%s\n%s\n" % (method.encode(), url.encode(), timestamp.encode(), nonce.encode(), body)


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """The 3-line message a response signature covers (reference C.4)."""
    return b"%s\n%s\n%s\n" % (timestamp.encode(), nonce.encode(), body)


def sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """Base64 RSASSA-PKCS1-v1_5 SHA-256 signature."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
    except ValueError:
        return False
    try:
        key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def new_nonce() -> str:
    """32 hex characters, as WeChat Pay sends in `Wechatpay-Nonce` (reference E Family-2 item 3)."""
    return secrets.token_hex(16).upper()


# --- Platform certificates (`GET /v3/certificates`, reference C.3 / C.4) ----------------------------------------------

CERTIFICATE_AD = "certificate"  # the associated_data WeChat Pay uses for encrypted certificates [INF: SDK examples]


@dataclass(frozen=True)
class PlatformCertificate:
    """A WeChat Pay platform certificate: the key that signs answers in certificate mode, its X.509 PEM and serial."""

    key: rsa.RSAPrivateKey
    pem: bytes
    serial_no: str  # upper-case hex, as `Wechatpay-Serial` carries it (C.4)
    not_before: datetime
    not_after: datetime


def new_platform_certificate(now: float, days: int = 5 * 365) -> PlatformCertificate:
    """A fresh self-signed platform certificate valid from a day before `now` (our default: 5 years)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenpay.com (couponctl sandbox)"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (sandbox)"),
        ]
    )
    start = datetime.fromtimestamp(now, UTC) - timedelta(days=1)
    end = start + timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    return PlatformCertificate(
        key=key,
        pem=cert.public_bytes(serialization.Encoding.PEM),
        serial_no=f"{cert.serial_number:X}",
        not_before=start,
        not_after=end,
    )


def encrypt_resource(apiv3_key: str, plaintext: bytes, associated_data: str = CERTIFICATE_AD) -> dict[str, str]:
    """AEAD_AES_256_GCM with the merchant's APIv3 key, as `encrypt_certificate` carries it (reference C.4)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_hex(6)  # 12 ASCII characters, the nonce length WeChat Pay uses
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "nonce": nonce,
        "associated_data": associated_data,
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }
