"""Pure: the policy outcome a plan recorded (`Plan.meta["policy"]`, issue 18) as text, Markdown and JSON.

Denied findings first, then warnings, then the findings an override let pass (with who and why); then the freeze in
force or coming next. The Markdown table is budgeted like the rest of the comment: rows beyond the budget are
counted, never silently dropped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.plan.model import Plan
from reconciler.render.blocks import Paint

MAX_PLACES = 10  # addresses listed per finding in text; the JSON lists them all
MD_PLACES = 3


def report_of(plan: Plan) -> Mapping[str, Any] | None:
    found = plan.meta.get("policy")
    return found if isinstance(found, Mapping) else None


def _order(findings: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    def rank(f: Mapping[str, Any]) -> int:
        if f["overridden"] is not None:
            return 2
        return 0 if f["severity"] == "deny" else 1

    return sorted(findings, key=rank)


def _label(finding: Mapping[str, Any]) -> str:
    return "allowed" if finding["overridden"] is not None else finding["severity"]


def _override_text(given: Mapping[str, Any]) -> str:
    who = given.get("by") or "manifest allow:"
    until = f", until {given['expires']}" if given.get("expires") else ""
    return f"allowed by {who}{until}: {given['reason']}"


def verdict_line(report: Mapping[str, Any]) -> str:
    findings = report.get("findings", [])
    denying = sum(1 for f in findings if f["severity"] == "deny" and f["overridden"] is None)
    warns = sum(1 for f in findings if f["severity"] == "warn" and f["overridden"] is None)
    allowed = sum(1 for f in findings if f["overridden"] is not None)
    head = f"Policy ({report['file']}): "
    if denying:
        head += f"DENIED: {denying} finding{'s deny' if denying != 1 else ' denies'} this plan"
    else:
        head += "passed"
    extra = [f"{warns} warning{'s' if warns != 1 else ''}"] if warns else []
    if allowed:
        extra.append(f"{allowed} allowed by override")
    if not findings:
        extra.append("no findings")
    return head + (f" ({', '.join(extra)})" if extra else "") + "."


def freeze_lines(report: Mapping[str, Any]) -> list[str]:
    out = []
    for f in report.get("freezes", []):
        allowed = ", ".join(f["allow"]) or "nothing"
        if f["active"]:
            out.append(
                f"Freeze {f['name']!r} in force until {f['end']}: apply refuses mutating calls (allowed: {allowed})."
            )
        else:
            out.append(f"Freeze ahead: {f['name']!r} from {f['start']} to {f['end']} (allowed then: {allowed}).")
    return out


def text_lines(plan: Plan, paint: Paint) -> list[str]:
    """The text plan's policy section (after the actions), or [] for a plan without a policy file."""
    report = report_of(plan)
    if report is None:
        return []
    colour = "31" if report.get("denied") else "32"
    out = [paint.bold(paint(verdict_line(report), colour))]
    for finding in _order(report.get("findings", [])):
        label = _label(finding)
        out.append(f"  {label:<7} {finding['rule']}: {finding['message']}")
        places, addresses = finding["places"], finding["addresses"]
        for place, address in list(zip(places, addresses, strict=False))[:MAX_PLACES]:
            where = f"{place}  {address}" if place != address else address
            out.append(f"          {where}")
        if len(addresses) > MAX_PLACES:
            out.append(f"          … and {len(addresses) - MAX_PLACES} more")
        out.append(f"          {finding['detail']}")
        if finding["overridden"] is not None:
            out.append(f"          {_override_text(finding['overridden'])}")
    out += freeze_lines(report)
    out += [f"Note: {note}" for note in report.get("notes", [])]
    return [*out, ""]


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def markdown_section(plan: Plan, budget: int) -> str:
    """The policy table at the top of the PR comment, at most `budget` characters ("" without a policy file)."""
    report = report_of(plan)
    if report is None:
        return ""
    lines = [f"#### {_cell(verdict_line(report))}", ""]
    if report.get("denied"):
        rules = sorted({f["rule"] for f in report["findings"] if f["severity"] == "deny" and f["overridden"] is None})
        lines += [
            "> [!CAUTION]\n> **Denied by policy**: apply refuses this plan. Fix the manifests, or override after "
            f'review: `{" ".join(f"--allow {r}" for r in rules)} --reason "…"` (or an `allow:` entry next to the '
            "coupon).",
            "",
        ]
    for line in freeze_lines(report):
        lines += [f"> [!IMPORTANT]\n> {_cell(line)}", ""]
    findings = _order(report.get("findings", []))
    if findings:
        lines += ["| | rule | coupons | finding |", "|---|---|---|---|"]
    head = "\n".join(lines)
    rows: list[str] = []
    used = len(head)
    for i, finding in enumerate(findings):
        places = [
            f"`{a}` ({p})" if p != a else f"`{a}`"
            for p, a in zip(finding["places"], finding["addresses"], strict=False)
        ]
        shown = ", ".join(places[:MD_PLACES]) + (
            f" and {len(places) - MD_PLACES} more" if len(places) > MD_PLACES else ""
        )
        detail = _cell(finding["detail"])
        if finding["overridden"] is not None:
            detail += " — " + _cell(_override_text(finding["overridden"]))
        row = f"| {_label(finding)} | `{finding['rule']}` {_cell(finding['message'])} | {shown} | {detail} |"
        if used + len(row) + 120 > budget:
            rows.append(f"\n… and {len(findings) - i} more findings (all in `couponctl show PLAN_FILE --format json`).")
            break
        rows.append(row)
        used += len(row) + 1
    return head + ("\n" if rows else "") + "\n".join(rows) + "\n"


def json_data(plan: Plan) -> Mapping[str, Any] | None:
    """The `policy` member of the JSON plan (docs/plan-format.md), or None without a policy file."""
    return report_of(plan)
