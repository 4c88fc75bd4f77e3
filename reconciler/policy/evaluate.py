"""Evaluate a policy on a plan: (plan, desired coupons' facts, overrides, today) -> findings. Pure.

Per-coupon rules read the coupons the plan makes or changes (creates, replacements, updates, transitions): like a
Terraform policy check, a plan is judged by what it does, so a coupon that is already live and untouched never
blocks an unrelated plan. Plan-wide rules (`max_plan_exposure`, `max_deactivations`) read the whole plan.

A finding passes when an override covers it: a command-line `--allow RULE` (every finding of the rule) or an
unexpired `allow:` entry next to the coupon (its own findings; plan-wide findings need the command line).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reconciler.claim_window import claim_window
from reconciler.plan import exposure
from reconciler.plan.exposure_delta import priced_changes
from reconciler.plan.model import Action, ActionType, Plan
from reconciler.policy.model import PLAN_WIDE_KINDS, Allow, CouponFacts, Policy, Rule, Severity, facts_of

# The actions whose desired body per-coupon rules check.
CHECKED_TYPES = frozenset({ActionType.CREATE, ActionType.UPDATE, ActionType.REPLACE, ActionType.TRANSITION})
# The actions a `max_deactivations` rule counts: each stops a claimable coupon for good.
DEACTIVATING_TYPES = frozenset({ActionType.DEACTIVATE, ActionType.REPLACE})


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    kind: str
    severity: Severity
    message: str  # the rule's own message
    detail: str  # what was found, with the figure
    addresses: tuple[str, ...] = ()
    places: tuple[str, ...] = ()  # "file:line" of each address, where known
    figures: Mapping[str, Any] = field(default_factory=dict)
    override: Allow | None = None  # the override that lets it pass

    @property
    def denies(self) -> bool:
        return self.severity == "deny" and self.override is None


@dataclass(frozen=True, slots=True)
class PolicyResult:
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()  # e.g. expired or unused allow entries

    @property
    def denied(self) -> bool:
        return any(f.denies for f in self.findings)


def _in_scope(rule: Rule, action: Action) -> bool:
    if rule.scope.kinds and action.kind not in rule.scope.kinds:
        return False
    if rule.scope.files:
        file = action.manifest_file or (action.source.file if action.source else "")
        return any(fnmatch.fnmatchcase(file, glob) for glob in rule.scope.files)
    return True


def _place(action: Action) -> str:
    return f"{action.source.file}:{action.source.line}" if action.source is not None else action.address


def _coupon_check(rule: Rule, action: Action, meta: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(detail, figures) when the coupon of `action` breaks `rule`, else None."""
    body = action.after or {}
    kind = action.kind
    limit = rule.limit
    if rule.kind == "max_coupon_exposure":
        found = exposure.coupon_exposure(kind, body, exposure.cap_for(meta, action.address))
        if found.fen is None:
            return "its value depends on the order and no order cap applies (declare max_order_fen)", {}
        if found.fen > limit:
            return f"worst case {_yuan(found.fen)} ({found.basis}) exceeds {_yuan(limit)}", {
                "exposure_fen": found.fen,
                "limit_fen": limit,
                "basis": found.basis,
            }
        return None
    if rule.kind == "max_face_value":
        value = exposure.face_value(kind, body)
        if value is not None and value > limit:
            return f"face value {_yuan(value)} exceeds {_yuan(limit)}", {"face_value_fen": value, "limit_fen": limit}
        return None
    if rule.kind == "max_discount_percent":
        percent = exposure.percent_off(kind, body)
        if percent is not None and percent > limit:
            return f"{percent}% off exceeds {limit}%", {"percent_off": percent, "limit_percent": limit}
        return None
    if rule.kind == "max_discount_ratio":
        value, need = exposure.face_value(kind, body), exposure.threshold(kind, body)
        if value is not None and need and value * 100 > limit * need:
            ratio = value * 100 / need
            return f"{_yuan(value)} off a threshold of {_yuan(need)} is {ratio:.0f}% (above {limit}%)", {
                "discount_fen": value,
                "threshold_fen": need,
                "limit_percent": limit,
            }
        return None
    if rule.kind == "max_quantity":
        count = exposure.quantity(kind, body)
        if count is not None and count > limit:
            return f"quantity {count:,} exceeds {limit:,}", {"quantity": count, "limit": limit}
        return None
    if rule.kind == "max_claim_days":
        window = claim_window(kind, body)
        if window is not None and window.start is not None and window.end is not None:
            days = (window.end - window.start).total_seconds() / 86400
            if days > limit:
                return f"claim window of {days:.1f} days exceeds {limit}", {"days": round(days, 3), "limit": limit}
        return None
    if rule.kind == "require_protect":
        active = kind == "ProductCoupon" or action.status_after == "2"
        if active and not action.protect:
            return "active coupon without protect: true", {}
        return None
    if rule.kind == "allowed_brands":
        if kind == "ProductCoupon" and action.brand_id is not None and action.brand_id not in limit:
            return f"brand {action.brand_id} is not allowed", {"brand_id": action.brand_id}
        return None
    return None


def _yuan(fen: int) -> str:
    yuan, cents = divmod(fen, 100)
    return f"¥{yuan:,}.{cents:02d}"


def _plan_check(rule: Rule, plan: Plan) -> Finding | None:
    actions = [a for a in plan.actions if _in_scope(rule, a)]
    if rule.kind == "max_deactivations":
        hits = [a for a in actions if a.type in DEACTIVATING_TYPES]
        if len(hits) <= rule.limit:
            return None
        detail = f"{len(hits)} deactivations exceed {rule.limit}"
        figures: dict[str, Any] = {"deactivations": len(hits), "limit": rule.limit}
    else:  # max_plan_exposure
        priced: list[tuple[int, Action]] = []
        total = unpriced = 0
        for action in actions:
            found, _ = priced_changes(action, exposure.cap_for(plan.meta, action.address))  # a raise: the difference
            if found is None:
                continue
            if found.fen is None:
                unpriced += 1
            else:
                total += found.fen
                priced.append((found.fen, action))
        if total <= rule.limit:
            return None
        priced.sort(key=lambda pair: (-pair[0], pair[1].address))
        detail = f"adds {_yuan(total)}, above {_yuan(rule.limit)}"
        if unpriced:
            detail += f" ({unpriced} more coupons not priced)"
        figures = {"exposure_fen": total, "limit_fen": rule.limit, "unpriced": unpriced}
        hits = [a for _, a in priced]
    return Finding(
        rule.id,
        rule.kind,
        rule.severity,
        rule.message,
        detail,
        tuple(a.address for a in hits),
        tuple(_place(a) for a in hits),
        figures,
    )


def evaluate(
    plan: Plan,
    policy: Policy,
    coupons: Mapping[str, CouponFacts],
    *,
    allows: Sequence[Allow] = (),
    today: date,
) -> PolicyResult:
    """Every finding of every rule, each with the override that covers it (if any)."""
    notes: list[str] = []
    by_rule = {a.rule: a for a in allows}
    known = {r.id for r in policy.rules}
    for allow in allows:
        if allow.rule not in known:
            notes.append(f"--allow {allow.rule}: no rule has this id in {policy.file}")
    findings: list[Finding] = []
    for rule in policy.rules:
        if rule.kind in PLAN_WIDE_KINDS:
            found = _plan_check(rule, plan)
            if found is not None:
                findings.append(_with_override(found, by_rule.get(rule.id)))
            continue
        for action in plan.actions:
            if action.type not in CHECKED_TYPES or action.after is None or not _in_scope(rule, action):
                continue
            hit = _coupon_check(rule, action, plan.meta)
            if hit is None:
                continue
            detail, figures = hit
            finding = Finding(
                rule.id, rule.kind, rule.severity, rule.message, detail, (action.address,), (_place(action),), figures
            )
            facts = facts_of(coupons, action.address)
            override = by_rule.get(rule.id) or _manifest_allow(facts, rule.id, today, action.address, notes)
            findings.append(_with_override(finding, override))
    return PolicyResult(tuple(findings), tuple(notes))


def _manifest_allow(facts: CouponFacts, rule_id: str, today: date, address: str, notes: list[str]) -> Allow | None:
    for allow in facts.allows:
        if allow.rule != rule_id:
            continue
        if allow.expires is not None and allow.expires < today:
            notes.append(f"{address}: allow {rule_id} expired on {allow.expires.isoformat()}: ignored")
            continue
        return allow
    return None


def _with_override(finding: Finding, override: Allow | None) -> Finding:
    if override is None:
        return finding
    return Finding(
        finding.rule_id,
        finding.kind,
        finding.severity,
        finding.message,
        finding.detail,
        finding.addresses,
        finding.places,
        finding.figures,
        override,
    )
