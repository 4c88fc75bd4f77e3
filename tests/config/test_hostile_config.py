"""No `internal error` from any file or config value (issue 14, item 9): binary garbage and mistyped values in
couponctl.toml, the app-secret file, the merchant key file and the embedded sandbox's key files each give one clear
error naming the file, exit 1, never a traceback; an empty secret is refused; an error about a `*_env` key never
shows what was written there (it may be the secret itself)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.config import load_settings
from reconciler.config_schema import KEYS, SECTIONS
from reconciler.errors import ConfigError
from reconciler.providers.factory import build_providers
from tests.inprocess import Result, couponctl

REPO = Path(__file__).resolve().parents[2]
SECTION_NAMES = [*SECTIONS, "manifest", "stat", "wechat_pay", "aply"]
KEY_NAMES = [*sorted({k.name for k in KEYS}), "path", "urls", "parallel", "secret", "ratelimits", "mode "]
SCALARS = (
    st.text(max_size=30)
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.booleans()
    | st.sampled_from(["manifests", "sandbox", "wechat", "COUPONCTL_X", "http://127.0.0.1:9", "shop.add", ""])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=6,
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


@st.composite
def toml_files(draw: st.DrawFn) -> bytes:
    """A couponctl.toml: raw bytes, or sections of known and misspelled keys with values of any type."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=300))
    lines: list[str] = []
    for section in draw(st.lists(st.sampled_from(SECTION_NAMES), max_size=4, unique=True)):
        lines.append(f"[{section}]")
        for key in draw(st.lists(st.sampled_from(KEY_NAMES), max_size=3, unique=True)):
            lines.append(f"{json.dumps(key)} = {toml_value(draw(VALUES))}")
    return "\n".join(lines).encode("utf-8")


def assert_clean(result: Result) -> None:
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1), result
    if result.returncode == 1:
        assert result.stderr.startswith("Error: "), result.stderr


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=toml_files())
def test_any_couponctl_toml_gives_a_clean_result(content: bytes) -> None:
    """Acceptance: over binary and mistyped couponctl.toml files, the real CLI never reports an internal error."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "couponctl.toml").write_bytes(content)
        for args in (("history",), ("validate",)):
            assert_clean(couponctl(*args, cwd=Path(tmp)))


def wechat_settings(root: Path) -> Path:
    (root / "couponctl.toml").write_text(
        '[upstream]\nmode = "wechat"\n[shop]\nappid = "wx0123456789abcdef"\n'
        '[wechatpay]\nmchid = "1900000001"\nserial_no = "ABC"\npublic_key_id = "PUB_KEY_ID_1"\n'
        'public_key_file = "pub.pem"\nprivate_key_file = "key.pem"\n',
        encoding="utf-8",
    )
    return root


@settings(max_examples=100, deadline=None)
@given(secret=st.binary(max_size=200), key=st.binary(max_size=400), public=st.binary(max_size=400))
def test_any_secret_or_key_file_gives_config_error_or_providers(secret: bytes, key: bytes, public: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = wechat_settings(Path(tmp))
        (root / "secret.txt").write_bytes(secret)
        (root / "key.pem").write_bytes(key)
        (root / "pub.pem").write_bytes(public)
        config = load_settings(cwd=root)
        try:
            build_providers(config, environ={"COUPONCTL_SHOP_APPSECRET_FILE": str(root / "secret.txt")})
        except ConfigError as exc:
            assert str(exc)
        else:  # pragma: no cover - random bytes are never a valid RSA key
            pytest.fail("garbage accepted as keys")


@pytest.mark.parametrize("content", [b"", b"  \n\t", b"\xff\xfe\x00garbage\x80", b"\x00" * 100_000])
def test_a_bad_secret_file_is_one_clear_error_and_never_sent(tmp_path: Path, content: bytes) -> None:
    root = wechat_settings(tmp_path)
    (root / "secret.txt").write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_settings(cwd=root).shop_secret({"COUPONCTL_SHOP_APPSECRET_FILE": str(root / "secret.txt")})
    message = str(info.value)
    assert message.startswith("the app secret file (COUPONCTL_SHOP_APPSECRET_FILE) in ") and str(root) in message
    assert any(word in message for word in ("is empty", "is not text", "larger than"))


def test_a_secret_env_holding_the_secret_itself_is_never_echoed(tmp_path: Path) -> None:
    secret = "9f2b1c0d-real-app-secret-4e5a"
    (tmp_path / "couponctl.toml").write_text(f'[shop]\nsecret_env = "{secret}"\n', encoding="utf-8")
    for args in (("plan",), ("validate",), ("history",)):
        result = couponctl(*args, cwd=tmp_path)
        assert result.returncode == 1
        assert secret not in result.stderr + result.stdout
        assert "[shop] secret_env must be the NAME of an environment variable" in result.stderr


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[manifests]\npaths = "manifests"\n',
            '[manifests] paths must be a non-empty list of paths (e.g. ["manifests"])',
        ),
        (
            '[apply.rate_limits]\n"product.craete" = 5\n',
            "[apply] rate_limits has an unknown operation 'product.craete' (did you mean 'product.create'?)",
        ),
        ("[apply]\nparalelism = 4\n", "[apply] unknown key 'paralelism' (did you mean 'parallelism'?)"),
        ("[aply]\nparallelism = 4\n", "unknown section [aply] (did you mean 'apply'?)"),
        ("[state]\nurl = 5\n", "[state] url must be a string, not 5"),
        ('[upstream]\nmode = "prod"\n', '[upstream] mode must be "sandbox" or "wechat", not \'prod\''),
        ('[shop]\nbase_url = "api.weixin.qq.com"\n', "[shop] base_url must be an http:// or https:// URL"),
        ("[apply]\nparallelism = 0\n", "[apply] parallelism must be at least 1, not 0"),
        ('manifests = ["a"]\n', "[manifests] must be a table"),
    ],
)
def test_mistyped_values_are_refused_with_a_clear_message(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "couponctl.toml").write_text(toml, encoding="utf-8")
    result = couponctl("history", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: {tmp_path / 'couponctl.toml'}: "), result.stderr
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize(
    "victim",
    [
        "keys/sandbox.json",
        "keys/merchant_private_key.pem",
        "keys/wechatpay_public_key.pem",
        "keys/wechatpay_private_key.pem",
        "sandbox.db",
    ],
)
@pytest.mark.parametrize("content", [b"\xff\xfe\x80garbage", b"", b"-----BEGIN PRIVATE KEY-----\nnope\n"])
def test_damaged_embedded_sandbox_keys_are_one_clear_error(tmp_path: Path, victim: str, content: bytes) -> None:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    shutil.copy(REPO / "couponctl.toml", tmp_path / "couponctl.toml")
    first = couponctl("plan", "--no-refresh", cwd=tmp_path)  # generates the keys
    assert first.returncode == 0, first.stderr
    (tmp_path / "state" / "sandbox" / victim).write_bytes(content)
    result = couponctl("plan", cwd=tmp_path)
    assert_clean(result)
    empty_database = (victim, content) == ("sandbox.db", b"")  # SQLite takes an empty file for a new database
    assert result.returncode == (0 if empty_database else 1), result
