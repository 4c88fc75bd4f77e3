"""The money section of the report: the value users can claim after this plan, by campaign (manifest folder), by
kind and per day, as inline SVG. Pure.

A coupon's value is `plan.exposure.coupon_exposure` with the plan's order caps (quantity × fixed discount, or
bounded by `max_order_fen` / `[policy] default_max_order_fen`; None when it depends on the order and no cap
applies), counted for the coupons that are claimable once the plan is applied (`CouponRow.claimable`). "Per day" is
the value of the coupons whose claim window is open at some time of that day (+08:00): an upper bound of what could
be claimed that day, like the plan's own money line.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from reconciler.render.report.coupons import DAY, CouponRow
from reconciler.render.summary import fen_to_yuan
from reconciler.render.text import REMOVED_GROUP
from reconciler.times import BEIJING

OFFSET = 8 * 3600  # +08:00: day boundaries are Beijing midnights
MAX_BARS = 200  # longer spans are drawn in buckets of several days (each bar: the peak day of its bucket)


@dataclass(frozen=True, slots=True)
class Exposed:
    label: str
    value_fen: int = 0
    priced: int = 0  # claimable coupons with a value
    unpriced: int = 0  # claimable coupons whose value depends on the order


@dataclass(frozen=True, slots=True)
class Daily:
    """Claimable value per day: `values[i]` is the peak day of the bucket starting `first + i * bucket_days`."""

    first: int  # Unix seconds of the first day's +08:00 midnight
    bucket_days: int
    values: tuple[int, ...]


def campaign_of(group: str) -> str:
    """The campaign of a manifest file: its folder (`manifests/double11-2028`), or the file at the top level."""
    if group == REMOVED_GROUP:
        return group
    folder = posixpath.dirname(group.replace("\\", "/"))
    return folder or group


def _total(label: str, rows: Iterable[CouponRow]) -> Exposed:
    value = priced = unpriced = 0
    for row in rows:
        if row.value_fen is None:
            unpriced += 1
        else:
            value += row.value_fen
            priced += 1
    return Exposed(label, value, priced, unpriced)


def exposure_by(rows: Sequence[CouponRow], key: str) -> list[Exposed]:
    """Claimable rows totalled by `campaign` or `kind`, in the order they first appear."""
    groups: dict[str, list[CouponRow]] = {}
    for row in rows:
        if row.claimable:
            label = campaign_of(row.group) if key == "campaign" else row.kind
            groups.setdefault(label, []).append(row)
    return [_total(label, members) for label, members in groups.items()]


def total(rows: Sequence[CouponRow]) -> Exposed:
    return _total("all", (r for r in rows if r.claimable))


def _day(seconds: int) -> int:
    return (seconds + OFFSET) // DAY


def daily(rows: Sequence[CouponRow]) -> Daily | None:
    """Claimable value per +08:00 day over the span of the claim windows (None when no priced coupon has one)."""
    spans = [
        (_day(r.claim.start), _day(max(r.claim.end - 1, r.claim.start)), r.value_fen)
        for r in rows
        if r.claimable and r.value_fen and r.claim.start is not None and r.claim.end is not None
    ]
    if not spans:
        return None
    first, last = min(s[0] for s in spans), max(s[1] for s in spans)
    change = [0] * (last - first + 2)  # a difference array: each window adds its value to a range of days
    for start, end, value in spans:
        change[start - first] += value
        change[end - first + 1] -= value
    per_day, running = [], 0
    for step in change[:-1]:
        running += step
        per_day.append(running)
    bucket = -(-len(per_day) // MAX_BARS)
    values = tuple(max(per_day[i : i + bucket]) for i in range(0, len(per_day), bucket))
    return Daily(first * DAY - OFFSET, bucket, values)


def _date(seconds: int, fmt: str = "%Y-%m-%d") -> str:
    return datetime.fromtimestamp(seconds, BEIJING).strftime(fmt)


def _coupons_note(e: Exposed) -> str:
    bits = [f"{e.priced} priced"] if e.priced else []
    if e.unpriced:
        bits.append(f"{e.unpriced} order-dependent")
    return ", ".join(bits)


def bars_svg(items: Sequence[Exposed], css_class: str) -> str:
    """A horizontal bar chart: one bar per item, labelled with its value and coupon counts."""
    if not items:
        return '<p class="muted">No claimable coupon.</p>'
    row, label_w, bar_w, text_w = 26, 240, 360, 300
    peak = max((e.value_fen for e in items), default=0) or 1
    width, height = label_w + bar_w + text_w, row * len(items) + 4
    out = [f'<svg class="chart {css_class}" width="{width}" height="{height}" role="img">']
    for i, e in enumerate(items):
        y = 2 + i * row
        w = round(bar_w * e.value_fen / peak, 1)
        text = f"{fen_to_yuan(e.value_fen)} ({_coupons_note(e)})"
        out.append(
            f'<g class="bar-row" data-label="{escape(e.label)}" data-fen="{e.value_fen}">'
            f"<title>{escape(e.label)}: {escape(text)}</title>"
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(_short(e.label, 34))}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="16" rx="2"></rect>'
            f'<text x="{label_w + w + 6}" y="{y + 17}">{escape(text)}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else "…" + text[-(n - 1) :]


def daily_svg(days: Daily | None, now: int) -> str:
    """Vertical bars of claimable value per day, date labels below, the "now" line when now is in the span."""
    if days is None:
        return '<p class="muted">No priced coupon with a claim window.</p>'
    left, top, plot_w, plot_h = 90, 10, 820, 160
    n = len(days.values)
    step = plot_w / n
    peak = max(days.values) or 1
    out = [f'<svg class="chart daily" width="{left + plot_w + 20}" height="{top + plot_h + 40}" role="img">']
    out.append(f'<text x="{left - 6}" y="{top + 10}" text-anchor="end">{fen_to_yuan(peak)}</text>')
    out.append(f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">¥0</text>')
    out.append(f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/>')
    label_every = max(1, round(n / 8))
    for i, value in enumerate(days.values):
        start = days.first + i * days.bucket_days * DAY
        h = round(plot_h * value / peak, 1)
        x = round(left + i * step, 1)
        when = _date(start) if days.bucket_days == 1 else f"{days.bucket_days} days from {_date(start)}"
        out.append(
            f'<rect class="day-bar" data-day="{_date(start)}" data-fen="{value}" x="{x}" y="{top + plot_h - h}" '
            f'width="{max(round(step - 1, 1), 1)}" height="{h}"><title>{when}: {fen_to_yuan(value)}</title></rect>'
        )
        if i % label_every == 0:
            out.append(f'<text x="{x}" y="{top + plot_h + 16}">{_date(start, "%m-%d")}</text>')
    end = days.first + n * days.bucket_days * DAY
    if days.first <= now < end:
        x = round(left + plot_w * (now - days.first) / (end - days.first), 1)
        out.append(f'<line class="now" x1="{x}" y1="{top}" x2="{x}" y2="{top + plot_h}"/>')
        out.append(f'<text class="now" x="{x + 3}" y="{top + 10}">now</text>')
    out.append("</svg>")
    return "".join(out)


def money_section(rows: Sequence[CouponRow], now: int, plan_money_line: str | None) -> str:
    """The whole money section (HTML)."""
    everything = total(rows)
    days = daily(rows)
    per = "per day"
    if days is not None and days.bucket_days > 1:
        per += f" (each bar: the peak day of {days.bucket_days})"
    lines = [
        '<section id="money"><h2>Money</h2>',
        f'<p class="total">Claimable once this plan is applied: <b>{fen_to_yuan(everything.value_fen)}</b> in '
        f"{everything.priced} coupon{'s' if everything.priced != 1 else ''} priced (quantity × fixed discount, or "
        "bounded by an order cap)"
        + (f"; {everything.unpriced} more whose value depends on the order" if everything.unpriced else "")
        + ". An upper bound: every coupon claimed and used.</p>",
        f'<p class="plan-money">This plan: {escape(plan_money_line or "adds or removes no claimable coupon.")}</p>',
        '<div class="charts"><div><h3>By campaign (manifest folder)</h3>',
        bars_svg(exposure_by(rows, "campaign"), "by-campaign"),
        "</div><div><h3>By kind</h3>",
        bars_svg(exposure_by(rows, "kind"), "by-kind"),
        f"</div></div><h3>Claimable value {per}, +08:00</h3>",
        daily_svg(days, now),
        "</section>",
    ]
    return "\n".join(lines)
