"""What a plan amounts to (contract §2.3): action counts, money exposure, upstream calls and an ETA. Pure.

Money exposure is the face value of coupons that become claimable (added) or stop being claimable (removed) through
this plan, counted at most once per coupon, in fen:

- ShopCoupon with a fixed-amount type (2, 4, 102, 104; reference A.5): `receive_info.total_num × discount_fee`.
  Added when the plan activates it (`update_status(2)`), removed when the plan moves an active coupon to 3 or 4.
- ProductCoupon of type NORMAL used once (usage_mode SINGLE): `stock.stock_send_rule.max_count × discount_amount`
  (`single_usage_info.normal_coupon` for scope ALL, `stock.single_usage_rule.normal_coupon` for SINGLE; reference
  B.2, B.4). Added by create / replace, removed by deactivate / replace (the old coupon's stock recorded in state).
- Everything else (discount percentages, trade-in, buy-get, EXCHANGE, bundles) depends on the order value: those
  coupons are priced against an order cap when one is declared (`max_order_fen`) or configured
  (`[policy] default_max_order_fen`), and only counted otherwise (the math lives in `reconciler.plan.exposure`).

It is an upper bound (every coupon claimed and used); coupons already claimed stay valid after a void or deactivate
(reference A.4.2, B.8), so "removed" is what can no longer be claimed.

ETA: each operation has a token bucket at its rate: the configured `[apply] rate_limits`, passed in by the caller,
defaulting to the documented limits (upstream_facts.DEFAULT_RATE_LIMITS; reference A.10, B.12).
Operations sharing a bucket are paced serially (their calls add up); different buckets run side by side, so the ETA
is the slowest bucket: max over buckets of (calls in the bucket ÷ its rate).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.plan import exposure as exposure_math
from reconciler.plan.exposure_delta import priced_changes
from reconciler.plan.model import Action, ActionType, Plan
from reconciler.upstream_facts import DEFAULT_RATE_LIMITS, FALLBACK_RATE


@dataclass(frozen=True, slots=True)
class Exposure:
    """Money the plan makes claimable (added) or stops (removed), in fen, plus coupons that cannot be priced."""

    added_fen: int = 0
    removed_fen: int = 0
    added_coupons: int = 0  # priced coupons added (count of addresses)
    removed_coupons: int = 0
    added_unpriced: int = 0  # coupons whose value depends on the order (discount percentages, trade-in, ...)
    removed_unpriced: int = 0
    added_capped: int = 0  # of the priced coupons added, those bounded by a declared or configured order cap
    removed_capped: int = 0
    top: tuple[Contributor, ...] = ()  # the biggest additions, largest first


@dataclass(frozen=True, slots=True)
class Contributor:
    """One coupon's share of the money a plan adds, and what bounds the figure."""

    address: str
    fen: int
    basis: str  # "face value" | "declared cap" | "configured cap"


@dataclass(frozen=True, slots=True)
class PlanSummary:
    add: int
    change: int  # updates and status transitions
    replace: int
    deactivate: int
    transition: int  # included in `change`
    forget: int
    blocked: int
    deferred: int
    not_applied: int
    unchanged: int
    calls: Mapping[str, int] = field(default_factory=dict)  # operation -> number of calls
    eta_seconds: float = 0.0
    exposure: Exposure = field(default_factory=Exposure)
    configured_rates: bool = False  # the ETA used `[apply] rate_limits` that differ from the documented ones
    left_alone: int = 0  # coupons in state outside the given paths (`plan PATH`): not compared, never removed
    narrowed: bool = False  # the plan was narrowed to paths (`plan PATH`)
    skip_blocked: bool = False  # made with --skip-blocked: apply skips the blocked actions and applies the rest

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def cannot_apply_now(self) -> int:
        """Differences no call of this plan resolves: deferred (under review) and not applied (stock fields)."""
        return self.deferred + self.not_applied


def fen_to_yuan(fen: int) -> str:
    """2000 -> `¥20.00`; 1234567 -> `¥12,345.67` (integer arithmetic, no float rounding)."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def coupon_exposure(kind: str, body: Mapping[str, Any] | None) -> int | None:
    """The face value in fen of all coupons of one body, or None when it depends on the order (no cap applied)."""
    return exposure_math.coupon_exposure(kind, body).fen


def _action_exposure(
    action: Action, meta: Mapping[str, Any]
) -> tuple[exposure_math.CouponExposure, exposure_math.CouponExposure, bool, bool]:
    """(added, removed, adds something, removes something) for one action, priced with the plan's order caps (a
    quantity change adds or removes the difference: plan/exposure_delta.py)."""
    added, removed = priced_changes(action, exposure_math.cap_for(meta, action.address))
    none = exposure_math.CouponExposure(None)
    return added or none, removed or none, added is not None, removed is not None


TOP_CONTRIBUTORS = 5


def eta_seconds(
    calls: Mapping[str, int], rate_limits: Mapping[str, float], buckets: Mapping[str, str] | None = None
) -> float:
    """Seconds to make `calls` at `rate_limits` (calls/s per bucket); `buckets` maps operation -> bucket name
    (default: one bucket per operation). Shared buckets pace serially; separate buckets run side by side."""
    per_bucket: dict[str, float] = {}
    for operation, count in calls.items():
        bucket = (buckets or {}).get(operation, operation)
        rate = rate_limits.get(bucket, rate_limits.get(operation, FALLBACK_RATE))
        per_bucket[bucket] = per_bucket.get(bucket, 0.0) + count / max(rate, 1e-9)
    return max(per_bucket.values(), default=0.0)


def summarize(
    plan: Plan, rate_limits: Mapping[str, float] = DEFAULT_RATE_LIMITS, buckets: Mapping[str, str] | None = None
) -> PlanSummary:
    """Counts, calls per operation, ETA and money exposure of a plan."""
    types = Counter(a.type for a in plan.actions)
    calls: Counter[str] = Counter(c.operation for a in plan.actions for c in a.calls)
    added = removed = added_n = removed_n = added_unpriced = removed_unpriced = added_capped = removed_capped = 0
    contributors: list[Contributor] = []
    for action in plan.actions:
        plus, minus, adds, removes = _action_exposure(action, plan.meta)
        if adds:
            if plus.fen is None:
                added_unpriced += 1
            else:
                added += plus.fen
                added_n += 1
                added_capped += plus.basis != "face value"
                contributors.append(Contributor(action.address, plus.fen, plus.basis or "face value"))
        if removes:
            if minus.fen is None:
                removed_unpriced += 1
            else:
                removed += minus.fen
                removed_n += 1
                removed_capped += minus.basis != "face value"
    contributors.sort(key=lambda c: (-c.fen, c.address))
    return PlanSummary(
        add=types[ActionType.CREATE],
        change=types[ActionType.UPDATE] + types[ActionType.TRANSITION],
        replace=types[ActionType.REPLACE],
        deactivate=types[ActionType.DEACTIVATE],
        transition=types[ActionType.TRANSITION],
        forget=types[ActionType.FORGET],
        blocked=types[ActionType.BLOCKED],
        deferred=types[ActionType.DEFERRED],
        not_applied=types[ActionType.NOT_APPLIED],
        unchanged=plan.unchanged,
        left_alone=plan.left_alone,
        narrowed=bool(plan.paths),
        skip_blocked=plan.skip_blocked,
        calls=dict(sorted(calls.items())),
        eta_seconds=eta_seconds(calls, rate_limits, buckets),
        configured_rates=any(rate_limits.get(op) != rate for op, rate in DEFAULT_RATE_LIMITS.items())
        or any(op not in DEFAULT_RATE_LIMITS for op in rate_limits),
        exposure=Exposure(
            added_fen=added,
            removed_fen=removed,
            added_coupons=added_n,
            removed_coupons=removed_n,
            added_unpriced=added_unpriced,
            removed_unpriced=removed_unpriced,
            added_capped=added_capped,
            removed_capped=removed_capped,
            top=tuple(contributors[:TOP_CONTRIBUTORS]),
        ),
    )


# --------------------------------------------------------------------------------------------------- sentences


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(summary: PlanSummary) -> str:
    """`Plan: N to add, N to change, N to replace, N to deactivate.`; `No calls to make; N differences cannot be
    applied now: ...` when only deferred / not-applied differences remain; `No changes. Coupons match the
    manifests.` only when nothing differs at all (issue 14: a difference apply cannot make is not "no change")."""
    acting = summary.add + summary.change + summary.replace + summary.deactivate + summary.forget + summary.blocked
    if acting == 0 and summary.cannot_apply_now == 0:
        where = " in the given paths" if summary.narrowed else ""
        return f"No changes. Coupons match the manifests{where}."
    if acting == 0:
        counts = ((summary.deferred, "deferred"), (summary.not_applied, "not applied"))
        which = ", ".join(f"{n} {word}" for n, word in counts if n)
        return f"No calls to make; {_plural(summary.cannot_apply_now, 'difference')} cannot be applied now: {which}."
    return (
        f"Plan: {summary.add} to add, {summary.change} to change, {summary.replace} to replace, "
        f"{summary.deactivate} to deactivate."
    )


def also_line(summary: PlanSummary) -> str | None:
    """The outcomes the Terraform-style line does not count, or None."""
    bits = []
    if summary.transition:
        bits.append(f"{_plural(summary.transition, 'status transition')} (counted as changes)")
    if summary.forget:
        bits.append(f"{summary.forget} to forget (dropped from state, no call)")
    if summary.deferred:
        bits.append(f"{summary.deferred} deferred (waiting for review)")
    if summary.not_applied:
        bits.append(f"{summary.not_applied} not applied (stock changes)")
    if summary.blocked:
        bits.append(f"{summary.blocked} blocked" + (" (skipped: --skip-blocked)" if summary.skip_blocked else ""))
    return ("Also: " + "; ".join(bits) + ".") if bits else None


def left_alone_line(summary: PlanSummary) -> str | None:
    """`12 coupons outside the given paths left alone ...` for a plan narrowed to paths, or None."""
    if not summary.left_alone:
        return None
    n = summary.left_alone
    return (
        f"{_plural(n, 'coupon')} outside the given paths left alone (declared elsewhere, or with no recorded "
        f"source): not compared, never removed by this plan."
    )


def exposure_line(summary: PlanSummary) -> str | None:
    """The money the plan adds or removes, or None when it touches no claimable coupon."""
    e = summary.exposure
    parts = []
    # Only priced coupons have an amount: "at most ¥0.00" for coupons that cannot be priced would read as "free".
    if e.added_coupons:
        text = f"adds at most {fen_to_yuan(e.added_fen)} of claimable coupons ({_plural(e.added_coupons, 'coupon')}"
        if e.added_capped:  # the plan says which figures a cap bounds (issue 18)
            fixed = e.added_coupons - e.added_capped
            text += f": {fixed} priced as quantity × fixed discount, {e.added_capped} bounded by an order cap"
        else:
            text += " priced as quantity × fixed discount"
        if e.added_unpriced:
            text += f"; {e.added_unpriced} more whose value depends on the order"
        parts.append(text + ")")
    elif e.added_unpriced:
        added = _plural(e.added_unpriced, "claimable coupon")
        parts.append(f"adds {added} whose value depends on the order (not priced)")
    if e.removed_coupons:
        text = f"removes at most {fen_to_yuan(e.removed_fen)} not yet claimed ({_plural(e.removed_coupons, 'coupon')}"
        text += " priced"
        if e.removed_capped:
            text += f", {e.removed_capped} by an order cap"
        if e.removed_unpriced:
            text += f"; {e.removed_unpriced} more whose value depends on the order"
        parts.append(text + ")")
    elif e.removed_unpriced:
        parts.append(
            f"removes {_plural(e.removed_unpriced, 'claimable coupon')} whose value depends on the order (not priced)"
        )
    if not parts:
        return None
    return "Money: " + "; ".join(parts) + "."


def contributors_line(summary: PlanSummary) -> str | None:
    """`Biggest: shop_coupon.a ¥20,000.00 (face value), ...` when the plan adds money through several coupons."""
    top = summary.exposure.top
    if len(top) < 2 and not any(c.basis != "face value" for c in top):
        return None
    return "Biggest: " + ", ".join(f"{c.address} {fen_to_yuan(c.fen)} ({c.basis})" for c in top) + "."


def format_duration(seconds: float) -> str:
    """A rough human duration: `under 1 s`, `12 s`, `3 min 5 s`, `1 h 2 min`."""
    if seconds < 1:
        return "under 1 s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def calls_line(summary: PlanSummary) -> str | None:
    """`Calls: 3 upstream calls (shop.add 1, ...); ETA 12 s at the documented rate limits.` ("configured" when
    `[apply] rate_limits` changed any rate)."""
    if not summary.total_calls:
        return None
    per = ", ".join(f"{op} {n}" for op, n in summary.calls.items())
    rates = "configured" if summary.configured_rates else "documented"
    return (
        f"Calls: {_plural(summary.total_calls, 'upstream call')} ({per}); "
        f"ETA {format_duration(summary.eta_seconds)} at the {rates} rate limits."
    )
