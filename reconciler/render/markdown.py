"""Pure: render a `Plan` as Markdown for pull-request comments (contract §2.3).

GitHub refuses comments longer than 65,536 characters, so the output is budgeted by construction. The header
(summary table, money, calls, plan digest, state lineage and serial, git commit), the blocked list (capped) and the
drift list (capped) come first; each manifest file's changes then take one of three forms:

1. full: one folded `<details>` per manifest file holding the text renderer's blocks;
2. one line per address, still folded per file;
3. compact: per action type, every changing address, with runs of numbered names written as brace ranges
   (`shop_coupon.d11-{0001..2500}`, expanded by `expand_names`).

Each file is folded in its own `<details>`; all start compact, then the files whose upgrade is smallest are shown
one line per address, then in full, as long as the budget allows. So a small plan is shown in full, and a huge one
still names every changing address.

Only if even all-compact does not fit (thousands of unrelated names that no range can fold) is the compact list cut
at the budget, saying how many addresses were left out and how to see them all (`couponctl show PLAN_FILE`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

from reconciler.plan.model import Action, ActionType, Plan
from reconciler.plan.planfile import plan_digest
from reconciler.render.blocks import SYMBOL, Paint, render_action, render_drift_section
from reconciler.render.policy_section import markdown_section
from reconciler.render.summary import (
    also_line,
    calls_line,
    contributors_line,
    exposure_line,
    left_alone_line,
    summarize,
    summary_line,
)
from reconciler.render.text import REMOVED_GROUP, group_by_file, partial_notice, set_lines
from reconciler.resources import ADDRESS_PREFIX, KINDS
from reconciler.upstream_facts import DEFAULT_RATE_LIMITS

GITHUB_COMMENT_LIMIT = 65_536
DEFAULT_BUDGET = 60_000  # leaves room for a bot's own header/footer around our text
MAX_BLOCKED_DETAILED = 20
DRIFT_SHARE = 0.2  # at most this share of the budget goes to the drift section
POLICY_SHARE = 0.25  # at most this share of the budget goes to the policy table
OPEN_LIMIT = 2_500  # a file section up to this many characters is shown unfolded

TYPE_TITLE: dict[ActionType, str] = {
    ActionType.CREATE: "create",
    ActionType.UPDATE: "update",
    ActionType.REPLACE: "replace",
    ActionType.DEACTIVATE: "deactivate / void",
    ActionType.TRANSITION: "status transition",
    ActionType.FORGET: "forget",
    ActionType.BLOCKED: "blocked",
    ActionType.DEFERRED: "deferred",
    ActionType.NOT_APPLIED: "not applied",
}


# --------------------------------------------------------------------------------------------------- name ranges

_NUMBERED = re.compile(r"^(.*?)(\d+)(\D*)$")
_RANGE_TOKEN = re.compile(r"^(.*)\{([0-9.,]+)\}(.*)$")


def compress_names(names: Sequence[str]) -> list[str]:
    """Names with runs of numbers folded into brace ranges: a-01, a-02, a-03, a-07 -> `a-{01..03,07}`."""
    groups: dict[tuple[str, int, str], list[int]] = {}
    literal: list[str] = []
    for name in names:
        match = _NUMBERED.match(name)
        if match is None or "{" in name or "}" in name:
            literal.append(name)
            continue
        head, digits, tail = match.groups()
        groups.setdefault((head, len(digits), tail), []).append(int(digits))
    tokens = list(literal)
    for (head, width, tail), found in groups.items():
        numbers = sorted(set(found))
        if len(numbers) == 1:
            tokens.append(f"{head}{numbers[0]:0{width}d}{tail}")
            continue
        parts: list[str] = []
        start = prev = numbers[0]
        for n in [*numbers[1:], None]:
            if n is not None and n == prev + 1:
                prev = n
                continue
            parts.append(f"{start:0{width}d}" if start == prev else f"{start:0{width}d}..{prev:0{width}d}")
            if n is not None:
                start = prev = n
        tokens.append(f"{head}{{{','.join(parts)}}}{tail}")
    return sorted(tokens)


def expand_names(token: str) -> list[str]:
    """The inverse of `compress_names` for one token (shell-like brace ranges keeping zero padding)."""
    match = _RANGE_TOKEN.match(token)
    if match is None:
        return [token]
    head, body, tail = match.groups()
    names = []
    for part in body.split(","):
        low, _, high = part.partition("..")
        width = len(low)
        for n in range(int(low), int(high or low) + 1):
            names.append(f"{head}{n:0{width}d}{tail}")
    return names


# --------------------------------------------------------------------------------------------------- pieces


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _code(text: str) -> str:
    return f"<code>{html.escape(text)}</code>"


def _counts(actions: Sequence[Action]) -> str:
    bits = []
    for t in ActionType:
        n = sum(1 for a in actions if a.type is t)
        if n:
            bits.append(f"{SYMBOL[t]}{n}")
    return " ".join(bits)


def _short(digest: str) -> str:
    return digest[:12]


def _header(plan: Plan, rate_limits: Mapping[str, float]) -> str:
    summary = summarize(plan, rate_limits)
    environment = f" for environment `{plan.environment}`" if plan.environment else ""  # decision D26
    lines = [f"### couponctl plan{environment}: {summary_line(summary)}", ""]
    notice = partial_notice(plan)
    if notice:
        lines += [f"> [!WARNING]\n> **{notice}**", ""]
    blocked = f"{summary.blocked} blocked action{'s' if summary.blocked != 1 else ''}"
    if not plan.applyable:
        lines += [f"> [!CAUTION]\n> **This plan cannot be applied**: {blocked} (see below).", ""]
    elif summary.blocked:
        lines += [
            f"> [!WARNING]\n> **Made with `--skip-blocked`**: apply skips {blocked} (see below), applies everything "
            "else, then exits 1 naming them.",
            "",
        ]
    lines += [
        "| add | change | replace | deactivate | forget | blocked | deferred | not applied | unchanged |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary.add} | {summary.change} | {summary.replace} | {summary.deactivate} | {summary.forget} "
        f"| {summary.blocked} | {summary.deferred} | {summary.not_applied} | {summary.unchanged} |",
        "",
    ]
    for line in (
        also_line(summary),
        exposure_line(summary),
        contributors_line(summary),
        calls_line(summary),
        left_alone_line(summary),
    ):
        if line:
            lines.append(f"- {line}")
    if not plan.refreshed:
        lines.append("- Upstream was not re-read (`--no-refresh`): compared with the last-known state.")
    lines += [
        "",
        f"Plan digest `{_short(plan_digest(plan))}` · state lineage `{plan.lineage}` serial {plan.serial} · "
        f"git commit `{plan.git_commit or 'unknown'}` · manifests `{_short(plan.manifest_digest)}` · "
        f"made {plan.created_at}, expires {plan.expires_at} · couponctl {plan.tool_version}",
        "",
    ]
    return "\n".join(lines)


def _warnings(plan: Plan, budget: int) -> str:
    if not plan.warnings:
        return ""
    lines = [f"<details><summary>{len(plan.warnings)} warning(s)</summary>", ""]
    used = 0
    for i, warning in enumerate(plan.warnings):
        line = f"- {html.escape(warning)}"
        if used + len(line) > budget:
            lines.append(f"- … and {len(plan.warnings) - i} more")
            break
        lines.append(line)
        used += len(line) + 1
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _blocked(plan: Plan) -> str:
    blocked = [a for a in plan.actions if a.type is ActionType.BLOCKED]
    if not blocked:
        return ""
    title = "skipped by `--skip-blocked`, fix them later" if plan.skip_blocked else "fix these before applying"
    lines = [f"#### Blocked: {title}", ""]
    for action in blocked[:MAX_BLOCKED_DETAILED]:
        lines.append(f"- `{action.address}`: {html.escape(action.reason or '')}")
        if action.remedy:
            lines.append(f"  - **Remedy:** {html.escape(action.remedy)}")
    if len(blocked) > MAX_BLOCKED_DETAILED:
        lines.append(f"- … and {len(blocked) - MAX_BLOCKED_DETAILED} more blocked (all are listed under Changes).")
    lines.append("")
    return "\n".join(lines)


def _drift(plan: Plan, budget: int) -> str:
    if not plan.drift:
        return ""
    text = "\n".join(render_drift_section(plan.drift, Paint(False))).rstrip()
    full = (
        f"#### Drift ({len(plan.drift)})\n\n<details><summary>Changed upstream outside couponctl: "
        f"{len(plan.drift)} coupon(s)</summary>\n\n{_fence(text)}\n\n</details>\n"
    )
    if len(full) <= budget:
        return full
    names = ", ".join(f"`{t}`" for t in _compress_addresses([d.address for d in plan.drift]))
    compact = f"#### Drift ({len(plan.drift)})\n\nChanged upstream outside couponctl: {names}\n"
    if len(compact) <= budget:
        return compact
    return f"#### Drift ({len(plan.drift)})\n\n{len(plan.drift)} coupons changed upstream; run `couponctl drift`.\n"


def _compress_addresses(addresses: Sequence[str]) -> list[str]:
    tokens: list[str] = []
    for kind in KINDS:
        prefix = ADDRESS_PREFIX[kind] + "."
        names = [a[len(prefix) :] for a in addresses if a.startswith(prefix)]
        tokens += [prefix + t for t in compress_names(names)]
    return tokens


# --------------------------------------------------------------------------------------------------- changes


FULL, ONE_LINE, COMPACT = 0, 1, 2
_LEVEL_NOTE = {FULL: "", ONE_LINE: " (one line per address)", COMPACT: " (compact list)"}


def _one_liner(action: Action) -> str:
    text = f"- `{action.address}` {SYMBOL[action.type]} {TYPE_TITLE[action.type]}"
    if action.moved_from:
        text += f" (moved from `{action.moved_from}`)"
    if action.type in (ActionType.BLOCKED, ActionType.DEFERRED) and action.reason:
        text += f": {html.escape(action.reason)}"
    return text


def _compact_rows(actions: Sequence[Action]) -> list[tuple[str, list[str]]]:
    rows = []
    for t in ActionType:
        addresses = [a.address for a in actions if a.type is t]
        if addresses:
            rows.append((f"- **{SYMBOL[t]} {TYPE_TITLE[t]}** ({len(addresses)}): ", _compress_addresses(addresses)))
    return rows


def _file_section(file: str, actions: Sequence[Action], level: int) -> str:
    """One folded `<details>` for the actions of one manifest file, at a level of detail."""
    if level == FULL:
        paint = Paint(False)
        content = _fence("\n\n".join("\n".join(render_action(a, paint)) for a in actions))
    elif level == ONE_LINE:
        content = "\n".join(_one_liner(a) for a in actions)
    else:
        content = "\n".join(lead + ", ".join(f"`{t}`" for t in tokens) for lead, tokens in _compact_rows(actions))
    content = "".join(f"{html.escape(line)}  \n" for line in set_lines(actions)) + content
    opened = " open" if len(content) <= OPEN_LIMIT else ""  # short sections stay unfolded, long ones fold
    return (
        f"<details{opened}><summary>{_code(file) if file != REMOVED_GROUP else 'Removed from the manifests'}: "
        f"{len(actions)} address(es) {html.escape(_counts(actions))}"
        f"{_LEVEL_NOTE[level]}</summary>\n\n{content}\n\n</details>\n"
    )


_CHANGES_TITLE = "#### Changes\n"
_SHORTENED = (
    "Some files are shortened to fit the comment (numbered runs of names as `{first..last}` ranges); "
    "`couponctl show PLAN_FILE` has every detail.\n"
)


def _changes(plan: Plan, room: int) -> str | None:
    """Every file folded at the most detailed level that fits `room`: all files start compact, then the smallest
    upgrades are taken first (one line per address, then full blocks). None when even all-compact does not fit."""
    groups = group_by_file(plan.actions)
    levels = [COMPACT] * len(groups)
    sections = [_file_section(file, actions, COMPACT) for file, actions in groups]
    fixed = len(_CHANGES_TITLE) + len(_SHORTENED) + 2
    total = fixed + sum(len(s) + 1 for s in sections)
    if total > room:
        return None
    for level in (ONE_LINE, FULL):
        upgrades = [(i, _file_section(file, actions, level)) for i, (file, actions) in enumerate(groups)]
        for i, text in sorted(upgrades, key=lambda u: len(u[1])):
            delta = len(text) - len(sections[i])
            if total + delta <= room:
                sections[i] = text
                levels[i] = level
                total += delta
    note = _SHORTENED if any(level != FULL for level in levels) else ""
    return "\n".join([_CHANGES_TITLE, *([note] if note else []), *sections])


def _compact_lines(plan: Plan) -> list[tuple[str, list[str]]]:
    return _compact_rows(plan.actions)


_COMPACT_TITLE = "#### Changes (compact: every address, numbered runs as `{first..last}` ranges)\n\n"


def _changes_truncated(plan: Plan, budget: int) -> str:
    out = _COMPACT_TITLE
    total_tokens = sum(len(tokens) for _, tokens in _compact_lines(plan))
    shown = 0
    reserve = 200  # room for the closing note
    for lead, tokens in _compact_lines(plan):
        if len(out) + len(lead) + reserve > budget:
            break
        out += lead
        first = True
        for token in tokens:
            piece = ("" if first else ", ") + f"`{token}`"
            if len(out) + len(piece) + reserve > budget:
                break
            out += piece
            first = False
            shown += 1
        out += "\n"
    left = total_tokens - shown
    out += (
        f"\n**{left} more address group(s) not shown** (the comment limit is {GITHUB_COMMENT_LIMIT:,} characters); "
        "run `couponctl show PLAN_FILE` for the whole plan.\n"
    )
    return out


def render_markdown(
    plan: Plan,
    *,
    rate_limits: Mapping[str, float] = DEFAULT_RATE_LIMITS,
    budget: int = DEFAULT_BUDGET,
) -> str:
    """The plan as a PR comment, at most `budget` characters (default well under GitHub's 65,536)."""
    # The policy table comes first (issue 18): a denied plan is denied whatever its size.
    sections = [markdown_section(plan, int(budget * POLICY_SHARE)), _header(plan, rate_limits), _blocked(plan)]
    sections.append(_warnings(plan, max(0, (budget - _size(sections)) // 10)))
    sections.append(_drift(plan, int(max(0, budget - _size(sections)) * DRIFT_SHARE)))
    footer = "<sub>Rendered by couponctl; apply exactly this plan with `couponctl apply PLAN_FILE`.</sub>\n"
    room = budget - _size([*sections, footer]) - 2
    if not plan.actions:
        body = summary_line(summarize(plan, rate_limits)) + "\n"
    else:
        body = _changes(plan, room) or _changes_truncated(plan, max(room, 0))
    result = "\n".join(s for s in [*sections, body, footer] if s)
    if len(result) > budget:  # only when the header alone overflows: never post more than the budget
        result = result[: budget - 50] + "\n\n… (truncated to fit the comment limit)\n"
    return result


def _size(sections: Sequence[str]) -> int:
    """Characters of the sections once joined by blank lines."""
    return sum(len(s) + 1 for s in sections if s)
