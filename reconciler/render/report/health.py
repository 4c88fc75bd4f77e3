"""The health section of the report: the drift results known (in the words of the text plan's drift section) and
the latest runs from history with who ran them, the commit and the calls made. Times in +08:00. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from reconciler.render.blocks import Paint, render_drift_section
from reconciler.render.report.model import DriftResult, RunRow
from reconciler.times import beijing

RUNS_SHOWN = 15


def shown_time(iso: str | None) -> str:
    """An ISO-8601 UTC timestamp (as plans, state and history keep them) in +08:00; `-` when unknown."""
    if not iso:
        return "-"
    try:
        return beijing(datetime.fromisoformat(iso))
    except ValueError:
        return iso


def short_commit(commit: str | None) -> str:
    if not commit:
        return "-"
    sha, dirty, _ = commit.partition("-dirty")
    return sha[:12] + ("-dirty" if dirty else "")


def _drift_block(result: DriftResult) -> str:
    head = escape(result.source)
    if result.at:
        head += f", {escape(shown_time(result.at))}"
    if result.checked is not None:
        head += f", {result.checked} coupon{'s' if result.checked != 1 else ''} checked"
    parts = [f'<div class="drift-result {"drifted" if result.drifted else "in-sync"}"><h3>{head}</h3>']
    if result.items:
        lines = render_drift_section(result.items, Paint(False))
        parts.append(f"<pre>{escape(chr(10).join(lines).rstrip())}</pre>")
    if result.accepted:
        accepted = ", ".join(result.accepted)
        parts.append(f"<p>Accepted into state (upstream's values kept): {escape(accepted)}</p>")
    if not result.drifted:
        parts.append("<p>No drift.</p>")
    parts.append("</div>")
    return "".join(parts)


def _runs_table(runs: Sequence[RunRow]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("Run", "Started (+08:00)", "Who", "Command", "Commit", "Outcome", "Calls"))
    body = []
    for r in runs[:RUNS_SHOWN]:
        cells = (
            str(r.run_id),
            shown_time(r.started_at),
            r.actor,
            r.command,
            short_commit(r.git_commit),
            r.outcome or "unfinished",
            str(r.calls),
        )
        css = "apply" if r.command == "apply" else "other"
        body.append(f'<tr class="{css}">' + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return f'<table class="runs"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def last_apply_line(runs: Sequence[RunRow]) -> str:
    applies = [r for r in runs if r.command == "apply"]
    if not applies:
        return "No apply in history yet."
    r = applies[0]
    calls = f"{r.calls} call{'s' if r.calls != 1 else ''}"
    return (
        f"Last apply: run {r.run_id} by {r.actor}, {shown_time(r.started_at)}, commit {short_commit(r.git_commit)}, "
        f"{calls}, {r.outcome or 'unfinished'}."
    )


def health_section(runs: Sequence[RunRow], drift: Sequence[DriftResult]) -> str:
    parts = ['<section id="health"><h2>Health</h2><h3 class="sub">Drift</h3>']
    if drift:
        parts.extend(_drift_block(d) for d in drift)
    else:
        parts.append(
            '<p class="muted">No drift result known: upstream was not re-read for this plan and history has no '
            "refresh. <code>couponctl drift --format json &gt; drift.json</code>, then <code>couponctl report "
            "--drift drift.json</code>, shows the last one.</p>"
        )
    parts.append(f'<h3 class="sub">History</h3><p class="last-apply">{escape(last_apply_line(runs))}</p>')
    if runs:
        parts.append(_runs_table(runs))
    parts.append("</section>")
    return "\n".join(parts)
