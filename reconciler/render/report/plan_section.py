"""The "this plan" section of the report: every action's block in the words of the text plan (the functions of
`render.text` and `render.blocks`, never re-worded), blocked actions first, then the changes, then the differences
no call resolves (deferred, not applied); within each, the text plan's own order. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from reconciler.plan.model import ActionType, Plan
from reconciler.render.blocks import LEGEND, Paint, render_action
from reconciler.render.summary import PlanSummary
from reconciler.render.text import (
    blocked_message,
    closing_lines,
    legend_lines,
    ordered_actions,
    preamble_lines,
    set_lines,
)

PLAIN = Paint(False)
# Blocked first (they stop the apply), then what apply changes, then what it cannot change now.
TIER: Mapping[ActionType, int] = {
    ActionType.BLOCKED: 0,
    ActionType.DEFERRED: 2,
    ActionType.NOT_APPLIED: 2,
}


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """One action as the page lists it: its address, type, manifest file and its text-plan block."""

    address: str
    type: ActionType
    group: str
    text: str


def plan_entries(plan: Plan) -> list[PlanEntry]:
    """Every action of the plan, blocked first, then changes, then deferred / not applied (text-plan order within)."""
    entries = [
        PlanEntry(a.address, a.type, file, "\n".join(render_action(a, PLAIN)))
        for file, actions in ordered_actions(plan.actions)
        for a in actions
    ]
    return sorted(entries, key=lambda e: TIER.get(e.type, 1))  # stable: the text plan's order within a tier


def _pre(css_class: str, lines: list[str]) -> str:
    while lines and not lines[-1]:
        lines = lines[:-1]
    return f'<pre class="{css_class}">{escape(chr(10).join(lines))}</pre>' if lines else ""


def plan_section(plan: Plan, summary: PlanSummary) -> str:
    """The static part of the section (the entries are in the page's data and listed by its script, paged)."""
    blocked = blocked_message(plan)
    parts = [
        '<section id="plan"><h2>This plan</h2>',
        _pre("preamble", preamble_lines(plan, PLAIN)),
        _pre("legend", legend_lines(plan, PLAIN)),
        _pre("sets", set_lines(plan.actions)),
    ]
    if plan.actions:
        parts.append(
            '<div class="plan-tools"><label>Show <select id="plan-filter"></select></label> '
            '<button type="button" id="plan-prev">Previous</button> <span id="plan-range"></span> '
            '<button type="button" id="plan-next">Next</button></div><div id="plan-list"></div>'
        )
    parts.append(_pre("closing", closing_lines(plan, summary, PLAIN)))
    if blocked:
        parts.append(_pre("blocked-message", blocked.splitlines()))
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def legend_words() -> dict[str, str]:
    """Action type -> its legend in the text plan (for the timeline's details)."""
    return {t.value: LEGEND[t] for t in ActionType}
