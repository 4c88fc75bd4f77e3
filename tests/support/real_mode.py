"""A real-mode project configuration for a `couponctl sandbox serve` server: the toml file and its environment.

Used by the end-to-end tests and the reliability suite, which run the CLI in `[upstream] mode = "wechat"` against
the served sandbox so the same signing, verification and token code runs as against WeChat.
"""

from __future__ import annotations

import json
from pathlib import Path


def served_sandbox_toml(
    keys_dir: Path,
    url: str,
    *,
    state_url: str,
    shop_url: str | None = None,
    wechatpay_url: str | None = None,
    apply_toml: str = "",
) -> str:
    """A real-mode couponctl.toml for a served sandbox whose credentials are in `keys_dir`.

    The secrets stay out of it, as with real credentials: `served_sandbox_env` gives the environment variables
    the file names.
    """
    info = json.loads((keys_dir / "sandbox.json").read_text(encoding="utf-8"))
    return f"""[state]
url = "{state_url}"

[upstream]
mode = "wechat"

[shop]
appid = "{info["appid"]}"
secret_env = "COUPONCTL_SHOP_APPSECRET"
base_url = "{shop_url or url}"

[wechatpay]
mchid = "{info["mchid"]}"
serial_no = "{info["serial_no"]}"
private_key_file_env = "COUPONCTL_WECHATPAY_KEY_FILE"
public_key_id = "{info["public_key_id"]}"
public_key_file = "{keys_dir / "wechatpay_public_key.pem"}"
brand_id = "{info["brand_id"]}"
base_url = "{wechatpay_url or url}"

[apply]
{apply_toml}
"""


def served_sandbox_env(keys_dir: Path) -> dict[str, str]:
    """The environment variables (app secret, merchant key path) that `served_sandbox_toml`'s file names."""
    info = json.loads((keys_dir / "sandbox.json").read_text(encoding="utf-8"))
    return {
        "COUPONCTL_SHOP_APPSECRET": str(info["app_secret"]),
        "COUPONCTL_WECHATPAY_KEY_FILE": str(keys_dir / "merchant_private_key.pem"),
    }
