"""couponctl.toml + environment -> typed settings. Secrets are never stored here: only where to find them.

The config file is found like git finds `.git`: `--config` / COUPONCTL_CONFIG when given, else couponctl.toml in the
working directory or the nearest directory above it. Its directory is the project root, and relative paths in the
file are relative to it. With no file found every setting has its default (sandbox mode, SQLite under ./state/), but
`Settings.config_file` is None and the commands refuse to create a new state or new sandbox keys (see
`reconciler.commands.common.refuse_outside_project`). Every key and value is checked against
`reconciler.config_schema`, which also generates docs/configuration.md.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from reconciler.config_schema import DEFAULT_SHOP_NOT_FOUND_ERRCODES, ENV_NAME, check_document, did_you_mean
from reconciler.errors import ConfigError
from reconciler.plan.drift import ExpectedUnmanaged, parse_expected_unmanaged
from reconciler.plan.overlay import OverlayRule
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
    # Errcodes of `get` read as "no such coupon": the real one is not documented (reference F.3); 1090057 is our
    # default (the claim callback's "coupon not found", A.2). Extend it here when WeChat answers another.
    not_found_errcodes: tuple[int, ...] = DEFAULT_SHOP_NOT_FOUND_ERRCODES


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
    # How answers are verified (reference C.4): with the WeChat Pay public key (`public_key_id` / `public_key_file`),
    # or, for merchants not yet on it, with the platform certificates of `GET /v3/certificates`, decrypted with the
    # APIv3 key read from the variable `apiv3_key_env` names.
    verification: Literal["public_key", "platform_certificate"] = "public_key"
    apiv3_key_env: str = "COUPONCTL_WECHATPAY_APIV3_KEY"


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
class EnvSettings:
    """The selected environment (decision D26): its name, its overlay and shop id prefix, and every declared name.
    Its state, credentials, brand and rates are already laid over the other sections of `Settings`."""

    name: str | None = None  # None: no environment selected
    names: tuple[str, ...] = ()  # every `[env.NAME]` of the file, in file order
    out_coupon_id_prefix: str = ""
    overlay: tuple[OverlayRule, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicySettings:
    file: str | None = None  # the policy file; None: policies.yaml in the first configured manifest folder holding one
    default_max_order_fen: int | None = None  # the order cap of coupons whose value depends on the order (issue 18)


@dataclass(frozen=True, slots=True)
class Settings:
    root: Path  # directory of couponctl.toml (or the cwd when there is none)
    config_file: Path | None
    manifests: tuple[str, ...] = ("manifests",)
    manifest_cache_dir: str = ""  # `[manifests] cache_dir`: "" = beside a SQLite state, else no cache
    state: StateSettings = field(default_factory=StateSettings)
    upstream: UpstreamSettings = field(default_factory=UpstreamSettings)
    shop: ShopSettings = field(default_factory=ShopSettings)
    wechatpay: WechatPaySettings = field(default_factory=WechatPaySettings)
    apply: ApplySettings = field(default_factory=ApplySettings)
    drift: DriftSettings = field(default_factory=DriftSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    env: EnvSettings = field(default_factory=EnvSettings)

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
        """The app secret from the variable named by `secret_env`, else from the file named by `secret_file_env`.
        An empty secret is refused (it would only fail upstream); messages name variables, never their values."""
        env = os.environ if environ is None else environ
        name, file_name = _env_name(self.shop.secret_env), _env_name(self.shop.secret_file_env)
        if self.shop.secret_env and env.get(self.shop.secret_env):
            value = env[self.shop.secret_env].strip()
            if not value:
                raise ConfigError(f"the environment variable {name} holds only white space, not an app secret")
            return Secret(value)
        if self.shop.secret_file_env and env.get(self.shop.secret_file_env):
            return Secret(_read_secret_file(Path(env[self.shop.secret_file_env]), f"the app secret file ({file_name})"))
        raise ConfigError(
            f"no Mini Program app secret: set the environment variable {name} (or {file_name} to a file holding it)"
        )

    def wechatpay_apiv3_key(self, environ: dict[str, str] | None = None) -> bytes:
        """The APIv3 key (32 bytes) that decrypts the platform certificates; messages never show it."""
        env = os.environ if environ is None else environ
        name = _env_name(self.wechatpay.apiv3_key_env)
        value = env.get(self.wechatpay.apiv3_key_env or "", "").strip()
        if not value:
            raise ConfigError(f"no WeChat Pay APIv3 key (platform_certificate verification): set {name}")
        key = value.encode("utf-8")
        if len(key) != 32:
            raise ConfigError(f"the APIv3 key in {name} must be 32 characters (it is {len(key)} bytes)")
        return key

    def wechatpay_private_key(self, environ: dict[str, str] | None = None) -> bytes:
        env = os.environ if environ is None else environ
        path = env.get(self.wechatpay.private_key_file_env or "") or self.wechatpay.private_key_file
        if not path:
            raise ConfigError(
                "no WeChat Pay merchant private key: set "
                f"{_env_name(self.wechatpay.private_key_file_env)} to the path of apiclient_key.pem"
            )
        return _read_secret_file(self.resolve(path), "the merchant private key").encode("ascii", "replace")


MAX_SECRET_FILE_BYTES = 64 * 1024  # a PEM key is ~2 KB; anything much larger is not a secret file


def _env_name(name: str) -> str:
    """An environment variable's name for a message, or a placeholder when the "name" is not one (it may be the
    secret itself, written where its variable's name belongs)."""
    return name if ENV_NAME.fullmatch(name) else "(the variable named in couponctl.toml, not shown: not a valid name)"


def _read_secret_file(path: Path, what: str) -> str:
    """The text of a secret or key file, stripped; every way it can be unusable is one ConfigError naming it."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SECRET_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} from {path}: {exc.strerror}") from None
    if len(raw) > MAX_SECRET_FILE_BYTES:
        raise ConfigError(f"{what} in {path} is not a secret file: larger than {MAX_SECRET_FILE_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{what} in {path} is not text (byte {exc.start} is not UTF-8); expected "
            f"{'a PEM file' if 'key' in what else 'the secret on one line'}"
        ) from None
    if not text:
        raise ConfigError(f"{what} in {path} is empty")
    return text


_SECTION_FIELDS = ("state", "upstream", "shop", "wechatpay", "apply", "drift", "policy")
ENVIRONMENT_VARIABLE = "COUPONCTL_ENV"


def find_config(cwd: Path) -> Path | None:
    """couponctl.toml in `cwd` or the nearest directory above it (like git looks for .git), or None."""
    for folder in (cwd, *cwd.parents):
        candidate = folder / DEFAULT_CONFIG
        if candidate.is_file():
            return candidate
    return None


def load_settings(path: str | Path | None = None, cwd: Path | None = None, environment: str | None = None) -> Settings:
    """Read the explicit config file (`--config`, COUPONCTL_CONFIG), else the nearest couponctl.toml at or above
    `cwd`, into `Settings`; no file at all gives the defaults with `config_file=None`. `environment` (`--env`,
    COUPONCTL_ENV) selects an `[env.NAME]` of the file, laid over its sections."""
    base = (cwd or Path.cwd()).absolute()
    if path is not None and str(path) != "":
        file = Path(path) if Path(path).is_absolute() else base / path
        if not file.is_file():
            raise ConfigError(f"config file not found: {file}" if not file.exists() else f"{file} is not a file")
    else:
        found = find_config(base)
        if found is None:
            if environment:
                raise ConfigError(
                    f"--env {environment}: no couponctl.toml in {base} or any folder above it declares environments"
                )
            return Settings(root=base, config_file=None)
        file = found
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not a TOML file: byte {exc.start} is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    return _from_dict(data, file, environment or None)


def _from_dict(data: dict[str, Any], file: Path, environment: str | None = None) -> Settings:
    problem = check_document(data)
    if problem is not None:
        raise ConfigError(f"{file}: {problem}")
    from reconciler.environments import check_environments, environment_settings, overlaid

    envs: dict[str, Any] = dict(data.get("env", {}))
    if environment is not None and environment not in envs:
        declared = f"declared: {', '.join(envs)}" if envs else "it declares no [env.NAME] section"
        raise ConfigError(f"{file}: no environment {environment!r}{did_you_mean(environment, list(envs))}; {declared}")
    by_name = {name: _sections(overlaid(data, name), file) for name in envs} if len(envs) > 1 else {}
    check_environments(by_name, envs, file)
    settings = _sections(overlaid(data, environment) if environment else data, file)
    return environment_settings(settings, envs, environment, file, by_name)


def _sections(data: dict[str, Any], file: Path) -> Settings:
    """The settings of the file's sections (an environment's already laid over them)."""
    tables: dict[str, dict[str, Any]] = {name: dict(data.get(name, {})) for name in (*_SECTION_FIELDS, "manifests")}
    apply_values = tables["apply"]
    if "rate_limits" in apply_values:
        apply_values["rate_limits"] = {
            **DEFAULT_RATE_LIMITS,
            **{k: float(v) for k, v in apply_values["rate_limits"].items()},
        }
    for key in ("plan_max_age_hours", "request_timeout_s"):
        if key in apply_values:
            apply_values[key] = float(apply_values[key])
    state_values = tables["state"]
    if "lock_timeout" in state_values:
        state_values["lock_timeout"] = float(state_values["lock_timeout"])
    return Settings(
        root=file.parent,
        config_file=file,
        manifests=tuple(str(m) for m in tables["manifests"].get("paths", ["manifests"])),
        manifest_cache_dir=str(tables["manifests"].get("cache_dir", "")),
        state=StateSettings(**state_values),
        upstream=_upstream(tables["upstream"]),
        shop=_shop(tables["shop"]),
        wechatpay=WechatPaySettings(**{k: str(v) for k, v in tables["wechatpay"].items()}),  # type: ignore[arg-type]
        apply=ApplySettings(**apply_values),
        policy=PolicySettings(**tables["policy"]),
        drift=DriftSettings(
            parse_expected_unmanaged(
                tables["drift"].get("expected_unmanaged", []), f"{file}: [drift] expected_unmanaged"
            )
        ),
    )


def _shop(values: dict[str, Any]) -> ShopSettings:
    if "not_found_errcodes" in values:
        values = {**values, "not_found_errcodes": tuple(int(code) for code in values["not_found_errcodes"])}
    return ShopSettings(**values)


def _upstream(values: dict[str, Any]) -> UpstreamSettings:
    return UpstreamSettings(
        mode=values.get("mode", "sandbox"),
        sandbox_dir=str(values.get("sandbox_dir", "state/sandbox")),
        sandbox_brand_ids=tuple(str(b).strip() for b in values.get("sandbox_brand_ids", [])),
    )
