"""Every key of couponctl.toml: its section, type, default and meaning, in one table.

`reconciler.config` checks a file against this table (unknown sections and keys with a "did you mean", every value's
type and range) before it builds the settings, and `docs/configuration.md` is generated from it
(`python -m reconciler.config_schema > docs/configuration.md`; tests/config/test_configuration_doc.py keeps the two
equal). A test also checks that the table names exactly the fields of the settings dataclasses.

Messages never echo the value of a key that names where a secret is (`*_env`): a user who wrote the secret itself
there would see it printed in CI logs.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.upstream_facts import DEFAULT_RATE_LIMITS

Type = Literal[
    "string",
    "id",
    "path",
    "env",
    "url",
    "mode",
    "number",
    "integer",
    "brands",
    "paths",
    "rates",
    "tables",
    "codes",
    "verification",
    "prefix",
    "overlay",
]

# Reference F.3: the errcode of `get` for an unknown out_coupon_id is not documented; 1090057 (the claim callback's
# "coupon not found", A.2) is our default reading.
DEFAULT_SHOP_NOT_FOUND_ERRCODES: tuple[int, ...] = (1090057,)
VERIFICATIONS = ("public_key", "platform_certificate")

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENVIRONMENT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")  # `[env.NAME]`: also part of request numbers (D26)
OUT_COUPON_ID_PREFIX = re.compile(r"[0-9A-Za-z_-]{1,16}")


@dataclass(frozen=True, slots=True)
class Key:
    section: str
    name: str
    type: Type
    default: str  # as written in TOML, for the docs
    doc: str
    minimum: float | None = None  # numbers: smallest allowed value
    inclusive: bool = True  # whether the minimum itself is allowed


_RATE_DEFAULTS = ", ".join(f"{op} = {rate:g}" for op, rate in DEFAULT_RATE_LIMITS.items())

KEYS: tuple[Key, ...] = (
    Key(
        "manifests",
        "paths",
        "paths",
        '["manifests"]',
        "Files or folders holding the manifests, relative to this file's folder. Folders are searched recursively "
        "for `*.yaml` and `*.yml`; hidden entries are skipped; a dangling link or a linked folder is an error.",
    ),
    Key("manifests", "cache_dir", "path", '""', "Manifest cache folder, any state backend; empty: beside SQLite state"),
    Key(
        "state",
        "url",
        "string",
        '"sqlite:///state/couponctl.db"',
        "Where the state lives: a SQLite file (a relative path is relative to this file's folder) or "
        "`postgresql+psycopg://user@host/db` for teams.",
    ),
    Key("state", "lock_timeout", "number", "0", "Seconds to wait for the state lock; 0 fails at once.", 0.0),
    Key(
        "upstream",
        "mode",
        "mode",
        '"sandbox"',
        '`"sandbox"`: the embedded emulator persisted under `sandbox_dir`; `"wechat"`: the real APIs with '
        "`[shop]` and `[wechatpay]`.",
    ),
    Key(
        "upstream",
        "sandbox_dir",
        "path",
        '"state/sandbox"',
        "The embedded sandbox's data file and the credentials it generated (private keys: never commit them).",
    ),
    Key(
        "upstream",
        "sandbox_brand_ids",
        "brands",
        "[]",
        "Brands, besides the sandbox's own, that have authorised the partner in the embedded sandbox.",
    ),
    Key("shop", "appid", "string", '""', "The Mini Program shop's appid (real mode)."),
    Key(
        "shop",
        "secret_env",
        "env",
        '"COUPONCTL_SHOP_APPSECRET"',
        "The NAME of the environment variable holding the app secret (never the secret itself).",
    ),
    Key(
        "shop",
        "secret_file_env",
        "env",
        '"COUPONCTL_SHOP_APPSECRET_FILE"',
        "The NAME of the environment variable holding the path of a file with the app secret.",
    ),
    Key("shop", "base_url", "url", '"https://api.weixin.qq.com"', "The shop API's base URL."),
    Key(
        "shop",
        "not_found_errcodes",
        "codes",
        "[1090057]",
        'The `errcode`s of `/shop/coupon/get` read as "no such coupon". WeChat does not document this code: '
        '1090057 is our inference (the claim callback\'s "coupon not found"); if WeChat answers another for a '
        "coupon that is gone, list it here, or drift and refresh stop with that error instead of reporting it "
        "missing.",
    ),
    Key("wechatpay", "mchid", "id", '""', "The merchant id (real mode)."),
    Key("wechatpay", "serial_no", "id", '""', "The serial number of the merchant API certificate."),
    Key(
        "wechatpay",
        "private_key_file_env",
        "env",
        '"COUPONCTL_WECHATPAY_KEY_FILE"',
        "The NAME of the environment variable holding the path of `apiclient_key.pem`.",
    ),
    Key(
        "wechatpay",
        "private_key_file",
        "path",
        '""',
        "The path of `apiclient_key.pem`, when the environment variable is not set (prefer the variable: keys "
        "stay out of the repository).",
    ),
    Key("wechatpay", "public_key_id", "id", '""', "The id of the WeChat Pay public key (`PUB_KEY_ID_...`)."),
    Key("wechatpay", "public_key_file", "path", '""', "The path of the WeChat Pay public key (PEM)."),
    Key("wechatpay", "brand_id", "id", '""', "The default brand of ProductCoupon manifests that name none."),
    Key("wechatpay", "base_url", "url", '"https://api.mch.weixin.qq.com"', "The WeChat Pay API's base URL."),
    Key(
        "wechatpay",
        "verification",
        "verification",
        '"public_key"',
        '`"public_key"`: answers are verified with the WeChat Pay public key (`public_key_id`, `public_key_file`). '
        '`"platform_certificate"`: for merchants not yet on the public key, with the platform certificates of '
        "`GET /v3/certificates`, decrypted with the APIv3 key (`apiv3_key_env`); public_key_* are then not used.",
    ),
    Key(
        "wechatpay",
        "apiv3_key_env",
        "env",
        '"COUPONCTL_WECHATPAY_APIV3_KEY"',
        "The NAME of the environment variable holding the APIv3 key (32 characters; platform_certificate mode only).",
    ),
    Key("apply", "parallelism", "integer", "8", "Calls in flight at once during apply.", 1),
    Key("apply", "plan_max_age_hours", "number", "24", "A saved plan older than this is refused.", 0.0, False),
    Key(
        "apply",
        "rate_limits",
        "rates",
        "the documented limits",
        f"Calls per second per operation, merged over the documented limits ({_RATE_DEFAULTS}). Operations: "
        f"{', '.join(DEFAULT_RATE_LIMITS)}.",
    ),
    Key("apply", "max_retries", "integer", "6", "Attempts of a call that failed in a retryable way.", 1),
    Key("apply", "request_timeout_s", "number", "10", "Seconds before one HTTP request times out.", 0.0, False),
    Key(
        "policy",
        "file",
        "path",
        "policies.yaml beside the manifests",
        "The policy file (docs/policies.md); by default `policies.yaml` in the first configured manifest folder that "
        "has one. No file: no rules and no freezes.",
    ),
    Key(
        "policy",
        "default_max_order_fen",
        "integer",
        "none",
        "Order cap (fen) pricing the coupons whose value depends on the order when their manifest declares no "
        "`max_order_fen`: their exposure becomes a number, marked as bounded by the configured cap.",
        1,
    ),
    Key(
        "drift",
        "expected_unmanaged",
        "tables",
        "[]",
        "`[[drift.expected_unmanaged]]` entries: unmanaged shop coupons that are expected (`out_coupon_id` and/or "
        "`name` globs, and a `reason`); `drift` lists them with the reason instead of failing.",
    ),
    Key(
        "env",
        "out_coupon_id_prefix",
        "prefix",
        '""',
        "Put before every shop coupon's `out_coupon_id` in this environment (1-16 of `[0-9A-Za-z_-]`, e.g. "
        '`"stg-"`). Required when two environments share one Mini Program shop (same `appid` and `base_url`, or '
        "one embedded sandbox): otherwise their shop coupons would be one coupon upstream.",
    ),
    Key(
        "env",
        "overlay",
        "overlay",
        "{}",
        '`[env.NAME.overlay."shop_coupon.*"]` (every coupon of a kind) or `[env.NAME.overlay."shop_coupon.NAME"]` '
        "(one address): dotted field paths of the coupon's body in upstream form and this environment's value, "
        "e.g. `coupon_info.receive_info.total_num = 10`. Only a value the coupon declares can be replaced, with one "
        "of the same type; anything else is an error naming the key and the coupon's file:line.",
    ),
)

SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(k.section for k in KEYS))
FORBIDDEN_KEYS = {"secret", "appsecret", "app_secret", "private_key", "access_token", "apiv3_key"}


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6) if len(word) <= 200 else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def shown(value: Any) -> str:
    """A value for a message, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text):,} characters)"


def check_document(data: dict[str, Any], prefix: str = "") -> str | None:
    """The first problem of a parsed couponctl.toml (without the file name), or None. `prefix` is put before
    section names in messages (an environment's sections: "env.staging.")."""
    for section, values in data.items():
        if section not in SECTIONS or (prefix and section == "env"):
            return (
                f"unknown section [{prefix}{section}]{did_you_mean(section, SECTIONS)}; "
                f"sections: {', '.join(f'[{s}]' for s in SECTIONS)}"
            )
        label = f"{prefix}{section}"
        if not isinstance(values, dict):
            return f"[{label}] must be a table (a [{label}] header with keys under it), not {shown(values)}"
        if section == "env":
            problem = _check_environments(values)
            if problem is not None:
                return problem
            continue
        allowed = [k.name for k in KEYS if k.section == section]
        for name, value in values.items():
            if name in FORBIDDEN_KEYS:
                return (
                    f"[{label}] {name}: secrets never go in couponctl.toml; name an environment variable "
                    "instead (e.g. secret_env, private_key_file_env)"
                )
            if name not in allowed:
                return f"[{label}] unknown key {name!r}{did_you_mean(name, allowed)}; allowed: {', '.join(allowed)}"
            key = next(k for k in KEYS if k.section == section and k.name == name)
            problem = check_value(key, value)
            if problem is not None:
                return f"[{label}] {name} {problem}"
    return None


def _check_environments(envs: dict[str, Any]) -> str | None:
    """`[env.NAME]` tables: a name, the environment's own keys, and any other section laid over the file's."""
    own = [k.name for k in KEYS if k.section == "env"]
    sections = [s for s in SECTIONS if s != "env"]
    for name, table in envs.items():
        if not ENVIRONMENT_NAME.fullmatch(name):
            return (
                f"[env.{name}]: an environment's name is 1-32 of lower-case letters, digits, - and _, starting with "
                "a letter (it is part of request numbers and file names)"
            )
        if not isinstance(table, dict):
            return f"[env.{name}] must be a table, not {shown(table)}"
        for key_name, value in table.items():
            if key_name in own:
                key = next(k for k in KEYS if k.section == "env" and k.name == key_name)
                problem = check_value(key, value)
                if problem is not None:
                    return f"[env.{name}] {key_name} {problem}"
            elif key_name in sections:
                problem = check_document({key_name: value}, prefix=f"env.{name}.")
                if problem is not None:
                    return problem
            else:
                allowed = [*own, *sections]
                return (
                    f"[env.{name}] unknown key {key_name!r}{did_you_mean(key_name, allowed)}; allowed: the "
                    f"sections {', '.join(sections)} (laid over the file's) and {', '.join(own)}"
                )
    return None


def check_value(key: Key, value: Any) -> str | None:
    """What is wrong with `value` for `key` ("must be ...", completed by the caller), or None."""
    kind = key.type
    if kind in ("number", "integer"):
        return _number(key, value)
    if kind == "env":
        if not isinstance(value, str) or not ENV_NAME.fullmatch(value):
            return (
                "must be the NAME of an environment variable (letters, digits and _, e.g. "
                f"{key.default}), not a secret or a path; the value written there is not shown"
            )
        return None
    if kind == "id":  # ids such as mchid or brand_id may be written as TOML integers
        ok = isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
        return None if ok else f"must be a string, not {shown(value)}"
    if kind == "mode":
        return None if value in ("sandbox", "wechat") else f'must be "sandbox" or "wechat", not {shown(value)}'
    if kind == "url":
        if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            return f"must be an http:// or https:// URL, not {shown(value)}"
        return None
    if kind == "brands":
        ok = isinstance(value, list) and all(
            (isinstance(b, str) and b.strip()) or (isinstance(b, int) and not isinstance(b, bool)) for b in value
        )
        return None if ok else f'must be a list of brand ids (e.g. ["120344"]), not {shown(value)}'
    if kind == "paths":
        if not isinstance(value, list) or not value or not all(isinstance(p, str) and p.strip() for p in value):
            return f'must be a non-empty list of paths (e.g. ["manifests"]), not {shown(value)}'
        return None
    if kind == "codes":
        ok = isinstance(value, list) and all(isinstance(c, int) and not isinstance(c, bool) and c != 0 for c in value)
        return None if ok else f"must be a list of non-zero integer errcodes (e.g. [1090057]), not {shown(value)}"
    if kind == "verification":
        return None if value in VERIFICATIONS else f'must be "public_key" or "platform_certificate", not {shown(value)}'
    if kind == "rates":
        return _rates(value)
    if kind == "prefix":
        ok = isinstance(value, str) and OUT_COUPON_ID_PREFIX.fullmatch(value) is not None
        return None if ok else f'must be 1-16 of [0-9A-Za-z_-] (e.g. "stg-"), not {shown(value)}'
    if kind == "overlay":
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            return 'must be tables of field overrides, e.g. [env.staging.overlay."shop_coupon.*"]'
        return None
    if kind == "tables":
        return None  # [[drift.expected_unmanaged]]: checked entry by entry by reconciler.plan.drift
    if not isinstance(value, str):
        return f"must be a string, not {shown(value)}"
    return None


def _number(key: Key, value: Any) -> str | None:
    integer = key.type == "integer"
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or not math.isfinite(value):
        return f"must be {'an integer' if integer else 'a number'}, not {shown(value)}"
    low = key.minimum
    if low is not None and (value < low or (value == low and not key.inclusive)):
        return f"must be {'at least' if key.inclusive else 'greater than'} {low:g}, not {shown(value)}"
    return None


def _rates(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"must be a table of operation = calls per second, not {shown(value)}"
    for op, rate in value.items():
        if op not in DEFAULT_RATE_LIMITS:
            return (
                f"has an unknown operation {op!r}{did_you_mean(op, list(DEFAULT_RATE_LIMITS))}; "
                f"operations: {', '.join(DEFAULT_RATE_LIMITS)}"
            )
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate) or rate <= 0:
            return f"{op} must be a number of calls per second greater than 0, not {shown(rate)}"
    return None


_INTRO = """\
couponctl reads `couponctl.toml` from the folder it runs in or the nearest folder above it (like git finds
`.git`), or the file named by `--config` or the `COUPONCTL_CONFIG` environment variable. That file's folder is the
**project root**: relative paths in it are relative to that folder, wherever couponctl runs. With no config file
found, couponctl uses the defaults below relative to the current folder, but refuses to create a new state
database or new sandbox keys there: create `couponctl.toml` (an empty file is enough) at the root of your project
first.

Every key is checked: an unknown section or key is an error with a "did you mean", and so is a value of the wrong
type or range. Secrets never go in this file: only the names of the environment variables (or files) that hold
them; an error about such a name never shows what was written there. A file couponctl reads (this one, the secret
file, the key files) that cannot be read, is not text or is empty is one error naming the file, exit 1.
"""


_ENV_INTRO = """\
Environments (decision D26): `[env.staging]`, `[env.prod]`, ... Each environment is this file with its own sections
laid over it: `[env.prod.state]`, `[env.prod.shop]`, `[env.prod.wechatpay]`, `[env.prod.apply]` (and every other
section above) take the keys of the section of the same name, and a key an environment does not set keeps the
file's value. Select one with `--env NAME` or `COUPONCTL_ENV`; `couponctl env list` lists them. When a file
declares environments, commands that read or write a state refuse to run without one. Two environments may not
share a state (refused at load, naming both), and two that share one Mini Program shop must set different
`out_coupon_id_prefix` values (each then counts the other's shop coupons there as expected, not drift). Every
plan, saved plan, Markdown header and history entry names its environment; a saved plan is refused in another;
request numbers include the environment's name. The keys below are an environment's own; example:

```toml
[env.staging]
out_coupon_id_prefix = "stg-"
[env.staging.state]
url = "sqlite:///state/staging.db"
[env.staging.wechatpay]
brand_id = "120344"
[env.staging.overlay."shop_coupon.*"]
coupon_info.receive_info.total_num = 10

[env.prod.state]
url = "postgresql+psycopg://couponctl@db/prod"
```
"""


def _manifest_limits() -> list[str]:
    from reconciler.manifest import bounds

    return [
        "## Limits of a manifest file",
        "",
        "Our own defaults (not WeChat's), in `reconciler/manifest/bounds.py`: they keep every manifest input",
        "bounded in time and memory, so a hostile or broken file (an alias bomb, thousands of nested levels, a 200 MB",
        "export) is refused in well under a second with one message naming FILE:LINE:COL, instead of stalling CI.",
        "",
        "| limit | value | refused with |",
        "|---|---|---|",
        f"| file size | {bounds.MAX_FILE_BYTES:,} bytes (10 MiB) | `file too large`, from the size on disk, "
        "before reading |",
        f"| nesting of mappings and sequences | {bounds.MAX_DEPTH} levels | `nested too deeply` |",
        f"| documents (`---`) in one file | {bounds.MAX_DOCUMENTS:,} | `too many documents` |",
        f"| nodes repeated by aliases (`*name`, `<<: *name`) | {bounds.MAX_ALIAS_NODES:,} per file, or as many as the "
        "file writes out if more | `alias *NAME repeats too much`, at that alias |",
        "",
        "Links: a link to a manifest file is read like the file. A dangling link, or a link to a folder, inside a",
        "manifest folder is an error naming it (a manifest that is not read looks removed, and its coupons would be",
        "planned for deactivation): give the linked folder as a path of its own instead.",
        "",
    ]


def render_markdown() -> str:
    """docs/configuration.md."""
    out = [
        "# Configuration: couponctl.toml",
        "",
        "<!-- Generated from reconciler/config_schema.py by `python -m reconciler.config_schema >",
        "     docs/configuration.md`; tests/config/test_configuration_doc.py fails when the two differ. -->",
        "",
        *_INTRO.splitlines(),
        "",
    ]
    for section in SECTIONS:
        intro = [*_ENV_INTRO.splitlines(), ""] if section == "env" else []
        out += [f"## [{section}]", "", *intro, "| key | type | default | meaning |", "|---|---|---|---|"]
        for key in (k for k in KEYS if k.section == section):
            out.append(
                f"| `{key.name}` | {_type_text(key)} | `{key.default}` | {key.doc} |"
                if key.default != "the documented limits"
                else f"| `{key.name}` | {_type_text(key)} | {key.default} | {key.doc} |"
            )
        out.append("")
    out += _manifest_limits()
    return "\n".join(out)


def _type_text(key: Key) -> str:
    if key.type in ("number", "integer") and key.minimum is not None:
        sign = ">=" if key.inclusive else ">"
        return f"{key.type} {sign} {key.minimum:g}"
    return {
        "string": "string",
        "id": "string (or integer)",
        "path": "path",
        "env": "environment variable name",
        "url": "http(s) URL",
        "mode": '"sandbox" or "wechat"',
        "brands": "list of strings",
        "paths": "list of paths",
        "rates": "table: operation = number > 0",
        "tables": "array of tables",
        "codes": "list of integers",
        "verification": '"public_key" or "platform_certificate"',
        "prefix": "string",
        "overlay": "tables of field = value",
    }.get(key.type, key.type)


if __name__ == "__main__":
    print(render_markdown(), end="")
