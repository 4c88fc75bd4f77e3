"""couponctl.toml + environment -> typed settings. Secrets are never stored here: only where to find them.

Relative paths in the file are relative to the directory holding couponctl.toml. A missing file is fine: every
setting has a default (sandbox mode, SQLite under ./state/).
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from reconciler.errors import ConfigError
from reconciler.plan.drift import ExpectedUnmanaged, parse_expected_unmanaged
from reconciler.upstream_facts import DEFAULT_RATE_LIMITS  # documented limits (B.12, A.10)

DEFAULT_CONFIG = "couponctl.toml"
SHOP_BASE_URL = "https://api.weixin.qq.com"
WECHATPAY_BASE_URL = "https://api.mch.weixin.qq.com"


class Secret:
    """A secret value that never shows itself in repr/str/logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class StateSettings:
    url: str = "sqlite:///state/couponctl.db"
    lock_timeout: float = 0.0  # seconds to wait for the lock; 0 = fail fast


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    mode: Literal["sandbox", "wechat"] = "sandbox"
    sandbox_dir: str = "state/sandbox"  # embedded sandbox: data file and generated credentials
    # Brands, besides the sandbox's own, that have authorised the partner in the embedded sandbox (so manifests
    # naming a real brand_id can be planned and applied in the demo).
    sandbox_brand_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ShopSettings:
    appid: str = ""
    secret_env: str = "COUPONCTL_SHOP_APPSECRET"
    secret_file_env: str = "COUPONCTL_SHOP_APPSECRET_FILE"
    base_url: str = SHOP_BASE_URL


@dataclass(frozen=True, slots=True)
class WechatPaySettings:
    mchid: str = ""
    serial_no: str = ""
    private_key_file_env: str = "COUPONCTL_WECHATPAY_KEY_FILE"
    private_key_file: str = ""  # a path; allowed, but the env var is preferred so keys stay out of the repo
    public_key_id: str = ""
    public_key_file: str = ""
    brand_id: str = ""
    base_url: str = WECHATPAY_BASE_URL


@dataclass(frozen=True, slots=True)
class ApplySettings:
    parallelism: int = 8
    plan_max_age_hours: float = 24.0
    rate_limits: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    max_retries: int = 6
    request_timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class DriftSettings:
    # Unmanaged shop coupons that are expected (another team's): listed by `drift` with their reason, not drift.
    expected_unmanaged: tuple[ExpectedUnmanaged, ...] = ()


@dataclass(frozen=True, slots=True)
class Settings:
    root: Path  # directory of couponctl.toml (or the cwd when there is none)
    config_file: Path | None
    manifests: tuple[str, ...] = ("manifests",)
    state: StateSettings = field(default_factory=StateSettings)
    upstream: UpstreamSettings = field(default_factory=UpstreamSettings)
    shop: ShopSettings = field(default_factory=ShopSettings)
    wechatpay: WechatPaySettings = field(default_factory=WechatPaySettings)
    apply: ApplySettings = field(default_factory=ApplySettings)
    drift: DriftSettings = field(default_factory=DriftSettings)

    def resolve(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else self.root / p

    @property
    def state_url(self) -> str:
        """The state URL with a relative SQLite path resolved against the config's directory."""
        url = self.state.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
            return prefix + str(self.resolve(url[len(prefix) :]))
        return url

    def shop_secret(self, environ: dict[str, str] | None = None) -> Secret:
        env = os.environ if environ is None else environ
        if self.shop.secret_env and env.get(self.shop.secret_env):
            return Secret(env[self.shop.secret_env])
        if self.shop.secret_file_env and env.get(self.shop.secret_file_env):
            return Secret(_read_secret_file(Path(env[self.shop.secret_file_env]), self.shop.secret_file_env))
        raise ConfigError(
            f"no Mini Program app secret: set the environment variable {self.shop.secret_env} "
            f"(or {self.shop.secret_file_env} to a file holding it)"
        )

    def wechatpay_private_key(self, environ: dict[str, str] | None = None) -> bytes:
        env = os.environ if environ is None else environ
        path = env.get(self.wechatpay.private_key_file_env or "") or self.wechatpay.private_key_file
        if not path:
            raise ConfigError(
                f"no WeChat Pay merchant private key: set {self.wechatpay.private_key_file_env} to the path of "
                "apiclient_key.pem"
            )
        return _read_secret_file(self.resolve(path), "the merchant private key").encode("ascii", "replace")


def _read_secret_file(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} from {path}: {exc.strerror}") from None


_SECTIONS: dict[str, set[str]] = {
    "state": {"url", "lock_timeout"},
    "upstream": {"mode", "sandbox_dir", "sandbox_brand_ids"},
    "shop": {"appid", "secret_env", "secret_file_env", "base_url"},
    "wechatpay": {
        "mchid",
        "serial_no",
        "private_key_file_env",
        "private_key_file",
        "public_key_id",
        "public_key_file",
        "brand_id",
        "base_url",
    },
    "apply": {"parallelism", "plan_max_age_hours", "rate_limits", "max_retries", "request_timeout_s"},
    "drift": {"expected_unmanaged"},
}
_FORBIDDEN_KEYS = {"secret", "appsecret", "app_secret", "private_key", "access_token", "apiv3_key"}


def load_settings(path: str | Path | None = None, cwd: Path | None = None) -> Settings:
    """Read couponctl.toml (explicit path, or ./couponctl.toml when present) into `Settings`."""
    base = cwd or Path.cwd()
    explicit = path is not None
    file = Path(path) if path is not None else base / DEFAULT_CONFIG
    if not file.is_absolute():
        file = base / file
    if not file.exists():
        if explicit:
            raise ConfigError(f"config file not found: {file}")
        return Settings(root=base, config_file=None)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from None
    return _from_dict(data, file)


def _from_dict(data: dict[str, Any], file: Path) -> Settings:
    unknown = set(data) - set(_SECTIONS) - {"manifests"}
    if unknown:
        raise ConfigError(f"{file}: unknown section(s) {', '.join(sorted(unknown))}; allowed: {', '.join(_SECTIONS)}")
    kwargs: dict[str, Any] = {}
    for section, allowed in _SECTIONS.items():
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise ConfigError(f"{file}: [{section}] must be a table")
        bad = set(values) - allowed
        secret_like = bad & _FORBIDDEN_KEYS
        if secret_like:
            raise ConfigError(
                f"{file}: [{section}] {', '.join(sorted(secret_like))}: secrets never go in couponctl.toml; "
                "name an environment variable instead (e.g. secret_env, private_key_file_env)"
            )
        if bad:
            raise ConfigError(
                f"{file}: [{section}] unknown key(s) {', '.join(sorted(bad))}; allowed: {', '.join(sorted(allowed))}"
            )
        for key, value in values.items():
            _check_type(file, section, key, value)
        kwargs[section] = values
    manifests = (
        data.get("manifests", {}).get("paths", ["manifests"])
        if isinstance(data.get("manifests"), dict)
        else (["manifests"])
    )
    try:
        apply_values = dict(kwargs["apply"])
        if "rate_limits" in apply_values:
            merged = dict(DEFAULT_RATE_LIMITS)
            merged.update({str(k): float(v) for k, v in apply_values["rate_limits"].items()})
            apply_values["rate_limits"] = merged
        mode = kwargs["upstream"].get("mode", "sandbox")
        if mode not in ("sandbox", "wechat"):
            raise ConfigError(f'{file}: [upstream] mode must be "sandbox" or "wechat", not {mode!r}')
        return Settings(
            root=file.parent,
            config_file=file,
            manifests=tuple(str(m) for m in manifests),
            state=StateSettings(**kwargs["state"]),
            upstream=_upstream(kwargs["upstream"], file),
            shop=ShopSettings(**kwargs["shop"]),
            wechatpay=WechatPaySettings(**{k: str(v) for k, v in kwargs["wechatpay"].items()}),
            apply=ApplySettings(**apply_values),
            drift=DriftSettings(
                parse_expected_unmanaged(
                    kwargs["drift"].get("expected_unmanaged", []), f"{file}: [drift] expected_unmanaged"
                )
            ),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{file}: invalid value: {exc}") from None


# TOML types each key must have, checked up front so that a wrong one is one clear message, not a crash later.
# Numbers: (integers only?, smallest allowed value, whether the minimum itself is allowed); finite always.
_NUMBERS: dict[tuple[str, str], tuple[bool, float, bool]] = {
    ("state", "lock_timeout"): (False, 0.0, True),
    ("apply", "parallelism"): (True, 1, True),
    ("apply", "max_retries"): (True, 1, True),
    ("apply", "plan_max_age_hours"): (False, 0.0, False),
    ("apply", "request_timeout_s"): (False, 0.0, False),
}


def _check_number(file: Path, where: str, value: Any, integer: bool, minimum: float, inclusive: bool) -> None:
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or not math.isfinite(value):
        raise ConfigError(f"{file}: {where} must be {kind}, not {value!r}")
    if value < minimum or (value == minimum and not inclusive):
        bound = f"at least {minimum:g}" if inclusive else f"greater than {minimum:g}"
        raise ConfigError(f"{file}: {where} must be {bound}, not {value!r}")


def _check_type(file: Path, section: str, key: str, value: Any) -> None:
    where = f"[{section}] {key}"
    if (section, key) in _NUMBERS:
        _check_number(file, where, value, *_NUMBERS[(section, key)])
    elif (section, key) == ("apply", "rate_limits"):
        if not isinstance(value, dict):
            raise ConfigError(f"{file}: {where} must be a table of operation = calls per second")
        for op, rate in value.items():
            _check_number(file, f"{where}.{op}", rate, False, 0.0, False)
    elif (section, key) == ("drift", "expected_unmanaged"):
        pass  # checked entry by entry by parse_expected_unmanaged
    elif (section, key) == ("upstream", "sandbox_brand_ids"):
        if not isinstance(value, list) or not all(isinstance(b, str | int) and not isinstance(b, bool) for b in value):
            raise ConfigError(f"{file}: {where} must be a list of brand ids")
    elif section == "wechatpay":  # ids such as mchid or brand_id may be written as TOML integers
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ConfigError(f"{file}: {where} must be a string, not {value!r}")
    elif not isinstance(value, str):
        raise ConfigError(f"{file}: {where} must be a string, not {value!r}")


def _upstream(values: dict[str, Any], file: Path) -> UpstreamSettings:
    mode = values.get("mode", "sandbox")
    if mode not in ("sandbox", "wechat"):
        raise ConfigError(f'{file}: [upstream] mode must be "sandbox" or "wechat", not {mode!r}')
    brands = values.get("sandbox_brand_ids", [])
    if not isinstance(brands, list):
        raise ConfigError(f"{file}: [upstream] sandbox_brand_ids must be a list of brand ids")
    return UpstreamSettings(
        mode=mode,
        sandbox_dir=str(values.get("sandbox_dir", "state/sandbox")),
        sandbox_brand_ids=tuple(str(b) for b in brands),
    )
