"""Literal policy cases: manifests and a policy as text, planned against an empty (or given) state, judged."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from reconciler.commands.guard import _facts
from reconciler.manifest import load_manifests
from reconciler.plan.exposure import caps_meta
from reconciler.plan.model import Plan
from reconciler.plan.planner import make_plan
from reconciler.policy.evaluate import PolicyResult, evaluate
from reconciler.policy.loader import load_policy
from reconciler.policy.model import Allow
from reconciler.resources import DesiredCoupon, ResourceState

NOW = datetime(2028, 10, 1, tzinfo=UTC)
TODAY = date(2028, 10, 1)


def load(root: Path, docs: Sequence[Mapping[str, Any]]) -> list[DesiredCoupon]:
    folder = root / "manifests"
    folder.mkdir(exist_ok=True)
    (folder / "coupons.yaml").write_text(yaml.safe_dump_all(list(docs), allow_unicode=True), encoding="utf-8")
    return list(load_manifests(["manifests"], root=root).coupons)  # shown relative, as the CLI shows them


def plan_of(
    coupons: Sequence[DesiredCoupon],
    state: Mapping[str, ResourceState] | None = None,
    default_cap: int | None = None,
) -> Plan:
    plan = make_plan(
        coupons,
        dict(state or {}),
        lineage="l",
        serial=0,
        manifest_digest="d",
        now=NOW,
        tool_version="t",
        default_brand_id="120344",
        manifest_files={c.address: "manifests/coupons.yaml" for c in coupons},
    )
    facts = _facts(coupons)
    declared = {a: f.max_order_fen for a, f in facts.items() if f.max_order_fen is not None}
    from dataclasses import replace

    return replace(plan, meta=caps_meta(declared, default_cap))


def judge(
    root: Path,
    docs: Sequence[Mapping[str, Any]],
    policy_text: str,
    *,
    allows: Sequence[Allow] = (),
    state: Mapping[str, ResourceState] | None = None,
    default_cap: int | None = None,
    today: date = TODAY,
) -> PolicyResult:
    """(coupon set, policy) -> verdict, through the real loader, planner and evaluator."""
    coupons = load(root, docs)
    policy_file = root / "policies.yaml"
    policy_file.write_text(textwrap.dedent(policy_text), encoding="utf-8")
    policy = load_policy(policy_file, "policies.yaml")
    plan = plan_of(coupons, state, default_cap)
    return evaluate(plan, policy, _facts(coupons), allows=allows, today=today)


def rule(kind: str, param: str = "", rule_id: str = "r1", severity: str = "deny", extra: str = "") -> str:
    return f"""\
rules:
  - id: {rule_id}
    kind: {kind}
    message: the {kind} rule
    severity: {severity}
{param}{extra}"""
