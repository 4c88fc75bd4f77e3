"""The bench's project configuration: a real-mode couponctl.toml and environment for its served sandbox.

The bench keeps its own copy (the tests have theirs in tests/support/real_mode.py) so it depends on nothing under
tests/ and runs from a checkout with only the package installed.
"""

from __future__ import annotations

import json
from pathlib import Path


def real_mode_toml(keys_dir: Path, url: str, *, state_url: str, apply_toml: str = "") -> str:
    """A couponctl.toml in real mode with both API families at `url`, credentials from the sandbox's `keys_dir`;
    the secrets themselves stay in the environment (`real_mode_env`)."""
    info = json.loads((keys_dir / "sandbox.json").read_text(encoding="utf-8"))
    return f"""[state]
url = "{state_url}"

[upstream]
mode = "wechat"

[shop]
appid = "{info["appid"]}"
secret_env = "COUPONCTL_SHOP_APPSECRET"
base_url = "{url}"

[wechatpay]
mchid = "{info["mchid"]}"
serial_no = "{info["serial_no"]}"
private_key_file_env = "COUPONCTL_WECHATPAY_KEY_FILE"
public_key_id = "{info["public_key_id"]}"
public_key_file = "{keys_dir / "wechatpay_public_key.pem"}"
brand_id = "{info["brand_id"]}"
base_url = "{url}"

[apply]
{apply_toml}
"""


def real_mode_env(keys_dir: Path) -> dict[str, str]:
    """The environment variables (app secret, merchant key path) that `real_mode_toml`'s file names."""
    info = json.loads((keys_dir / "sandbox.json").read_text(encoding="utf-8"))
    return {
        "COUPONCTL_SHOP_APPSECRET": str(info["app_secret"]),
        "COUPONCTL_WECHATPAY_KEY_FILE": str(keys_dir / "merchant_private_key.pem"),
    }
