"""`couponctl sandbox serve`: help, credentials on disk, loopback binding, restarts, clean errors (contract §3.1)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from tests.sandbox.helpers import PayClient, ShopClient, product_body, shop_coupon, unique
from tests.sandbox_server import served_sandbox


def couponctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, check=False,
                          timeout=60)  # fmt: skip


def test_serve_help_documents_every_option_and_an_example() -> None:
    """`sandbox serve --help` names every option, the key files, the admin API and shows examples."""
    result = couponctl("sandbox", "serve", "--help")
    assert result.returncode == 0
    for text in ("--host", "--port", "--data", "--keys-dir", "--token-lifetime", "--product-initial-state",
                 "--rate-limit", "--config-json", "sandbox.json", "merchant_private_key.pem",
                 "wechatpay_public_key.pem", "/_sandbox/", "Examples:", "127.0.0.1"):  # fmt: skip
        assert text in result.stdout, text


def test_keys_dir_holds_usable_credentials_with_private_files_0600(tmp_path: Path) -> None:
    """The keys dir gets sandbox.json and PEM files; private files are 0600 and nothing secret is printed."""
    with served_sandbox(tmp_path) as sbx:
        keys = sbx.keys_dir
        meta = json.loads((keys / "sandbox.json").read_text())
        assert set(meta) == {"appid", "app_secret", "mchid", "serial_no", "brand_id", "public_key_id"}
        for name in ("sandbox.json", "merchant_private_key.pem", "wechatpay_private_key.pem"):
            assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600, name
        assert (keys / "wechatpay_public_key.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")
        assert sbx.url.startswith("http://127.0.0.1:")
        assert not sbx.url.endswith(":0")
    out = sbx.process.stdout
    assert out is not None and out.closed
    log = (tmp_path / "sandbox.log").read_text()
    assert meta["app_secret"] not in log
    assert "PRIVATE KEY" not in log


def test_restart_keeps_coupons_tokens_and_credentials(tmp_path: Path) -> None:
    """Serving again on the same --data and --keys-dir keeps every coupon, token and the identity."""
    with served_sandbox(tmp_path) as sbx, httpx.Client() as http:
        shop = ShopClient(sbx.url, sbx.credentials, http)
        shop.fetch_token()
        assert shop.call("add", {"coupon": shop_coupon("survivor")})["errcode"] == 0
        assert shop.call("update_status", {"out_coupon_id": "survivor", "status": 2})["errcode"] == 0
        body = product_body(sbx.credentials, unique("survivor"))
        pid = PayClient(sbx.url, sbx.credentials, http).create(body).json()["product_coupon_id"]
        first_credentials = sbx.credentials
    with served_sandbox(tmp_path) as again, httpx.Client() as http:
        assert again.credentials == first_credentials
        shop2 = ShopClient(again.url, again.credentials, http, token=shop.token)
        coupon = shop2.call("get", {"out_coupon_id": "survivor"})["result"]["coupon"]
        assert coupon["status"] == 2
        pay = PayClient(again.url, again.credentials, http)
        assert pay.get(pid).json()["product_coupon_id"] == pid
        assert pay.create(body).json()["product_coupon_id"] == pid
        assert again.state()["shop_coupons"][0]["coupon_stock"]["out_coupon_id"] == "survivor"


def test_bad_options_fail_cleanly() -> None:
    """Bad --rate-limit, --config-json or --port values exit 1 with one message and no traceback."""
    results = [
        couponctl("sandbox", "serve", "--rate-limit", "product.create"),
        couponctl("sandbox", "serve", "--rate-limit", "product.create=-1"),
        couponctl("sandbox", "serve", "--port", "70000"),
        couponctl("sandbox", "serve", "--rate-limit", "product.craete=5"),
    ]
    for result in results:
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "Error" in result.stderr


def test_bad_config_json_fails_cleanly(tmp_path: Path) -> None:
    """An unknown key or invalid JSON in --config-json is one clear error, exit 1."""
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"token_lifetime": 5}))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    for path, text in ((unknown, "unknown sandbox config keys: token_lifetime"), (broken, "not valid JSON")):
        result = couponctl("sandbox", "serve", "--config-json", str(path), "--keys-dir", str(tmp_path / "k"))
        assert result.returncode == 1
        assert text in result.stderr
        assert "Traceback" not in result.stderr
