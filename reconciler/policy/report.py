"""The policy outcome as plain data, recorded in `Plan.meta["policy"]` (so a saved plan carries its verdict and its
overrides under the plan digest) and read back by the renderers. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from reconciler.policy import freeze as freezes
from reconciler.policy.evaluate import Finding, PolicyResult
from reconciler.policy.model import Allow, Policy

META_KEY = "policy"


def _allow_data(allow: Allow, source: str) -> dict[str, Any]:
    return {
        "rule": allow.rule,
        "reason": allow.reason,
        "by": allow.by,
        "expires": allow.expires.isoformat() if allow.expires else None,
        "source": source,
    }


def finding_data(finding: Finding) -> dict[str, Any]:
    override = finding.override
    return {
        "rule": finding.rule_id,
        "kind": finding.kind,
        "severity": finding.severity,
        "message": finding.message,
        "detail": finding.detail,
        "addresses": list(finding.addresses),
        "places": list(finding.places),
        "figures": dict(finding.figures),
        "overridden": None
        if override is None
        else _allow_data(override, "manifest" if override.by is None else "command line"),
    }


def report_data(policy: Policy, result: PolicyResult, allows: Sequence[Allow], now: datetime) -> dict[str, Any]:
    """The `policy` section of a plan: verdict, findings, command-line overrides, notes, active / next freeze."""
    shown = [f for f in (freezes.active(policy.freezes, now), freezes.upcoming(policy.freezes, now)) if f is not None]
    return {
        "file": policy.file,
        "digest": policy.digest,
        "denied": result.denied,
        "findings": [finding_data(f) for f in result.findings],
        "overrides": [_allow_data(a, "command line") for a in allows],
        "notes": list(result.notes),
        "freezes": [
            {
                "name": f.name,
                "start": freezes.shown(f.start),
                "end": freezes.shown(f.end),
                "allow": list(f.allow),
                "active": f.start <= now < f.end,
                "reason": f.reason,
            }
            for f in shown
        ],
    }


def of_plan(meta: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The policy section a plan recorded, or None (no policy file)."""
    found = meta.get(META_KEY)
    return found if isinstance(found, Mapping) else None


def denied(meta: Mapping[str, Any]) -> bool:
    report = of_plan(meta)
    return bool(report and report.get("denied"))


def denied_findings(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [f for f in report.get("findings", []) if f["severity"] == "deny" and f["overridden"] is None]


def denial_message(report: Mapping[str, Any]) -> str:
    """Why a plan is denied: each unoverridden deny finding with its rule id and places, and the way out."""
    lines = []
    for f in denied_findings(report):
        where = ", ".join(f["places"][:5]) + (" …" if len(f["places"]) > 5 else "")
        lines.append(f"{where}: policy {f['rule']} denies: {f['message']} ({f['detail']})")
    rules = sorted({f["rule"] for f in denied_findings(report)})
    lines.append(
        f"The plan is denied by {report['file']}. Fix the manifests, or override after review with "
        + " ".join(f"--allow {r}" for r in rules)
        + ' --reason "…" (or an allow: entry next to the coupon).'
    )
    return "\n".join(lines)
