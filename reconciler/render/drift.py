"""Pure: render a drift report (contract §2.6) as text, JSON or Markdown."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.plan.drift import ExpectedItem
from reconciler.plan.model import DriftItem, FieldChange
from reconciler.plan.read_selection import skipped_sentence

# 1.1: unmanaged shop coupons declared expected ([[drift.expected_unmanaged]]) left `drift` for `expected_unmanaged`.
DRIFT_FORMAT_VERSION = "1.1"
MARKDOWN_LIMIT = 60_000  # GitHub comments stop at 65,536 characters; keep a margin


@dataclass(frozen=True, slots=True)
class PendingChange:
    """An address whose manifest differs from state (git ahead of apply): not drift, shown for context."""

    address: str
    action: str


@dataclass(frozen=True, slots=True)
class DriftReport:
    drift: tuple[DriftItem, ...]
    pending: tuple[PendingChange, ...]
    checked: int
    reads: int
    expected: tuple[ExpectedItem, ...] = ()  # unmanaged, but declared expected: listed, never drift
    skipped: Mapping[str, int] = field(default_factory=dict)  # reason -> coupons not read (decision D31)
    unmanaged_not_listed: bool = False  # the shop listing was skipped (every managed coupon has ended)
    calls: int = 0  # upstream calls made (get_list pages and product GETs)

    @property
    def skipped_line(self) -> str | None:
        sentence = skipped_sentence(self.skipped, self.unmanaged_not_listed)
        return sentence[0].upper() + sentence[1:] + "." if sentence else None

    @property
    def drifted(self) -> bool:
        return bool(self.drift)


def import_command(item: DriftItem) -> str:
    """The command that adopts an unmanaged shop coupon into state."""
    return f"couponctl import {item.address} {item.upstream_id}"


def declare_snippet(item: DriftItem) -> list[str]:
    """The couponctl.toml entry that declares an unmanaged shop coupon expected (the reason is for the user)."""
    return [
        "[[drift.expected_unmanaged]]",
        f'out_coupon_id = "{item.upstream_id}"',
        'reason = "whose coupon this is and why couponctl leaves it alone"',
    ]


def _advice(report: DriftReport) -> list[str]:
    """What makes each kind of finding go away: refresh / apply fix changes, import or a declaration the rest."""
    lines = []
    managed = [d for d in report.drift if d.category != "unmanaged"]
    unmanaged = [d for d in report.drift if d.category == "unmanaged"]
    if managed:
        lines.append(
            f"- {len(managed)} managed coupon(s): run `couponctl refresh` to accept upstream, "
            "or `couponctl apply` to restore the manifests."
        )
    if unmanaged:
        lines.append(
            f"- {len(unmanaged)} unmanaged shop coupon(s): adopt each one that is yours (its `adopt:` line above), "
            "then declare it in a manifest;\n  declare the others expected, with a reason, in couponctl.toml "
            "(docs/drift-format.md):"
        )
        lines.extend(f"    {line}" for line in declare_snippet(unmanaged[0]))
    return lines


_TITLES = {
    "changed": "Changed outside couponctl",
    "missing": "Missing upstream",
    "terminal": "Ended outside couponctl",
    "unmanaged": "Unmanaged shop coupons",
}


def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def _change_line(c: FieldChange) -> str:
    if c.change == "add":
        return f"+ {c.path} = {_value(c.after)}"
    if c.change == "remove":
        return f"- {c.path} = {_value(c.before)}"
    return f"~ {c.path}: {_value(c.before)} -> {_value(c.after)}"


def render_drift_text(report: DriftReport) -> str:
    lines: list[str] = []
    for category, title in _TITLES.items():
        items = [d for d in report.drift if d.category == category]
        if not items:
            continue
        lines.append(f"{title} ({len(items)}):")
        for item in items:
            note = f"  # {item.note}" if item.note else ""
            ident = f" [{item.upstream_id}]" if item.upstream_id else ""
            lines.append(f"  {item.address}{ident}{note}")
            lines.extend(f"      {_change_line(c)}" for c in item.changes)
            if item.category == "unmanaged":
                lines.append(f"      adopt: {import_command(item)}")
        lines.append("")
    if report.expected:
        lines.append(f"Expected unmanaged shop coupons ({len(report.expected)}): declared in couponctl.toml, not drift")
        for e in report.expected:
            lines.append(f"  {e.address} [{e.upstream_id}]  # {e.reason} ({e.rule})")
        lines.append("")
    if report.pending:
        lines.append(f"Pending manifest changes not yet applied ({len(report.pending)}): not drift")
        lines.extend(f"  {p.address}: {p.action}" for p in report.pending)
        lines.append("")
    if report.drifted:
        lines.append(
            f"Drift: {len(report.drift)} coupon(s) differ from state ({report.checked} checked, {report.reads} reads)."
        )
        lines.extend(_advice(report))
    else:
        lines.append(f"No drift. Upstream matches state ({report.checked} coupon(s) checked, {report.reads} reads).")
    if report.skipped_line:
        lines.append(report.skipped_line)
    return "\n".join(lines) + "\n"


def render_drift_json(report: DriftReport) -> str:
    doc = {
        "format_version": DRIFT_FORMAT_VERSION,
        "drifted": report.drifted,
        "checked": report.checked,
        "reads": report.reads,
        "calls": report.calls,
        "skipped": dict(report.skipped),
        "unmanaged_listed": not report.unmanaged_not_listed,
        "drift": [
            {
                "address": d.address,
                "kind": d.kind,
                "category": d.category,
                "upstream_id": d.upstream_id,
                "note": d.note,
                "changes": [
                    {"path": c.path, "change": c.change, "before": c.before, "after": c.after} for c in d.changes
                ],
            }
            for d in report.drift
        ],
        "pending": [{"address": p.address, "action": p.action} for p in report.pending],
        "expected_unmanaged": [
            {"address": e.address, "upstream_id": e.upstream_id, "name": e.name, "reason": e.reason, "rule": e.rule}
            for e in report.expected
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def render_drift_markdown(report: DriftReport) -> str:
    head = ["## couponctl drift", ""]
    if not report.drifted:
        head.append(f"No drift: upstream matches state ({report.checked} coupons checked).")
    else:
        head.append(f"**{len(report.drift)} coupon(s) drifted** ({report.checked} checked).")
    if report.skipped_line:
        head.append("")
        head.append(report.skipped_line)
    head.append("")
    body: list[str] = []
    for category, title in _TITLES.items():
        items = [d for d in report.drift if d.category == category]
        if not items:
            continue
        body.append(f"<details><summary>{title} ({len(items)})</summary>\n")
        for item in items:
            body.append(f"- `{item.address}`" + (f" — {item.note}" if item.note else ""))
            body.extend(f"  - `{_change_line(c)}`" for c in item.changes)
        body.append("\n</details>\n")
    if report.expected:
        body.append(
            f"<details><summary>Expected unmanaged shop coupons ({len(report.expected)}): not drift</summary>\n"
        )
        body.extend(f"- `{e.address}` — {e.reason} (`{e.rule}`)" for e in report.expected)
        body.append("\n</details>\n")
    if report.drifted:
        body.extend(_advice(report))
    text = "\n".join(head + body)
    if len(text) > MARKDOWN_LIMIT:  # degrade to addresses only: still names every drifted coupon
        short = [f"- `{d.address}` ({d.category})" for d in report.drift]
        text = "\n".join(head + short)
        if len(text) > MARKDOWN_LIMIT:
            text = text[: MARKDOWN_LIMIT - 40] + "\n- … (truncated; see the JSON report)"
    return text + "\n"


def render_drift(report: DriftReport, fmt: str) -> str:
    if fmt == "json":
        return render_drift_json(report)
    if fmt == "markdown":
        return render_drift_markdown(report)
    return render_drift_text(report)


def pending_from_actions(actions: Sequence[Any]) -> tuple[PendingChange, ...]:
    return tuple(PendingChange(a.address, a.type.value) for a in actions)
