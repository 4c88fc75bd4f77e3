"""WeChat Pay APIv3 request signing (an `httpx.Auth`) and response verification (reference Part C).

Signing (C.1): `WECHATPAY2-SHA256-RSA2048` over the five lines `METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n`,
where the path and query are the raw bytes httpx sends and the body is the exact request bytes. Verification (C.4):
the three lines `TIMESTAMP\\nNONCE\\nBODY\\n` over the raw response bytes, with the key `Wechatpay-Serial` names,
and a timestamp within 5 minutes of our clock. That key is the WeChat Pay public key, or, in platform-certificate
mode, a platform certificate from `GET /v3/certificates`, decrypted with the APIv3 key (`platform_certificates`).
Keys are parsed once; the flow does no I/O.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import secrets
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509 import load_pem_x509_certificate

from reconciler import __version__
from reconciler.errors import ConfigError, SignatureError

SCHEME = "WECHATPAY2-SHA256-RSA2048"
USER_AGENT = f"couponctl/{__version__}"
# A request extension naming the bytes the signature covers when they are not the body: the image upload's `meta`
# JSON (C.1; providers/media.py).
SIGNED_BODY = "couponctl_signed_body"
# C.4: official SDKs refuse responses whose timestamp differs from now by 5 minutes or more (absolute difference).
MAX_SKEW_S = 300.0

# C.4 lists these on every signed response; D.2 shows the SDKs also insist on the signature type.
_SIGNATURE_HEADERS = (
    "wechatpay-timestamp",
    "wechatpay-nonce",
    "wechatpay-signature",
    "wechatpay-serial",
    "wechatpay-signature-type",
)


def default_nonce() -> str:
    """32 upper-case hex characters, like the SDKs' `uuid4().hex.upper()` (reference D.1)."""
    return secrets.token_hex(16).upper()


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """Parse the merchant API private key (PKCS#8 or PKCS#1 PEM). The key text never appears in an error."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError("the WeChat Pay merchant private key is not a readable unencrypted PEM key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("the WeChat Pay merchant private key must be an RSA key (WECHATPAY2-SHA256-RSA2048)")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """Parse a WeChat Pay public key (PEM public key, or a platform certificate PEM)."""
    key: object
    try:
        if b"BEGIN CERTIFICATE" in pem:
            key = load_pem_x509_certificate(pem).public_key()
        else:
            key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise ConfigError("the WeChat Pay public key is not a readable PEM public key or certificate") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError("the WeChat Pay public key must be an RSA key")
    return key


def sign_message(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """Base64(RSASSA-PKCS1-v1_5(SHA-256, key, message)) — the primitive of C.1 and C.5."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def request_message(method: str, raw_path: bytes, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The five-line message of C.1, every line ending with `\\n` (an empty body gives `...\\n\\n`)."""
    head = f"{method.upper()}\n".encode("ascii") + raw_path + f"\n{timestamp}\n{nonce}\n".encode("ascii")
    return head + body + b"\n"


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """The three-line message of C.4 over the raw response bytes."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


class WechatPaySigner(httpx.Auth):
    """Signs every request with the merchant API key (C.1) and adds the headers WeChat Pay expects (C.3)."""

    requires_request_body = True

    def __init__(
        self,
        mchid: str,
        serial_no: str,
        private_key_pem: bytes,
        public_key_id: str,
        *,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = default_nonce,
    ) -> None:
        self.mchid = mchid
        self.serial_no = serial_no
        self.public_key_id = public_key_id
        self._key = load_private_key(private_key_pem)
        self._clock = clock
        self._nonce = nonce

    def __repr__(self) -> str:
        return f"WechatPaySigner(mchid={self.mchid!r}, serial_no={self.serial_no!r})"

    def sign(self, message: bytes) -> str:
        """The Base64 signature of `message` with the merchant key."""
        return sign_message(self._key, message)

    def authorization(self, method: str, raw_path: bytes, body: bytes) -> str:
        """The `Authorization` header value for one request, with a fresh timestamp and nonce."""
        timestamp = str(int(self._clock()))
        nonce = self._nonce()
        signature = self.sign(request_message(method, raw_path, timestamp, nonce, body))
        return (
            f'{SCHEME} mchid="{self.mchid}",nonce_str="{nonce}",timestamp="{timestamp}",'
            f'serial_no="{self.serial_no}",signature="{signature}"'
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # C.1: the canonical URL is the path plus `?query` exactly as sent, and the body the exact bytes sent.
        body = request.extensions.get(SIGNED_BODY, request.content)  # the upload signs its meta part (C.1)
        request.headers["Authorization"] = self.authorization(request.method, request.url.raw_path, body)
        # C.3: official samples always send the public key id, which also tells WeChat which key to sign with.
        if self.public_key_id:
            request.headers["Wechatpay-Serial"] = self.public_key_id
        request.headers["Accept"] = "application/json"
        request.headers["User-Agent"] = USER_AGENT
        yield request


class ResponseVerifier:
    """Checks WeChat Pay response signatures (C.4). Every failure raises `SignatureError`; nothing is trusted else.

    Replays are refused too: a validly signed answer is only good once. The verifier remembers the
    (timestamp, nonce, signature) of every answer it accepted while that timestamp is inside the 5-minute window
    (older ones are refused by the window anyway, so they are forgotten), and refuses a repeat. WeChat Pay signs
    every answer with a fresh nonce, including the replayed answer of an idempotent `out_request_no` (B.9), so an
    honest upstream never trips this. The record is per process (per verifier), which is the span of one run.
    """

    def __init__(
        self,
        public_keys: Mapping[str, rsa.RSAPublicKey],
        *,
        clock: Callable[[], float] = time.time,
        max_skew_s: float = MAX_SKEW_S,
    ) -> None:
        self._keys = dict(public_keys)
        self._clock = clock
        self._max_skew_s = max_skew_s
        self._seen: dict[tuple[str, str, str], int] = {}  # (timestamp, nonce, signature) -> timestamp
        self._expiry: list[tuple[int, tuple[str, str, str]]] = []  # a heap of (timestamp, key) of `_seen`

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        call: str = "WeChat Pay response",
        http_status: int | None = None,
    ) -> None:
        """Raise `SignatureError` unless `body` (raw bytes) carries a valid, fresh signature by a known key."""
        lower = {k.lower(): v for k, v in headers.items()}
        request_id = lower.get("request-id")

        def refuse(reason: str) -> SignatureError:
            return SignatureError(
                call=call, message=f"response refused: {reason}", http_status=http_status, request_id=request_id
            )

        missing = [h for h in _SIGNATURE_HEADERS if not lower.get(h)]
        if missing:
            raise refuse(f"unsigned (missing {', '.join(_header_name(h) for h in missing)})")
        # D.2: the SDKs require exactly this algorithm.
        sig_type = lower["wechatpay-signature-type"]
        if sig_type != SCHEME:
            raise refuse(f"unsupported Wechatpay-Signature-Type {sig_type!r}")
        serial = lower["wechatpay-serial"]
        key = self._keys.get(serial)
        if key is None:
            raise refuse(f"signed by unknown key {serial!r} (Wechatpay-Serial); refresh the WeChat Pay public key")
        timestamp = lower["wechatpay-timestamp"]
        if not timestamp.isdigit():
            raise refuse("Wechatpay-Timestamp is not Unix seconds")
        # C.4: refuse a difference of 5 minutes or more, in either direction (replay protection).
        if abs(self._clock() - int(timestamp)) >= self._max_skew_s:
            raise refuse(f"Wechatpay-Timestamp {timestamp} is {self._max_skew_s:.0f} s or more away from now")
        try:
            signature = base64.b64decode(lower["wechatpay-signature"], validate=True)
        except (binascii.Error, ValueError):
            raise refuse("Wechatpay-Signature is not Base64") from None
        # C.4: `WECHATPAY/SIGNTEST/` probes are not special-cased: they simply fail here.
        try:
            key.verify(
                signature,
                response_message(timestamp, lower["wechatpay-nonce"], body),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise refuse("bad signature (body or headers were altered, or the key is wrong)") from None
        self._refuse_replay(timestamp, lower["wechatpay-nonce"], lower["wechatpay-signature"], refuse)

    def _refuse_replay(
        self, timestamp: str, nonce: str, signature: str, refuse: Callable[[str], SignatureError]
    ) -> None:
        """Remember this signed answer; raise if it was already accepted once (a replay)."""
        horizon = self._clock() - self._max_skew_s
        expiry = self._expiry  # oldest timestamp first: forgetting is O(log n) per answer, not a scan of all
        while expiry and expiry[0][0] <= horizon:
            self._seen.pop(heapq.heappop(expiry)[1], None)
        key = (timestamp, nonce, signature)
        if key in self._seen:
            raise refuse("replayed (this Wechatpay-Nonce and Wechatpay-Timestamp were already answered once)")
        self._seen[key] = int(timestamp)
        heapq.heappush(expiry, (int(timestamp), key))

    def knows(self, serial: str | None) -> bool:
        """Whether a key for this `Wechatpay-Serial` is loaded."""
        return serial is not None and serial in self._keys

    def add_keys(self, public_keys: Mapping[str, rsa.RSAPublicKey]) -> None:
        """Trust these keys too (platform certificates fetched from `/v3/certificates`)."""
        self._keys.update(public_keys)

    def has_signature(self, headers: Mapping[str, str]) -> bool:
        """Whether the response carries a signature at all (4xx/5xx may be unsigned: reference F.14)."""
        return any(k.lower() == "wechatpay-signature" for k in headers)


# --- Platform-certificate mode (reference C.3 / C.4) ---------------------------------------------------------------

CERTIFICATES_PATH = "/v3/certificates"
# C.4: certificates come encrypted with the merchant's APIv3 key; the only algorithm WeChat Pay uses.
CERTIFICATE_ALGORITHM = "AEAD_AES_256_GCM"


@dataclass(frozen=True, slots=True)
class PlatformCertificate:
    """One decrypted platform certificate: its serial (upper-case hex, as `Wechatpay-Serial` names it) and key."""

    serial_no: str
    key: rsa.RSAPublicKey
    not_after: float


def decrypt_resource(apiv3_key: bytes, resource: Mapping[str, Any]) -> bytes:
    """AEAD_AES_256_GCM decryption of an `encrypt_certificate` (or callback `resource`) object with the APIv3 key.

    Raises ValueError when the object is malformed or does not decrypt (a wrong APIv3 key, or altered ciphertext:
    GCM authenticates, so nothing tampered with is ever returned)."""
    if resource.get("algorithm") != CERTIFICATE_ALGORITHM:
        raise ValueError(f"unsupported algorithm {resource.get('algorithm')!r}")
    nonce, associated, ciphertext = (resource.get(k) for k in ("nonce", "associated_data", "ciphertext"))
    if not isinstance(nonce, str) or not isinstance(ciphertext, str) or not isinstance(associated, str | None):
        raise ValueError("nonce, associated_data or ciphertext missing")
    try:
        raw = base64.b64decode(ciphertext, validate=True)
        return AESGCM(apiv3_key).decrypt(nonce.encode(), raw, (associated or "").encode())
    except (binascii.Error, InvalidTag, ValueError):
        raise ValueError("does not decrypt with this APIv3 key (wrong key, or the answer was altered)") from None


def platform_certificates(body: bytes, apiv3_key: bytes, now: float) -> list[PlatformCertificate]:
    """The usable certificates of a `/v3/certificates` answer: decrypted, serial checked, valid at `now`.

    Raises ValueError naming the first problem; an answer with no certificate valid now is a problem too."""
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError("the answer is not JSON") from None
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError("the answer has no data list")
    found: list[PlatformCertificate] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("encrypt_certificate"), dict):
            raise ValueError("a certificate entry has no encrypt_certificate")
        pem = decrypt_resource(apiv3_key, item["encrypt_certificate"])
        try:
            cert = load_pem_x509_certificate(pem)
        except ValueError:
            raise ValueError("a decrypted certificate is not a PEM X.509 certificate") from None
        serial = f"{cert.serial_number:X}"
        if str(item.get("serial_no", "")).upper().lstrip("0") != serial.lstrip("0"):
            raise ValueError(f"serial_no {item.get('serial_no')!r} is not the certificate's serial {serial}")
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError(f"certificate {serial} does not hold an RSA key")
        start, end = cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()
        if start <= now < end:  # an expired (or not yet valid) certificate never verifies anything
            found.append(PlatformCertificate(str(item.get("serial_no")), key, end))
    if not found:
        raise ValueError("no certificate in the answer is valid now")
    return found


def _header_name(lower: str) -> str:
    return "-".join(part.capitalize() for part in lower.split("-"))
