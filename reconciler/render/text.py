"""Pure: render a `Plan` as human text, following Terraform's plan conventions (contract §2.3).

A legend of the symbols used, a drift section before the changes, one block per address grouped by manifest file,
`# forces replacement` / `# blocked: ...` notes, unchanged attributes hidden with a count, enum values annotated with
their meaning, fen annotated as yuan, Unix seconds as Beijing time, and the summary lines. Colour (ANSI) only when
the caller asks for it: the renderer never looks at the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from reconciler.plan.model import Action, ActionType, Plan
from reconciler.render.blocks import COLOR, LEGEND, SYMBOL, Paint, render_action, render_drift_section
from reconciler.render.policy_section import text_lines as policy_lines
from reconciler.render.summary import (
    PlanSummary,
    also_line,
    calls_line,
    contributors_line,
    exposure_line,
    left_alone_line,
    summarize,
    summary_line,
)
from reconciler.resources import KINDS
from reconciler.upstream_facts import DEFAULT_RATE_LIMITS

REMOVED_GROUP = "(removed from the manifests)"


def group_by_file(actions: Sequence[Action]) -> list[tuple[str, list[Action]]]:
    """Actions grouped by manifest file (in plan order); actions without a manifest go last."""
    groups: dict[str, list[Action]] = {}
    for action in actions:
        key = action.source.file if action.source else REMOVED_GROUP
        groups.setdefault(key, []).append(action)
    return sorted(groups.items(), key=lambda kv: (kv[0] == REMOVED_GROUP, kv[0]))


_SET_WORDS = {
    ActionType.CREATE: "to add",
    ActionType.UPDATE: "to change",
    ActionType.REPLACE: "to replace",
    ActionType.DEACTIVATE: "to deactivate",
    ActionType.TRANSITION: "to move status",
}


def set_lines(actions: Sequence[Action]) -> list[str]:
    """One line per coupon set among `actions` (decision D27): `set d11-ladder: 3 to add, 1 to change`, so a
    reviewer sees what a set's edit does before the per-coupon blocks. Removed coupons carry no set (their
    document is gone) and are listed with the other removals."""
    counts: dict[str, dict[str, int]] = {}
    for action in actions:
        if action.source is not None and action.source.set_name:
            words = _SET_WORDS.get(action.type, str(action.type.value).replace("_", " "))
            per_set = counts.setdefault(action.source.set_name, {})
            per_set[words] = per_set.get(words, 0) + 1
    return [
        f"set {name}: " + ", ".join(f"{n} {words}" for words, n in per_set.items())
        for name, per_set in sorted(counts.items())
    ]


def partial_notice(plan: Plan) -> str | None:
    if not plan.targets:
        return None
    return (
        f"PARTIAL PLAN: only {', '.join(plan.targets)} (--target). Other coupons were not compared; "
        "this plan may leave state and manifests out of step."
    )


def blocked_message(plan: Plan) -> str | None:
    """The error a CLI prints for a plan with blocked actions: every blocked address, its reason and its remedy.

    For a plan made with --skip-blocked (whose other actions apply applies), it names what was skipped instead."""
    blocked = plan.blocked
    if not blocked:
        return None
    n = f"{len(blocked)} blocked action{'s' if len(blocked) != 1 else ''}"
    if plan.skip_blocked:
        lines = [f"{n} skipped (--skip-blocked); everything else in the plan can be applied:"]
    else:
        lines = [
            f"the plan has {n} and cannot be applied (to apply everything else and keep these for later: "
            "couponctl plan --skip-blocked --out FILE, then couponctl apply FILE):"
        ]
    for action in blocked:
        lines.append(f"  {action.address}: {action.reason}")
        if action.remedy:
            lines.append(f"    remedy: {action.remedy}")
    return "\n".join(lines)


def preamble_lines(plan: Plan, paint: Paint) -> list[str]:
    """What the text plan says before its actions: the environment (when one is selected), the partial-plan
    notice, the no-refresh note, the drift section and the warnings (each block followed by a blank line)."""
    out: list[str] = []
    if plan.environment:  # decision D26: a reviewer always sees which merchant this plan is for
        out += [paint(f"Environment: {plan.environment}", "1"), ""]
    notice = partial_notice(plan)
    if notice:
        out += [paint(f"! {notice}", "1;33"), ""]
    if not plan.refreshed:
        out += ["Note: upstream was not re-read (--no-refresh); the plan compares with the last-known state.", ""]
    out += render_drift_section(plan.drift, paint)
    for warning in plan.warnings:
        out.append(f"Warning: {warning}")
    if plan.warnings:
        out.append("")
    return out


def legend_lines(plan: Plan, paint: Paint) -> list[str]:
    """`couponctl will perform the following actions. Symbols:` and the symbols the plan uses (none without
    actions)."""
    if not plan.actions:
        return []
    used = {a.type for a in plan.actions}
    out = ["couponctl will perform the following actions. Symbols:"]
    width = max(len(SYMBOL[t]) for t in used)
    for t in ActionType:
        if t in used:
            out.append(f"  {paint(SYMBOL[t].rjust(width), COLOR[t])} {LEGEND[t]}")
    return out


def closing_lines(plan: Plan, summary: PlanSummary, paint: Paint) -> list[str]:
    """What the text plan says after its actions: the summary line, the also / money / calls / left-alone lines,
    the unchanged count and what --skip-blocked or a blocked change means for apply."""
    out = [*policy_lines(plan, paint), paint.bold(summary_line(summary))]
    for line in (
        also_line(summary),
        exposure_line(summary),
        contributors_line(summary),
        calls_line(summary),
        left_alone_line(summary),
    ):
        if line:
            out.append(line)
    if summary.unchanged and plan.actions:
        out.append(f"{summary.unchanged} coupon{'s' if summary.unchanged != 1 else ''} unchanged.")
    if summary.blocked and plan.skip_blocked:
        names = ", ".join(a.address for a in plan.blocked)
        out += [
            "",
            paint(
                f"--skip-blocked: apply will skip {summary.blocked} blocked change{'s' if summary.blocked != 1 else ''}"
                f" ({names}), apply everything else, then exit 1 naming {'them' if summary.blocked != 1 else 'it'}.",
                "33",
            ),
        ]
    elif summary.blocked:
        # The CLI reports the error itself (stderr, exit 1, with `blocked_message`); the plan only points at it.
        out += [
            "",
            paint(
                f"This plan cannot be applied: {summary.blocked} blocked change{'s' if summary.blocked != 1 else ''} "
                "(marked ! above, each with its remedy).",
                "31",
            ),
        ]
    return out


def ordered_actions(actions: Sequence[Action]) -> list[tuple[str, list[Action]]]:
    """The actions as the text plan lists them: by manifest file (see `group_by_file`), then kind, then address."""
    kinds_order = {k: i for i, k in enumerate(KINDS)}
    return [
        (file, sorted(group, key=lambda a: (kinds_order[a.kind], a.address))) for file, group in group_by_file(actions)
    ]


def render_text(
    plan: Plan,
    *,
    color: bool = False,
    rate_limits: Mapping[str, float] = DEFAULT_RATE_LIMITS,
    summary: PlanSummary | None = None,
) -> str:
    """The whole plan as text (ends with a newline)."""
    return "".join(text_chunks(plan, color=color, rate_limits=rate_limits, summary=summary))


def text_chunks(
    plan: Plan,
    *,
    color: bool = False,
    rate_limits: Mapping[str, float] = DEFAULT_RATE_LIMITS,
    summary: PlanSummary | None = None,
) -> Iterator[str]:
    """`render_text` in pieces (one per action, each ending with a newline), so a plan of 100,000 creates can be
    written as it is rendered instead of being held whole as text (issue 20: 10,000 creates are ~20 MB of text)."""
    paint = Paint(color)
    summary = summary or summarize(plan, rate_limits)
    out = preamble_lines(plan, paint)
    if plan.actions:
        out += [*legend_lines(plan, paint), ""]
        for file, actions in ordered_actions(plan.actions):
            out.append(paint.bold(f"{file}:"))
            out += [f"  {line}" for line in set_lines(actions)]
            out.append("")
            for action in actions:
                out += render_action(action, paint)
                out.append("")
                yield "\n".join(out) + "\n"
                out = []
    out += closing_lines(plan, summary, paint)  # never empty: the summary line
    yield "\n".join(out) + "\n"
