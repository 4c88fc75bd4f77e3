"""Policies at plan and apply time (issue 18): find and load the policy file, price the plan with the order caps,
evaluate the rules with their overrides, and check freeze windows before apply sends anything."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from reconciler.config import Settings
from reconciler.errors import PlanError
from reconciler.plan.model import POLICY_FORMAT_VERSION, Plan, newest_format_version
from reconciler.policy.model import Allow, CouponFacts, Policy
from reconciler.resources import DesiredCoupon
from reconciler.times import BEIJING


@dataclass(frozen=True, slots=True)
class Override:
    """`--allow RULE_ID --reason "…"` given on the command line."""

    rules: tuple[str, ...] = ()
    reason: str | None = None


NO_OVERRIDE = Override()


def policy_file(settings: Settings) -> Path | None:
    """`[policy] file`, else `policies.yaml` in the first configured manifest folder that has one, else None."""
    if settings.policy.file is not None:
        return settings.resolve(settings.policy.file)
    for folder in settings.manifests:
        candidate = settings.resolve(folder) / "policies.yaml"
        if candidate.is_file():
            return candidate
    return None


def load(settings: Settings) -> Policy | None:
    path = policy_file(settings)
    if path is None:
        return None
    from reconciler.policy.loader import load_policy  # pydantic: only when there is a policy file to read

    try:
        display = path.relative_to(settings.root).as_posix()
    except ValueError:
        display = str(path)
    return load_policy(path, display)


def _facts(coupons: Sequence[DesiredCoupon]) -> dict[str, CouponFacts]:
    facts: dict[str, CouponFacts] = {}
    for coupon in coupons:
        guard = coupon.guard
        if not guard:
            continue
        allows = tuple(
            Allow(a["rule"], a["reason"], date.fromisoformat(a["expires"]) if a.get("expires") else None)
            for a in guard.get("allow", ())
        )
        facts[coupon.address] = CouponFacts(allows, guard.get("max_order_fen"))
    return facts


def judged(settings: Settings, plan: Plan, coupons: Sequence[DesiredCoupon], override: Override, now: datetime) -> Plan:
    """The plan with its order caps and policy verdict in `meta` (unchanged when there is no policy and no cap)."""
    from reconciler.actor import actor
    from reconciler.plan.exposure import caps_meta
    from reconciler.policy.evaluate import evaluate
    from reconciler.policy.report import META_KEY, report_data

    if override.rules and not (override.reason or "").strip():
        raise PlanError('--allow needs --reason "…": an override is recorded with why it was given')
    facts = _facts(coupons)
    declared = {a: f.max_order_fen for a, f in facts.items() if f.max_order_fen is not None}
    meta: dict[str, Any] = {**plan.meta, **caps_meta(declared, settings.policy.default_max_order_fen)}
    policy = load(settings)
    if policy is None:
        if override.rules:
            raise PlanError("--allow given, but there is no policy file (policies.yaml beside the manifests)")
        return (
            replace(plan, meta=meta, format_version=newest_format_version(plan.format_version, POLICY_FORMAT_VERSION))
            if meta != plan.meta
            else plan
        )
    who = actor()
    allows = tuple(Allow(rule, override.reason or "", None, who) for rule in override.rules)
    priced = replace(plan, meta=meta)
    result = evaluate(priced, policy, facts, allows=allows, today=now.astimezone(BEIJING).date())
    meta[META_KEY] = report_data(policy, result, allows, now)
    return replace(plan, meta=meta, format_version=newest_format_version(plan.format_version, POLICY_FORMAT_VERSION))


def denial(plan: Plan) -> PlanError | None:
    """The error of a plan its policy denies (each finding with its rule id and file:line), or None."""
    from reconciler.policy.report import denial_message, denied, of_plan

    if not denied(plan.meta):
        return None
    report = of_plan(plan.meta)
    assert report is not None
    return PlanError(denial_message(report))


def check_freeze(settings: Settings, plan: Plan, now: datetime) -> None:
    """Refuse (PlanError, nothing sent) a plan with a call that the freeze in force at `now` does not allow. The
    freezes are read from the policy file now (a freeze declared after planning still holds), else from the plan."""
    from reconciler.policy import freeze

    policy = load(settings)
    if policy is None:
        return
    current = freeze.active(policy.freezes, now)
    if current is None:
        return
    refused = freeze.refused(plan, current)
    if refused:
        raise PlanError(freeze.refusal(current, refused))


def overrides_summary(plan: Plan, digest: str) -> list[dict[str, Any]]:
    """The overrides a plan was applied with, for history: rule, reason, who, where from, for which plan digest."""
    from reconciler.policy.report import of_plan

    report = of_plan(plan.meta)
    if report is None:
        return []
    seen: list[dict[str, Any]] = []
    for finding in report.get("findings", []):
        given: Mapping[str, Any] | None = finding.get("overridden")
        if given is None:
            continue
        entry = {
            "rule": finding["rule"],
            "reason": given["reason"],
            "by": given["by"],
            "source": given["source"],
            "addresses": finding["addresses"][:10],
            "plan_digest": digest,
        }
        if given["source"] == "manifest":
            entry["expires"] = given["expires"]
        seen.append(entry)
    return seen
