"""The report as one self-contained HTML page: inline CSS, script and SVG, and the data the script draws
(zlib-compressed JSON in base64). A Content-Security-Policy forbids every request, so the page works, and can only
work, offline: from a CI artifact or a local file. Pure: data in, one string out."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Sequence
from html import escape
from typing import Any

from reconciler.plan.model import ActionType
from reconciler.render.blocks import SYMBOL
from reconciler.render.report.coupons import STATUS_CLASS, CouponRow, coupon_rows
from reconciler.render.report.health import health_section, short_commit
from reconciler.render.report.model import ReportData
from reconciler.render.report.money import money_section
from reconciler.render.report.plan_section import legend_words, plan_entries, plan_section
from reconciler.render.report.script import JS
from reconciler.render.report.style import CSS
from reconciler.render.summary import exposure_line, summarize, summary_line
from reconciler.times import beijing, parse_time

# The columns of each coupon in the page's data (the script reads them by name).
FIELDS = (
    "address", "group", "kind", "status", "action", "claim_start", "claim_end", "valid_start", "valid_end",
    "valid_note", "relative", "name", "type", "quantity", "value_fen", "upstream_id", "line", "set",
)  # fmt: skip
PLAN_CHUNK = 100  # plan blocks per compressed chunk (the plan list shows this many per page)
CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"


class _Table:
    """Repeated strings (files, statuses, types, notes and set names) stored once; coupons refer to them by index."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, value: str | None) -> int | None:
        if value is None:
            return None
        if value not in self._index:
            self._index[value] = len(self.values)
            self.values.append(value)
        return self._index[value]


def _coupon(r: CouponRow, groups: _Table, statuses: _Table, types: _Table, notes: _Table) -> list[Any]:
    """One coupon's columns, in the order of FIELDS."""
    # fmt: off
    return [
        r.address, groups(r.group_label), r.kind, statuses(r.status), r.action.value if r.action else None,
        r.claim.start, r.claim.end, r.valid.start, r.valid.end, notes(r.valid.note or None),
        1 if r.valid.relative else 0, r.name, types(r.type_text), r.quantity, r.value_fen, r.upstream_id, r.line,
        notes(r.set_name),
    ]
    # fmt: on


def _payload(data: ReportData, rows: Sequence[CouponRow]) -> dict[str, Any]:
    groups, statuses, types, notes = _Table(), _Table(), _Table(), _Table()
    entries = plan_entries(data.plan)
    coupons = [_coupon(r, groups, statuses, types, notes) for r in rows]
    file_of = {r.group_label: r.group for r in rows}
    return {
        "now": int(data.now.timestamp()),
        "fields": FIELDS,
        "coupons": coupons,
        "groups": groups.values,
        "group_files": [file_of[label] for label in groups.values],
        "statuses": statuses.values,
        "status_classes": [STATUS_CLASS.get(s, "pending") for s in statuses.values],
        "types": types.values,
        "notes": notes.values,
        "symbols": {t.value: SYMBOL[t] for t in ActionType},
        "legend": legend_words(),
        "action_types": [t.value for t in ActionType],
        "actions": [[e.address, e.type.value, e.group] for e in entries],
        # The blocks' text is most of the data (a cold plan of 10,000 coupons: ~17 MB): packed in chunks of
        # PLAN_CHUNK, each inflated only when a page of the plan list needs it, so the page is ready fast.
        "plan_chunk": PLAN_CHUNK,
        "plan_chunks": [
            encode([e.text for e in entries[i : i + PLAN_CHUNK]]) for i in range(0, len(entries), PLAN_CHUNK)
        ],
    }


def encode(payload: Any) -> str:
    """The data as base64 of zlib-compressed JSON (the script inflates it with the browser's DecompressionStream)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def _when(iso: str) -> str:
    moment = parse_time(iso.replace("Z", "+00:00"))
    return beijing(moment) if moment else iso


def _header(data: ReportData, rows: Sequence[CouponRow], summary_text: str) -> str:
    plan = data.plan
    files = len({r.group for r in rows})
    bits = [
        f"Generated {escape(beijing(data.now))}",
        f"plan made {escape(_when(plan.created_at))} against state serial {plan.serial}",
        f"commit {escape(short_commit(plan.git_commit))}" if plan.git_commit else "no git commit",
        "upstream re-read for this plan" if plan.refreshed else "upstream not re-read (--no-refresh)",
    ]
    notes = "".join(f"<li>{escape(n)}</li>" for n in data.notes)
    return (
        f"<header><h1>{escape(data.title)}</h1>"
        f'<p class="meta">{" · ".join(bits)}</p>'
        f'<p class="meta">{len(rows)} coupon{"s" if len(rows) != 1 else ""} in {files} manifest '
        f"file{'s' if files != 1 else ''}</p>"
        f'<p class="summary">{escape(summary_text)}</p>'
        + (f'<ul class="notes">{notes}</ul>' if notes else "")
        + '<nav><a href="#timeline">Timeline</a><a href="#money">Money</a><a href="#plan">This plan</a>'
        '<a href="#health">Health</a></nav><p id="report-error"></p></header>'
    )


TIMELINE = """<section id="timeline"><h2>Campaign timeline</h2>
<div class="tl-legend"><span><span class="sw live"></span>claim window</span>
<span><span class="sw live" style="opacity:.45"></span>validity (fixed)</span>
<span><span class="sw live" style="opacity:.6;background-image:repeating-linear-gradient(135deg,#fff 0 3px,transparent 3px 6px)"></span>validity after claim</span>
<span><span class="sw live"></span>live</span><span><span class="sw pending"></span>draft / under review</span>
<span><span class="sw new"></span>not created yet</span><span><span class="sw over"></span>expired / voided / deactivated</span>
<span><span class="sw" style="border-left:2px solid var(--now)"></span>now</span></div>
<div class="tl-tools"><input id="tl-filter" type="search" placeholder="filter: address, name or manifest file">
<span id="tl-count" class="muted"></span><span class="muted">Hover a coupon for its key fields; click to pin.</span></div>
<div id="tl-head"><div class="tl-label">coupon (by manifest file) · times +08:00</div>
<div class="tl-track" id="tl-axis"></div></div>
<div id="tl-viewport"><div id="tl-inner"><div id="tl-rows"></div><div id="tl-now"></div></div></div>
<div id="tl-detail" class="detail"><span class="muted">No coupon selected.</span></div>
</section>"""  # noqa: E501 (one legend swatch per line reads better than split attributes)


def render_report(data: ReportData) -> str:
    """The whole page."""
    rows = coupon_rows(data.plan, data.desired, data.state, manifests_loaded=data.manifests_loaded)
    summary = summarize(data.plan, data.rate_limits)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(data.title)}</title><style>{CSS}</style></head><body>",
            _header(data, rows, summary_line(summary)),
            TIMELINE,
            money_section(rows, int(data.now.timestamp()), exposure_line(summary)),
            plan_section(data.plan, summary),
            health_section(data.runs, data.drift),
            f'<script id="report-data" type="application/octet-stream">{encode(_payload(data, rows))}</script>',
            f"<script>{JS}</script>",
            "</body></html>",
        ]
    )
