"""Environments in the commands (decision D26): the selection check, the coupons as an environment declares them,
and `couponctl env list`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.config import ENVIRONMENT_VARIABLE, Settings, load_settings
from reconciler.errors import ConfigError
from reconciler.resources import DesiredCoupon


def require_environment(settings: Settings) -> None:
    """Refuse to touch a state when the file declares environments and none is selected: the file's own sections
    are then nobody's environment, and a command run without `--env` must not quietly use them."""
    if settings.env.names and settings.env.name is None:
        names = ", ".join(settings.env.names)
        raise ConfigError(
            f"{settings.config_file} declares the environments {names}: choose one with --env NAME or "
            f"{ENVIRONMENT_VARIABLE}=NAME (couponctl env list shows them)"
        )


def environment_coupons(settings: Settings, coupons: Sequence[DesiredCoupon], *, complete: bool) -> list[DesiredCoupon]:
    """The declared coupons with the selected environment's overlay and out_coupon_id prefix applied (unchanged
    without an environment). `complete`: every configured manifest was loaded (see `apply_overlay`)."""
    if settings.env.name is None:
        return list(coupons)
    from reconciler.plan.overlay import apply_overlay

    try:
        return apply_overlay(
            coupons, settings.env.overlay, out_coupon_id_prefix=settings.env.out_coupon_id_prefix, complete=complete
        )
    except ConfigError as exc:
        raise ConfigError(f"{settings.config_file}: {exc}") from None


@dataclass(frozen=True, slots=True)
class EnvironmentRow:
    """One line of `couponctl env list`."""

    name: str
    state: str  # the state URL, password hidden
    brand_id: str
    mode: str
    selected: bool


def env_list(settings: Settings) -> list[EnvironmentRow]:
    """Every environment of the configuration, with what it points at (no secret: the state password is hidden,
    credentials are only ever environment-variable names)."""
    from reconciler.environments import hide_password

    if settings.config_file is None or not settings.env.names:
        return []
    rows = []
    for name in settings.env.names:
        env = load_settings(settings.config_file, cwd=settings.root, environment=name)
        rows.append(
            EnvironmentRow(
                name=name,
                state=hide_password(env.state.url),
                brand_id=env.wechatpay.brand_id or ("(the sandbox's)" if env.upstream.mode == "sandbox" else ""),
                mode=env.upstream.mode,
                selected=name == settings.env.name,
            )
        )
    return rows


__all__ = ["EnvironmentRow", "env_list", "environment_coupons", "require_environment"]
