"""Sandbox credentials: the app id/secret, merchant identity and the two RSA key pairs, on disk or in memory.

`--keys-dir` holds what any client needs (contract §3.1): `sandbox.json` (appid, app_secret, mchid, serial_no,
brand_id, public_key_id), `merchant_private_key.pem` (signs requests) and `wechatpay_public_key.pem` (verifies
responses). The sandbox also keeps `merchant_public_key.pem` and `wechatpay_private_key.pem` there so that a restart
reuses the same identity. Private keys are written with mode 0600.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CREDENTIALS_FILE = "sandbox.json"
MERCHANT_PRIVATE_KEY_FILE = "merchant_private_key.pem"
MERCHANT_PUBLIC_KEY_FILE = "merchant_public_key.pem"
WECHATPAY_PRIVATE_KEY_FILE = "wechatpay_private_key.pem"
WECHATPAY_PUBLIC_KEY_FILE = "wechatpay_public_key.pem"


@dataclass(frozen=True)
class SandboxCredentials:
    """Everything both sides of the sandbox need to authenticate each other."""

    appid: str
    app_secret: str
    mchid: str
    merchant_serial_no: str
    brand_id: str
    public_key_id: str
    merchant_private_key_pem: str
    merchant_public_key_pem: str
    wechatpay_private_key_pem: str
    wechatpay_public_key_pem: str

    def __repr__(self) -> str:  # never show secrets, even in a traceback
        return f"SandboxCredentials(appid={self.appid!r}, mchid={self.mchid!r}, brand_id={self.brand_id!r})"


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def generate_credentials() -> SandboxCredentials:
    """Fresh random credentials (RSA 2048), kept in memory only."""
    merchant_private, merchant_public = _key_pair()
    wechatpay_private, wechatpay_public = _key_pair()
    return SandboxCredentials(
        appid="wx" + secrets.token_hex(8),
        app_secret=secrets.token_hex(16),
        mchid="19" + "".join(secrets.choice("0123456789") for _ in range(8)),
        # Merchant API certificate serials are 40 upper-case hex digits (reference C.1).
        merchant_serial_no=secrets.token_hex(20).upper(),
        brand_id="".join(secrets.choice("123456789") for _ in range(6)),
        # Reference C.4: "PUB_KEY_ID_" + 34 digits.
        public_key_id="PUB_KEY_ID_" + "".join(secrets.choice("0123456789") for _ in range(34)),
        merchant_private_key_pem=merchant_private,
        merchant_public_key_pem=merchant_public,
        wechatpay_private_key_pem=wechatpay_private,
        wechatpay_public_key_pem=wechatpay_public,
    )


def _write(path: Path, text: str, private: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600 if private else 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    if private:
        os.chmod(path, 0o600)


def save_credentials(credentials: SandboxCredentials, keys_dir: Path) -> None:
    """Write every credential file into keys_dir (private keys 0600)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "appid": credentials.appid,
        "app_secret": credentials.app_secret,
        "mchid": credentials.mchid,
        "serial_no": credentials.merchant_serial_no,
        "brand_id": credentials.brand_id,
        "public_key_id": credentials.public_key_id,
    }
    _write(keys_dir / CREDENTIALS_FILE, json.dumps(meta, indent=2) + "\n", private=True)
    _write(keys_dir / MERCHANT_PRIVATE_KEY_FILE, credentials.merchant_private_key_pem, private=True)
    _write(keys_dir / MERCHANT_PUBLIC_KEY_FILE, credentials.merchant_public_key_pem, private=False)
    _write(keys_dir / WECHATPAY_PRIVATE_KEY_FILE, credentials.wechatpay_private_key_pem, private=True)
    _write(keys_dir / WECHATPAY_PUBLIC_KEY_FILE, credentials.wechatpay_public_key_pem, private=False)


def load_credentials(keys_dir: Path) -> SandboxCredentials:
    """Read the credentials written by `save_credentials`; raises FileNotFoundError or ValueError when incomplete."""
    meta = json.loads((keys_dir / CREDENTIALS_FILE).read_text(encoding="utf-8"))
    required = ("appid", "app_secret", "mchid", "serial_no", "brand_id", "public_key_id")
    missing = [key for key in required if not isinstance(meta.get(key), str)]
    if missing:
        raise ValueError(f"{keys_dir / CREDENTIALS_FILE}: missing {', '.join(missing)}")
    return SandboxCredentials(
        appid=meta["appid"],
        app_secret=meta["app_secret"],
        mchid=meta["mchid"],
        merchant_serial_no=meta["serial_no"],
        brand_id=meta["brand_id"],
        public_key_id=meta["public_key_id"],
        merchant_private_key_pem=(keys_dir / MERCHANT_PRIVATE_KEY_FILE).read_text(encoding="utf-8"),
        merchant_public_key_pem=(keys_dir / MERCHANT_PUBLIC_KEY_FILE).read_text(encoding="utf-8"),
        wechatpay_private_key_pem=(keys_dir / WECHATPAY_PRIVATE_KEY_FILE).read_text(encoding="utf-8"),
        wechatpay_public_key_pem=(keys_dir / WECHATPAY_PUBLIC_KEY_FILE).read_text(encoding="utf-8"),
    )


def load_or_create_credentials(keys_dir: Path) -> SandboxCredentials:
    """Reuse the credentials in keys_dir, or generate and write new ones when there are none."""
    if (keys_dir / CREDENTIALS_FILE).exists():
        return load_credentials(keys_dir)
    credentials = generate_credentials()
    save_credentials(credentials, keys_dir)
    return credentials
