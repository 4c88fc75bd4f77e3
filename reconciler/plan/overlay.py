"""An environment's overlay: explicit field overrides laid over the declared coupons before planning. Pure.

`[env.staging.overlay."shop_coupon.*"]` (every coupon of a kind) or `[env.staging.overlay."shop_coupon.NAME"]`
(one address) holds dotted field paths of the coupon's body, in its upstream form (fen, seconds), and their value in
this environment, e.g. `coupon_info.receive_info.total_num = 10`. The overlay is small and explicit on purpose: it
can only replace a value the coupon already declares, with a value of the same type; a path the coupon does not
have, a selector no declared coupon matches, or another type is an error naming the overlay key and the coupon's
file:line (decision D26). An environment's `out_coupon_id_prefix` is applied here too, to every shop coupon.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reconciler.errors import ConfigError
from reconciler.resources import DesiredCoupon, make_address, split_address

KIND_SELECTORS: Mapping[str, str] = {"shop_coupon.*": "ShopCoupon", "product_coupon.*": "ProductCoupon"}
# The identity of a coupon is not the overlay's to change: the prefix scopes out_coupon_id, brands are per environment.
FORBIDDEN_PATHS = frozenset({"out_coupon_id", "brand_id"})
SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class OverlayRule:
    """One override: the coupons `selector` names get `value` at `path`. `origin` names it for messages."""

    selector: str  # "shop_coupon.NAME", "product_coupon.NAME", "shop_coupon.*" or "product_coupon.*"
    path: str  # dotted path in the body, e.g. "coupon_info.receive_info.total_num"
    value: Any
    origin: str  # e.g. '[env.staging.overlay."shop_coupon.*"] coupon_info.receive_info.total_num'


def parse_overlay(table: Mapping[str, Any], where: str) -> tuple[OverlayRule, ...]:
    """The rules of one `[env.NAME.overlay]` table; `where` is its header text ("env.staging.overlay").
    Nested tables are paths (TOML's `a.b.c = 1` is `{a: {b: {c: 1}}}`), and so is a quoted `"a.b.c" = 1`."""
    rules: list[OverlayRule] = []
    for selector, fields in table.items():
        origin = f'[{where}."{selector}"]'
        problem = selector_problem(selector)
        if problem is not None:
            raise ConfigError(f"{origin}: {problem}")
        if not isinstance(fields, Mapping) or not fields:
            raise ConfigError(f"{origin} must be a table of field paths and values, e.g. total_num overrides")
        for path, value in _leaves(fields, ()):
            dotted = ".".join(path)
            if not all(SEGMENT.fullmatch(p) for p in path):
                raise ConfigError(f"{origin} {dotted}: a field path is names joined by dots")
            if path[-1] in FORBIDDEN_PATHS or path[0] in FORBIDDEN_PATHS:
                raise ConfigError(
                    f"{origin} {dotted}: an overlay cannot change a coupon's identity; shop coupons of an "
                    "environment are told apart by its out_coupon_id_prefix, product coupons by its brand"
                )
            rules.append(OverlayRule(selector, dotted, value, f"{origin} {dotted}"))
    return tuple(rules)


def selector_problem(selector: str) -> str | None:
    if selector in KIND_SELECTORS:
        return None
    try:
        split_address(selector)
    except ValueError:
        return (
            "an overlay applies to a kind (shop_coupon.* or product_coupon.*) or one address "
            "(shop_coupon.NAME, product_coupon.NAME)"
        )
    return None


def _leaves(table: Mapping[str, Any], prefix: tuple[str, ...]) -> Iterable[tuple[tuple[str, ...], Any]]:
    for key, value in table.items():
        parts = tuple(str(key).split("."))  # a quoted "a.b.c" key is a path too
        if isinstance(value, Mapping):
            yield from _leaves(value, (*prefix, *parts))
        else:
            yield (*prefix, *parts), value


def apply_overlay(
    coupons: Sequence[DesiredCoupon],
    rules: Sequence[OverlayRule],
    *,
    out_coupon_id_prefix: str = "",
    complete: bool = True,
) -> list[DesiredCoupon]:
    """The coupons as this environment declares them. `complete` says every manifest was loaded: only then is an
    address selector that matches nothing an error (a `plan PATH` may not load its coupon)."""
    declared = {c.address for c in coupons}
    for rule in rules:
        if complete and rule.selector not in KIND_SELECTORS and rule.selector not in declared:
            raise ConfigError(f"{rule.origin}: no declared coupon has the address {rule.selector}")
    out: list[DesiredCoupon] = []
    for coupon in coupons:
        body: dict[str, Any] = _copy(coupon.body)
        for rule in rules:
            if _matches(rule.selector, coupon):
                _set(body, rule, coupon)
        if out_coupon_id_prefix and coupon.kind == "ShopCoupon":
            body["out_coupon_id"] = out_coupon_id_prefix + str(body["out_coupon_id"])
        out.append(coupon if body == coupon.body else replace(coupon, body=body))
    return out


def _matches(selector: str, coupon: DesiredCoupon) -> bool:
    kind = KIND_SELECTORS.get(selector)
    return coupon.kind == kind if kind is not None else selector == make_address(coupon.kind, coupon.name)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _set(body: dict[str, Any], rule: OverlayRule, coupon: DesiredCoupon) -> None:
    where = f"{coupon.address} ({coupon.source})"
    parts = rule.path.split(".")
    node: Any = body
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            have = ", ".join(sorted(node)) if isinstance(node, dict) else "no fields"
            at = ".".join(parts[:i]) or "the body"
            raise ConfigError(
                f"{rule.origin}: {where} has no field {'.'.join(parts[: i + 1])} ({at} has: {have}); an overlay "
                "only replaces a value the coupon declares"
            )
        if i < len(parts) - 1:
            node = node[part]
    old = node[parts[-1]]
    if _type(old) != _type(rule.value):
        raise ConfigError(
            f"{rule.origin}: {where} declares {rule.path} as {_type(old)} ({old!r}); the overlay's value "
            f"{rule.value!r} is {_type(rule.value)}"
        )
    node[parts[-1]] = _copy(rule.value)


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__
