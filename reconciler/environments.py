"""Environments of couponctl.toml (`[env.staging]`, `[env.prod]`, decision D26): how one is laid over the file's
sections, and the checks that keep two environments from ever touching the same thing.

An environment is the file with its own sections laid over it (`[env.prod.state]` over `[state]`, key by key; a
table value such as `rate_limits` merges, a list replaces). What must never be shared is refused when the file is
read, whichever environment is selected: one state for two environments (two plans would fight over one serial and
one coupon would be recorded twice), and one Mini Program shop for two environments with the same
`out_coupon_id_prefix` (their shop coupons would be one coupon upstream). Product coupons need no such rule: their
create numbers include the environment's name (plan/request_numbers.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.config import EnvSettings, Settings
from reconciler.config_schema import SECTIONS
from reconciler.errors import ConfigError
from reconciler.plan.drift import ExpectedUnmanaged
from reconciler.plan.overlay import parse_overlay

_PASSWORD = re.compile(r"(://[^/:@\s]*:)([^@/\s]*)(@)")


def hide_password(url: str) -> str:
    """A state URL for display: `postgresql+psycopg://user:***@host/db`."""
    return _PASSWORD.sub(r"\1***\3", url)


def overlaid(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The file's sections with environment `name`'s sections laid over them (its own keys left out)."""
    env = dict(data.get("env", {}).get(name, {}))
    merged = {section: values for section, values in data.items() if section != "env"}
    for section, values in env.items():
        if section in SECTIONS and section != "env":
            merged[section] = _merge(dict(merged.get(section, {})), values)
    return merged


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def environment_settings(
    settings: Settings,
    envs: Mapping[str, Any],
    name: str | None,
    file: Path,
    by_name: Mapping[str, Settings] | None = None,
) -> Settings:
    """`settings` with its `env` filled in: the selected environment's overlay and prefix, every declared name,
    and the other environments' shop coupons (on a shop it shares with them) as expected unmanaged ones."""
    if not envs:
        return settings
    if name is None:
        return replace(settings, env=EnvSettings(names=tuple(envs)))
    table = envs[name]
    try:
        overlay = parse_overlay(table.get("overlay", {}), f"env.{name}.overlay")
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    prefix = str(table.get("out_coupon_id_prefix", ""))
    neighbours = _neighbours(name, prefix, settings, envs, by_name or {})
    return replace(
        settings,
        env=EnvSettings(name=name, names=tuple(envs), out_coupon_id_prefix=prefix, overlay=overlay),
        drift=replace(settings.drift, expected_unmanaged=settings.drift.expected_unmanaged + neighbours),
    )


def _neighbours(
    name: str, prefix: str, settings: Settings, envs: Mapping[str, Any], by_name: Mapping[str, Settings]
) -> tuple[ExpectedUnmanaged, ...]:
    """The shop coupons of the other environments on this environment's shop, as expected unmanaged coupons: they
    are listed upstream, but they are the other environment's, not drift (decision D26). Another environment with
    a prefix owns `PREFIX*`; one without a prefix owns whatever does not start with this environment's prefix."""
    out: list[ExpectedUnmanaged] = []
    for other, other_settings in by_name.items():
        if other == name or shop_identity(other_settings) != shop_identity(settings):
            continue
        other_prefix = str(envs[other].get("out_coupon_id_prefix", ""))
        reason = f"environment {other}'s shop coupons (the same shop)"
        globs = [f"{_glob_escape(other_prefix)}*"] if other_prefix else _not_starting_with(prefix)
        out += [ExpectedUnmanaged(reason=reason, out_coupon_id=glob) for glob in globs]
    return tuple(out)


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _not_starting_with(prefix: str) -> list[str]:
    """Globs that together match exactly the ids that do not start with `prefix` (its shorter heads included)."""
    globs = [prefix[:i] for i in range(1, len(prefix))]  # "s", "st", "stg": shorter than the prefix
    globs += [f"{_glob_escape(prefix[:i])}[!{prefix[i]}]*" for i in range(len(prefix))]
    return globs


def check_environments(by_name: Mapping[str, Settings], raw: Mapping[str, Any], file: Path) -> None:
    """Refuse two environments that share a state, or a shop with the same out_coupon_id prefix."""
    names = list(by_name)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            a, b = by_name[first], by_name[second]
            if state_identity(a) == state_identity(b):
                raise ConfigError(
                    f"{file}: environments {first!r} and {second!r} use the same state "
                    f"({hide_password(a.state_url)}); give each its own [env.NAME.state] url, so that neither can "
                    "ever plan or apply against the other's coupons"
                )
            prefix_a = str(raw[first].get("out_coupon_id_prefix", ""))
            prefix_b = str(raw[second].get("out_coupon_id_prefix", ""))
            if shop_identity(a) == shop_identity(b) and prefix_a == prefix_b:
                raise ConfigError(
                    f"{file}: environments {first!r} and {second!r} share one Mini Program shop "
                    f"({shop_identity(a)[1]}) with the same out_coupon_id_prefix ({prefix_a or 'none'}), so their shop "
                    f'coupons would be the same coupons upstream; set [env.{first}] out_coupon_id_prefix (e.g. "'
                    f'{first[:8]}-") or give one of them its own [env.NAME.shop]'
                )


def state_identity(settings: Settings) -> str:
    """What tells two states apart: a SQLite file's real path, else the URL without its password."""
    url = settings.state_url
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        return "sqlite:" + os.path.normcase(os.path.realpath(url[len(prefix) :].split("?", 1)[0]))
    return hide_password(url)


def shop_identity(settings: Settings) -> tuple[str, str]:
    """Which Mini Program shop an environment's shop coupons go to: the embedded sandbox's folder, or the appid at
    its base URL."""
    if settings.upstream.mode == "sandbox":
        return ("sandbox", f"the embedded sandbox in {settings.resolve(settings.upstream.sandbox_dir)}")
    return ("wechat", f"appid {settings.shop.appid or '(none)'} at {settings.shop.base_url}")
