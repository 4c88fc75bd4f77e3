"""Pure: render a drift report (design §2.6) as text, JSON or Markdown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.plan.model import DriftItem, FieldChange

DRIFT_FORMAT_VERSION = "1.0"
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

    @property
    def drifted(self) -> bool:
        return bool(self.drift)


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
        lines.append("")
    if report.pending:
        lines.append(f"Pending manifest changes not yet applied ({len(report.pending)}): not drift")
        lines.extend(f"  {p.address}: {p.action}" for p in report.pending)
        lines.append("")
    if report.drifted:
        lines.append(
            f"Drift: {len(report.drift)} coupon(s) differ from state ({report.checked} checked, {report.reads} reads). "
            "Run `couponctl refresh` to accept upstream, or `couponctl apply` to restore the manifests."
        )
    else:
        lines.append(f"No drift. Upstream matches state ({report.checked} coupon(s) checked, {report.reads} reads).")
    return "\n".join(lines) + "\n"


def render_drift_json(report: DriftReport) -> str:
    doc = {
        "format_version": DRIFT_FORMAT_VERSION,
        "drifted": report.drifted,
        "checked": report.checked,
        "reads": report.reads,
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
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def render_drift_markdown(report: DriftReport) -> str:
    head = ["## couponctl drift", ""]
    if not report.drifted:
        head.append(f"No drift: upstream matches state ({report.checked} coupons checked).")
    else:
        head.append(f"**{len(report.drift)} coupon(s) drifted** ({report.checked} checked).")
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
