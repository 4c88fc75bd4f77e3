"""The diff engine: field-level differences between two normalised bodies, and the views that are compared. Pure.

Like Alembic autogenerate, a body difference is a list of `FieldChange`s on dotted paths (`display_info.name`, list
items as `[i]`). Read-only keys are removed before comparing (`compare_view`), fields the manifest says to ignore
are reported as notes instead of changes (`compare`), and a call never overwrites an ignored field
(`keep_ignored`). Used by the planner, drift detection and the renderers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.plan import kinds
from reconciler.plan.model import FieldChange
from reconciler.resources import DesiredCoupon, IgnoreRule


def _same(a: Any, b: Any) -> bool:
    # bool is an int in Python; the APIs distinguish them, so do we.
    return type(a) is type(b) and a == b


def diff_values(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Field-level differences between two normalised bodies: dotted paths, list items as `[i]`."""
    out: list[FieldChange] = []
    _diff(before, after, path, out)
    return out


def _diff(before: Any, after: Any, path: str, out: list[FieldChange]) -> None:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in before:
                out.append(FieldChange(path=sub, change="add", before=None, after=after[key]))
            elif key not in after:
                out.append(FieldChange(path=sub, change="remove", before=before[key], after=None))
            else:
                _diff(before[key], after[key], sub, out)
    elif isinstance(before, list | tuple) and isinstance(after, list | tuple) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            _diff(b, a, f"{path}[{i}]", out)
    elif isinstance(before, list | tuple) and isinstance(after, list | tuple):
        if list(before) != list(after):
            out.append(FieldChange(path=path, change="change", before=before, after=after))
    elif not _same(before, after):
        out.append(FieldChange(path=path, change="change", before=before, after=after))


def top_key(path: str) -> str:
    """`coupon_info.discount_info.discount_fee` -> `coupon_info`; `display_info[0]` -> `display_info`."""
    end = len(path)
    for sep in (".", "["):
        i = path.find(sep)
        if 0 <= i < end:
            end = i
    return path[:end]


def under(path: str, rule_path: str) -> bool:
    """Is `path` the field `rule_path` or inside it?"""
    return path == rule_path or path.startswith(rule_path + ".") or path.startswith(rule_path + "[")


def compare_view(rules: kinds.KindRules, body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The part of a body that is compared: read-only keys (top-level and nested) removed.

    Returns `body` itself when there is nothing to remove (the common case for desired bodies), so the no-change
    path of a 10,000-coupon plan copies nothing; never mutates `body`. A `*` in a nested path is every key of a map
    (the named stocks, decision D29).
    """
    view: Mapping[str, Any] = body
    if not rules.read_only.isdisjoint(body):
        view = {k: v for k, v in body.items() if k not in rules.read_only}
    for parents, leaves in kinds.NESTED_READ_ONLY[rules.kind].items():
        view = _without(view, parents, leaves)
    return view


def _without(value: Mapping[str, Any], parents: tuple[str, ...], leaves: frozenset[str]) -> Mapping[str, Any]:
    """`value` with `leaves` removed from the mapping at `parents`; copies only the path that changes."""
    if not parents:
        return {k: v for k, v in value.items() if k not in leaves} if not leaves.isdisjoint(value) else value
    key, rest = parents[0], parents[1:]
    if key == "*":
        stripped = {k: _without(v, rest, leaves) if isinstance(v, Mapping) else v for k, v in value.items()}
        return value if all(stripped[k] is v for k, v in value.items()) else stripped
    child = value.get(key)
    if not isinstance(child, Mapping):
        return value
    new_child = _without(child, rest, leaves)
    return value if new_child is child else {**value, key: new_child}


_HOLE = object()


def _is_hole(value: Any) -> bool:
    """Missing, or a zero value (0, "", [], {}, null): what a partial or zero-filled echo leaves (A.6.4)."""
    if value is _HOLE or value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value == 0
    return isinstance(value, str | list | tuple | Mapping) and len(value) == 0


def _filled(echo: Any, known: Any) -> Any:
    if _is_hole(echo):
        return known
    if isinstance(echo, Mapping) and isinstance(known, Mapping):
        out = dict(echo)
        for key, value in known.items():
            out[key] = _filled(echo.get(key, _HOLE), value)
        return out
    return echo


def fill_echo_holes(rules: kinds.KindRules, echo: Mapping[str, Any], known: Mapping[str, Any]) -> Mapping[str, Any]:
    """`echo` (what upstream answered) with the holes of a partial status-1 shop echo filled from `known` (what we
    last knew), so a coupon that upstream echoes partially compares equal and converges (reference A.6.4 [INF]).

    Only shop coupons in `kinds.SHOP_PARTIAL_ECHO_STATUSES`, only under `kinds.SHOP_PARTIAL_ECHO_KEYS`; a value that
    is present and non-zero is upstream's and is kept, so a real edit made upstream is still seen. Returns `echo`
    itself when there is nothing to fill; never mutates either argument.
    """
    if rules.kind != "ShopCoupon" or echo.get("status") not in kinds.SHOP_PARTIAL_ECHO_STATUSES:
        return echo
    filled = dict(echo)
    for key in kinds.SHOP_PARTIAL_ECHO_KEYS:
        if key in known:
            filled[key] = _filled(echo.get(key, _HOLE), known[key])
    return filled if filled != echo else echo


@dataclass(frozen=True, slots=True)
class Diff:
    """What differs between a desired coupon and upstream, and notes about differing fields that are ignored."""

    changes: tuple[FieldChange, ...]
    ignored: tuple[str, ...]  # notes about differing fields that were ignored (DesiredCoupon.ignore_drift)


def compare(rules: kinds.KindRules, desired: DesiredCoupon, upstream: Mapping[str, Any]) -> Diff:
    """The differences between upstream and the desired body, ignored fields set apart as notes."""
    before = compare_view(rules, upstream)
    after = compare_view(rules, desired.body)
    # Fast path: one C-level deep comparison. (Python equates True with 1; the manifest schema types every field,
    # so a bool can never meet an int in the same place.)
    if before == after:
        return Diff((), ())
    changes = diff_values(before, after)
    if not desired.ignore_drift:
        return Diff(tuple(changes), ())
    kept: list[FieldChange] = []
    notes: list[str] = []
    for change in changes:
        rule = next((r for r in desired.ignore_drift if under(change.path, r.path)), None)
        if rule is None:
            kept.append(change)
        else:
            notes.append(f"{change.path} differs upstream but is ignored ({rule.reason})")
    return Diff(tuple(kept), tuple(notes))


def _set_path(body: dict[str, Any], path: str, value: Any, present: bool) -> None:
    """Set (or delete) a dotted path in a freshly copied body; list indexes are not supported (whole lists only)."""
    keys = path.split(".")
    holder = body
    for key in keys[:-1]:
        child = holder.get(key)
        if not isinstance(child, Mapping):
            return
        copy = dict(child)
        holder[key] = copy
        holder = copy
    if present:
        holder[keys[-1]] = value
    else:
        holder.pop(keys[-1], None)


def _has_path(body: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = body
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return False, None
        value = value[key]
    return True, value


def keep_ignored(
    desired: Mapping[str, Any], upstream: Mapping[str, Any], rules: Sequence[IgnoreRule]
) -> dict[str, Any]:
    """The desired body with every ignored field taken from upstream, so a call never overwrites a console edit."""
    body = dict(desired)
    for rule in rules:
        present, value = _has_path(upstream, rule.path)
        _set_path(body, rule.path, value, present)
    return body
