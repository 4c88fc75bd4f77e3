"""One address's block in the text plan (its header, changed fields with notes, the calls and the reason) and one
drift item's block; the symbols and colours they use. Pure: colour only when the caller's `Paint` asks for it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.plan import kinds
from reconciler.plan.diff import compare_view, top_key
from reconciler.plan.model import Action, ActionType, Call, DriftItem, FieldChange
from reconciler.render.quantities import quantity_note
from reconciler.render.values import annotate, count_leaves, fmt, leaves

SYMBOL: dict[ActionType, str] = {
    ActionType.CREATE: "+",
    ActionType.UPDATE: "~",
    ActionType.REPLACE: "-/+",
    ActionType.DEACTIVATE: "-",
    ActionType.TRANSITION: ">",
    ActionType.BLOCKED: "!",
    ActionType.DEFERRED: "?",
    ActionType.FORGET: "x",
    ActionType.NOT_APPLIED: "=",
}
LEGEND: dict[ActionType, str] = {
    ActionType.CREATE: "create",
    ActionType.UPDATE: "update in place",
    ActionType.REPLACE: "replace (create the new coupon first, then deactivate the old one)",
    ActionType.DEACTIVATE: "deactivate / void (irreversible)",
    ActionType.TRANSITION: "status transition",
    ActionType.BLOCKED: "blocked: cannot be applied (see the remedy)",
    ActionType.DEFERRED: "deferred: waiting for upstream review",
    ActionType.FORGET: "forget: dropped from state, left upstream (no call)",
    ActionType.NOT_APPLIED: "differs, but not applied by couponctl",
}
# ANSI SGR codes, Terraform's palette: green adds, yellow updates, red destroys.
COLOR: dict[ActionType, str] = {
    ActionType.CREATE: "32",
    ActionType.UPDATE: "33",
    ActionType.REPLACE: "35",
    ActionType.DEACTIVATE: "31",
    ActionType.TRANSITION: "36",
    ActionType.BLOCKED: "1;31",
    ActionType.DEFERRED: "34",
    ActionType.FORGET: "90",
    ActionType.NOT_APPLIED: "90",
}
CHANGE_SYMBOL = {"add": "+", "remove": "-", "change": "~"}
CHANGE_COLOR = {"+": "32", "-": "31", "~": "33"}


class Paint:
    """Wraps text in ANSI colour codes when enabled; the identity otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled and text else text

    def bold(self, text: str) -> str:
        return self(text, "1")


def _body_view(action: Action, body: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if body is None:
        return {}
    return compare_view(kinds.RULES[action.kind], body)


def _header(action: Action) -> str:
    if action.moved_from is None:
        return _plain_header(action)
    if action.type is ActionType.UPDATE and not action.calls and not action.changes:
        return f"# {action.address} has moved from {action.moved_from} (state only, no upstream call)"
    return f"{_plain_header(action)}, after moving from {action.moved_from} (state only)"


def _plain_header(action: Action) -> str:
    a = action.address
    t = action.type
    if t is ActionType.CREATE:
        if action.kind == "ShopCoupon":
            statuses = [c.payload.get("status") for c in action.calls if c.operation == "shop.update_status"]
            final: Any = statuses[-1] if statuses else 1
            state = kinds.SHOP_STATUS_MEANING.get(final, str(final))
            return f"# {a} will be created (ending in status {final}, {state})"
        return f"# {a} will be created"
    if t is ActionType.UPDATE:
        return f"# {a} will be updated in place"
    if t is ActionType.REPLACE:
        if not any(c.operation == "product.deactivate" for c in action.calls):
            return f"# {a} will be created again (the old coupon is already deactivated)"
        return f"# {a} must be replaced (create-before-destroy)"
    if t is ActionType.DEACTIVATE:
        verb = "voided" if action.kind == "ShopCoupon" else "deactivated"
        return f"# {a} will be {verb} (irreversible)"
    if t is ActionType.TRANSITION:
        return f"# {a} will change status"
    if t is ActionType.FORGET:
        return f"# {a} will be forgotten (dropped from state, no upstream call)"
    if t is ActionType.BLOCKED:
        return f"# {a} is BLOCKED"
    if t is ActionType.DEFERRED:
        return f"# {a} is deferred"
    return f"# {a} differs, but the difference is not applied"


# reference B.7, from the product-coupon PATCH doc page ("修改只会对新发的券生效,历史已经发放给用户的券不会改变").
PATCH_NOTE = (
    "display changes reach only coupons issued after the change; coupons already in users' wallets keep the old "
    "display (WeChat Pay PATCH doc, reference B.7)"
)


def _effect_note(change: FieldChange) -> str | None:
    if change.effect == "forces_replacement":
        return "forces replacement"
    if change.effect == "blocked":
        return f"blocked: {change.reason}" if change.reason else "blocked"
    if change.effect == "deferred":
        return f"deferred: {change.reason}" if change.reason else "deferred"
    if change.effect == "not_applied":
        return "not applied"
    return None


def _value_with_note(kind: str, path: str, value: Any) -> tuple[str, str | None]:
    return fmt(value), annotate(kind, path, value)


def _change_lines(
    kind: str, change: FieldChange, paint: Paint, counted: str | None = None
) -> list[tuple[str, str, str | None]]:
    """(symbol, `path = value`, comment) rows for one change; added or removed subtrees expand to their leaves.
    `counted` (render/quantities.py) follows a changed count: `1,000 -> 5,000 (842 already handed out)`."""
    rows: list[tuple[str, str, str | None]] = []
    effect = _effect_note(change)
    if change.change in ("add", "remove"):
        symbol = CHANGE_SYMBOL[change.change]
        value = change.after if change.change == "add" else change.before
        for path, leaf in leaves(value, change.path):
            text, note = _value_with_note(kind, path, leaf)
            rows.append((symbol, f"{path} = {text}", "; ".join(n for n in (note, effect) if n) or None))
        return rows
    before, before_note = _value_with_note(kind, change.path, change.before)
    after, after_note = _value_with_note(kind, change.path, change.after)
    note = None
    if before_note or after_note:
        note = f"{before_note or before} -> {after_note or after}"
    values = f"{before} -> {after}"
    if counted is not None and isinstance(change.before, int) and isinstance(change.after, int):
        values = f"{change.before:,} -> {change.after:,} ({counted})"
    rows.append(("~", f"{change.path} = {values}", "; ".join(n for n in (note, effect) if n) or None))
    return rows


def _format_rows(rows: Sequence[tuple[str, str, str | None]], indent: str, paint: Paint) -> list[str]:
    """`symbol path = value  # note` lines; the `=` signs line up within each run of rows under one top-level key
    (like Terraform aligns the attributes of one nested block), so one deep path does not widen everything."""

    def group_of(row: tuple[str, str, str | None]) -> str:
        path = row[1].split(" = ", 1)[0]
        return top_key(path) if path != top_key(path) else ""  # top-level scalars align together

    out: list[str] = []
    i = 0
    while i < len(rows):
        group_key = group_of(rows[i])
        j = i
        while j < len(rows) and group_of(rows[j]) == group_key:
            j += 1
        group = rows[i:j]
        width = max(len(text.split(" = ", 1)[0]) for _, text, _ in group)
        for symbol, text, note in group:
            path, _, value = text.partition(" = ")
            line = f"{indent}{paint(symbol, CHANGE_COLOR.get(symbol, '0'))} {path.ljust(width)} = {value}"
            if note:
                line += f"  # {note}"
            out.append(line)
        i = j
    return out


def _call_text(action: Action) -> str:
    parts: list[str] = []
    for call in action.calls:
        text: str = call.operation
        if call.operation == "shop.update_status":
            text += f"({call.payload.get('status')})"
        if call.target and call.operation.startswith("product.") and call.operation != "product.create":
            text += f" {call.target}"
        if call.stock_name is not None:  # decision D29: the declared stock (bundle) the call concerns
            text += f" {_stock_label(action, call)}"
        if call.role == "old":
            text += " (old)"
        if parts and parts[-1].split(" ×")[0] == text:  # a run of batches (decision D34): `… ×6`
            head, _, times = parts[-1].partition(" ×")
            parts[-1] = f"{head} ×{int(times or 1) + 1}"
        else:
            parts.append(text)
    return ", then ".join(parts)


def _stock_label(action: Action, call: Call) -> str:
    """`stock main`, `bundle main`, or `stock 1000013 of bundle main` for a step stock of a removed bundle."""
    if call.operation.startswith("product.bundle."):
        return f"bundle {call.stock_name}"
    bundles = action.before.get("stock_bundles") if action.before is not None else None
    if isinstance(bundles, Mapping) and call.stock_name in bundles and call.stock_id:
        return f"stock {call.stock_id} of bundle {call.stock_name}"
    return f"stock {call.stock_name}"


def render_action(action: Action, paint: Paint) -> list[str]:
    """The block of one address (without a trailing blank line)."""
    symbol = SYMBOL[action.type]
    code = COLOR[action.type]
    lines = [f"  {paint.bold(_header(action))}"]
    if action.reason and action.type is not ActionType.CREATE:
        lines.append(f"  # {action.reason}")
    for warning in action.warnings:
        lines.append(f"  # warning: {warning}")
    if any(call.operation == "product.patch" for call in action.calls):
        lines.append(f"  # note: {PATCH_NOTE}")
    moved = f" (moved from {action.moved_from})" if action.moved_from else ""
    lines.append(f"  {paint(symbol, code)} {action.address}{moved} {{")
    inner = "      "
    if action.upstream_id:
        label = "out_coupon_id" if action.kind == "ShopCoupon" else "product_coupon_id"
        if not (action.type is ActionType.CREATE and action.kind == "ShopCoupon"):
            lines.append(f"{inner}  {label} = {fmt(action.upstream_id)}")
    if action.type is ActionType.CREATE:
        rows = [
            ("+", f"{path} = {fmt(leaf)}", annotate(action.kind, path, leaf))
            for path, leaf in leaves(_body_view(action, action.after), "")
        ]
        if action.brand_id and action.kind == "ProductCoupon":
            rows.insert(0, ("+", f"brand_id = {fmt(action.brand_id)}", None))
        for change in action.changes:  # what is not in the body: a stock's codes, as counts (decision D35)
            rows.extend(_change_lines(action.kind, change, paint))
        lines.extend(_format_rows(rows, inner, paint))
    else:
        rows = []
        for change in action.changes:
            rows.extend(_change_lines(action.kind, change, paint, quantity_note(action, change)))
        lines.extend(_format_rows(rows, inner, paint))
        body = action.after if action.after is not None else action.before
        total = count_leaves(_body_view(action, body))
        # leaves of the shown body that a change row covers (a removed field is no longer in the body)
        changed = sum(
            count_leaves(c.after)
            for c in action.changes
            if c.change != "remove" and c.path not in {"status", "brand_id"}
        )
        hidden = max(total - changed, 0)
        if hidden:
            # Terraform's wording: "unchanged" only where something else in the block changes
            word = "unchanged attribute" if action.changes else "attribute"
            lines.append(f"{inner}# ({hidden} {word}{'s' if hidden != 1 else ''} hidden)")
    lines.append("    }")
    if action.calls:
        lines.append(f"    # calls: {_call_text(action)}")
    if action.remedy:
        lines.append(f"    # remedy: {action.remedy}")
    return lines


def render_drift_section(drift: Sequence[DriftItem], paint: Paint) -> list[str]:
    """`Drift` section: what changed upstream outside couponctl, shown before the planned changes (contract §2.3)."""
    if not drift:
        return []
    lines = [
        paint.bold("Drift: changed upstream outside couponctl since the last apply (found while refreshing):"),
        "",
    ]
    for item in drift:
        title = {
            "changed": "changed outside couponctl",
            "missing": "missing upstream",
            "terminal": "became terminal upstream",
            "unmanaged": "exists upstream but is not managed",
        }[item.category]
        lines.append(f"  # {item.address} {title}" + (f" ({item.note})" if item.note else ""))
        rows = []
        for change in item.changes:
            rows.extend(_change_lines(item.kind, change, paint))
        lines.extend(_format_rows(rows, "      ", paint))
        lines.append("")
    return lines
