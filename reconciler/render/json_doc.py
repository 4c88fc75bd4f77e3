"""Pure: render a `Plan` as versioned JSON for machines (contract §2.3). The format is documented field by field, with
its stability promises, in docs/plan-format.md; `format_version` changes whenever a documented field does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.plan.model import Plan
from reconciler.plan.planfile import plan_digest, plan_to_data
from reconciler.render.policy_section import json_data
from reconciler.render.summary import PlanSummary, summarize, summary_line
from reconciler.upstream_facts import DEFAULT_RATE_LIMITS


def summary_to_data(summary: PlanSummary) -> dict[str, Any]:
    e = summary.exposure
    return {
        "line": summary_line(summary),
        "add": summary.add,
        "change": summary.change,
        "replace": summary.replace,
        "deactivate": summary.deactivate,
        "transition": summary.transition,
        "forget": summary.forget,
        "blocked": summary.blocked,
        "deferred": summary.deferred,
        "not_applied": summary.not_applied,
        "unchanged": summary.unchanged,
        "left_alone": summary.left_alone,
        "cannot_apply_now": summary.cannot_apply_now,
        "calls": dict(summary.calls),
        "total_calls": summary.total_calls,
        "eta_seconds": round(summary.eta_seconds, 3),
        "exposure": {
            "added_fen": e.added_fen,
            "removed_fen": e.removed_fen,
            "added_coupons": e.added_coupons,
            "removed_coupons": e.removed_coupons,
            "added_unpriced": e.added_unpriced,
            "removed_unpriced": e.removed_unpriced,
            "added_capped": e.added_capped,
            "removed_capped": e.removed_capped,
            "top": [{"address": c.address, "fen": c.fen, "basis": c.basis} for c in e.top],
        },
    }


def plan_json_data(plan: Plan, *, rate_limits: Mapping[str, float] = DEFAULT_RATE_LIMITS) -> dict[str, Any]:
    """The JSON document as data: identification first, then the plan's fields, then the summary."""
    data = plan_to_data(plan)
    head: dict[str, Any] = {
        "format_version": data.pop("format_version"),
        "plan_digest": plan_digest(plan),
        "applyable": plan.applyable,
        "has_changes": plan.has_changes,
        "differs": plan.differs,
        "partial": bool(plan.targets),
    }
    policy = json_data(plan)
    extra = {"policy": policy} if policy is not None else {}  # issue 18: rule ids, severities, addresses, figures
    return {**head, **data, "summary": summary_to_data(summarize(plan, rate_limits)), **extra}


def render_json(plan: Plan, *, rate_limits: Mapping[str, float] = DEFAULT_RATE_LIMITS) -> str:
    """The plan as pretty-printed JSON (UTF-8 characters kept), ending with a newline."""
    return json.dumps(plan_json_data(plan, rate_limits=rate_limits), ensure_ascii=False, indent=2) + "\n"
