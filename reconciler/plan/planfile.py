"""Saved plans (`plan --out FILE`, `apply PLAN_FILE`, `show PLAN_FILE`): serialisation, integrity, staleness.

A saved plan is UTF-8 JSON:

    {"kind": "couponctl-plan", "format_version": "1.1", "integrity": "<sha256 hex>", "plan": {...}}

`plan` is `plan_to_data(plan)` (the same shape as the JSON renderer's plan fields, see docs/plan-format.md) and
`integrity` is the sha256 of its canonical JSON, so a hand-edited file is refused. It holds the format and tool
versions, creation time and expiry, the state lineage and serial, the manifest digest and every action with its
payloads and request numbers. It holds no secret: plans never contain credentials (contract §1.3).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from reconciler.claim_window import claim_window
from reconciler.errors import SavedPlanError
from reconciler.plan import kinds
from reconciler.plan.diff import compare_view
from reconciler.plan.model import (
    ENVIRONMENT_FORMAT_VERSION,
    PLAN_FORMAT_VERSION,
    POLICY_FORMAT_VERSION,
    STOCKS_FORMAT_VERSION,
    Action,
    ActionType,
    Call,
    DriftItem,
    FieldChange,
    Plan,
)
from reconciler.resources import SourceRef, canonical_json, digest
from reconciler.times import beijing

PLAN_FILE_KIND = "couponctl-plan"
SUPPORTED_FORMAT_VERSIONS: frozenset[str] = frozenset(
    {"1.0", PLAN_FORMAT_VERSION, ENVIRONMENT_FORMAT_VERSION, POLICY_FORMAT_VERSION, STOCKS_FORMAT_VERSION}
)


# --------------------------------------------------------------------------------------------------- to data


def change_to_data(change: FieldChange) -> dict[str, Any]:
    return {
        "path": change.path,
        "change": change.change,
        "before": change.before,
        "after": change.after,
        "effect": change.effect,
        "reason": change.reason,
    }


def call_to_data(call: Call) -> dict[str, Any]:
    return {
        "operation": call.operation,
        "target": call.target,
        "role": call.role,
        "out_request_no": call.out_request_no,
        "payload": call.payload,
        **({"stock_name": call.stock_name, "stock_id": call.stock_id} if call.stock_name is not None else {}),
    }


def action_to_data(action: Action) -> dict[str, Any]:
    return {
        "address": action.address,
        "kind": action.kind,
        "type": action.type.value,
        "upstream_id": action.upstream_id,
        "status_before": action.status_before,
        "status_after": action.status_after,
        "reason": action.reason,
        "remedy": action.remedy,
        "warnings": list(action.warnings),
        "source": None
        if action.source is None
        else {"file": action.source.file, "line": action.source.line, "col": action.source.col},
        "desired_digest": action.desired_digest,
        "protect": action.protect,
        "brand_id": action.brand_id,
        "manifest_file": action.manifest_file,
        "before": action.before,
        "after": action.after,
        "changes": [change_to_data(c) for c in action.changes],
        "calls": [call_to_data(c) for c in action.calls],
        # only on a declared rename, so plans without one keep their exact shape (and digest)
        **({"moved_from": action.moved_from} if action.moved_from is not None else {}),
    }


def drift_to_data(item: DriftItem) -> dict[str, Any]:
    return {
        "address": item.address,
        "kind": item.kind,
        "category": item.category,
        "upstream_id": item.upstream_id,
        "note": item.note,
        "changes": [change_to_data(c) for c in item.changes],
    }


def plan_to_data(plan: Plan) -> dict[str, Any]:
    """The plan as plain JSON-ready data (every field of `Plan`), in a stable key order. `environment` is written
    only when the plan has one (format 1.2), so a plan without one keeps its 1.1 shape."""
    data = {
        "format_version": plan.format_version,
        "tool_version": plan.tool_version,
        "created_at": plan.created_at,
        "expires_at": plan.expires_at,
        "lineage": plan.lineage,
        "serial": plan.serial,
        "manifest_digest": plan.manifest_digest,
        "git_commit": plan.git_commit,
        "refreshed": plan.refreshed,
        "targets": list(plan.targets),
        "unchanged": plan.unchanged,
        "warnings": list(plan.warnings),
        "meta": dict(plan.meta),
        "paths": list(plan.paths),
        "left_alone": plan.left_alone,
        "skip_blocked": plan.skip_blocked,
        "drift": [drift_to_data(d) for d in plan.drift],
        "actions": [action_to_data(a) for a in plan.actions],
    }
    if plan.environment is not None:
        data = {"environment": plan.environment, **data}
    return data


def plan_digest(plan: Plan) -> str:
    """sha256 hex of the plan's canonical content: what reviewers approve and history records."""
    return digest(plan_to_data(plan))


# --------------------------------------------------------------------------------------------------- from data


def _change_from(data: Mapping[str, Any]) -> FieldChange:
    return FieldChange(
        path=data["path"],
        change=data["change"],
        before=data["before"],
        after=data["after"],
        effect=data["effect"],
        reason=data["reason"],
    )


def _action_from(data: Mapping[str, Any]) -> Action:
    source = data["source"]
    return Action(
        address=data["address"],
        kind=data["kind"],
        type=ActionType(data["type"]),
        before=data["before"],
        after=data["after"],
        changes=tuple(_change_from(c) for c in data["changes"]),
        calls=tuple(
            Call(
                operation=c["operation"],
                payload=c["payload"],
                target=c["target"],
                out_request_no=c["out_request_no"],
                role=c["role"],
                stock_name=c.get("stock_name"),
                stock_id=c.get("stock_id"),
            )
            for c in data["calls"]
        ),
        upstream_id=data["upstream_id"],
        status_before=data["status_before"],
        status_after=data["status_after"],
        reason=data["reason"],
        remedy=data["remedy"],
        warnings=tuple(data["warnings"]),
        source=None if source is None else SourceRef(file=source["file"], line=source["line"], col=source["col"]),
        desired_digest=data["desired_digest"],
        protect=data["protect"],
        brand_id=data["brand_id"],
        manifest_file=data.get("manifest_file"),  # absent from 1.0 plans
        moved_from=data.get("moved_from"),
    )


def plan_from_data(data: Mapping[str, Any]) -> Plan:
    """The inverse of `plan_to_data`. Raises SavedPlanError when a field is missing or malformed."""
    try:
        return Plan(
            lineage=data["lineage"],
            serial=int(data["serial"]),
            manifest_digest=data["manifest_digest"],
            created_at=data["created_at"],
            expires_at=data["expires_at"],
            actions=tuple(_action_from(a) for a in data["actions"]),
            tool_version=data["tool_version"],
            format_version=data["format_version"],
            targets=tuple(data["targets"]),
            drift=tuple(
                DriftItem(
                    address=d["address"],
                    kind=d["kind"],
                    category=d["category"],
                    changes=tuple(_change_from(c) for c in d["changes"]),
                    upstream_id=d["upstream_id"],
                    note=d["note"],
                )
                for d in data["drift"]
            ),
            warnings=tuple(data["warnings"]),
            refreshed=bool(data["refreshed"]),
            git_commit=data["git_commit"],
            unchanged=int(data["unchanged"]),
            meta=dict(data["meta"]),
            # absent from 1.0 plans: every manifest, nothing left alone, nothing skipped
            paths=tuple(data.get("paths", ())),
            left_alone=int(data.get("left_alone", 0)),
            skip_blocked=data.get("skip_blocked", False) is True,
            environment=_environment(data.get("environment")),  # absent before 1.2: made without an environment
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SavedPlanError(f"saved plan is malformed: {type(exc).__name__}: {exc}") from None


def _environment(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    raise ValueError(f"environment must be a name, not {value!r}")


def check_plan_environment(plan: Plan, environment: str | None) -> None:
    """Refuse a saved plan made in another environment than the selected one (decision D26): its request numbers,
    state and overlay are that environment's, so applying it here would change the wrong merchant."""
    if plan.environment == environment:
        return
    made = f"environment {plan.environment!r}" if plan.environment else "no environment"
    here = f"environment {environment!r}" if environment else "no environment (--env not given)"
    again = f"couponctl --env {environment} plan --out FILE" if environment else "couponctl plan --out FILE"
    raise SavedPlanError(
        f"this saved plan was made for {made}, but apply runs in {here}; nothing was applied. A plan applies only "
        f"where it was made: make one for this environment with `{again}`"
    )


# --------------------------------------------------------------------------------------------------- files


def save_plan(plan: Plan) -> bytes:
    """The bytes of a plan file (UTF-8 JSON with an integrity digest)."""
    data = plan_to_data(plan)
    document = {
        "kind": PLAN_FILE_KIND,
        "format_version": plan.format_version,
        "integrity": digest(data),
        "plan": data,
    }
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def load_plan(data: bytes) -> Plan:
    """Read a plan file. Refuses (SavedPlanError) anything that is not an intact plan of a known format version."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SavedPlanError(f"not a couponctl plan file: {exc}") from None
    if not isinstance(document, dict) or document.get("kind") != PLAN_FILE_KIND:
        raise SavedPlanError('not a couponctl plan file (no "kind": "couponctl-plan")')
    version = document.get("format_version")
    if version not in SUPPORTED_FORMAT_VERSIONS:
        raise SavedPlanError(
            f"plan file format_version {version!r} is not supported by this couponctl "
            f"(supported: {', '.join(sorted(SUPPORTED_FORMAT_VERSIONS))}); make the plan again with this version"
        )
    content = document.get("plan")
    if not isinstance(content, dict):
        raise SavedPlanError("plan file has no plan")
    if document.get("integrity") != digest(content):
        raise SavedPlanError("plan file integrity check failed: it was edited after it was saved; make the plan again")
    if content.get("format_version") != version:
        raise SavedPlanError("plan file format_version does not match its content")
    return plan_from_data(content)


def _parse_iso(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise SavedPlanError(f"saved plan has an invalid timestamp {value!r}") from None


def check_saved_plan(plan: Plan, *, lineage: str, serial: int, now: datetime, max_age: timedelta) -> None:
    """Refuse (SavedPlanError) a saved plan that is stale or expired (contract §1.1).

    Stale: the state's lineage or serial moved since the plan was made. Expired: older than `max_age`, past its own
    `expires_at`, or it would create a coupon whose claim window has ended, or has started since the plan was made
    (a window that had already started at plan time was shown as a warning when the plan was reviewed).
    """
    if plan.lineage != lineage:
        raise SavedPlanError(
            f"saved plan is stale: it was made against state lineage {plan.lineage}, "
            f"but the state's lineage is {lineage}; make the plan again"
        )
    if plan.serial != serial:
        raise SavedPlanError(
            f"saved plan is stale: it was made at state serial {plan.serial}, but the state is now at serial "
            f"{serial} (someone applied or refreshed since); make the plan again"
        )
    created = _parse_iso(plan.created_at)
    expires = _parse_iso(plan.expires_at)
    if now - created > max_age:
        raise SavedPlanError(
            f"saved plan expired: made at {plan.created_at}, older than the maximum age of {max_age}; "
            "make the plan again"
        )
    if now >= expires:
        raise SavedPlanError(f"saved plan expired at {plan.expires_at}; make the plan again")
    for action in plan.actions:
        problem = _claim_window_expiry(action, created, now)
        if problem is not None:
            raise SavedPlanError(problem)


def _claim_window_expiry(action: Action, created: datetime, now: datetime) -> str | None:
    """Why a saved plan that creates this coupon has expired by its claim window, if it has: the window ended, or
    started after the plan was made (the rule itself: `reconciler.claim_window`)."""
    if action.after is None or not any(c.operation in ("shop.add", "product.create") for c in action.calls):
        return None
    window = claim_window(action.kind, action.after)
    if window is None:
        return None
    if window.verdict(now) == "ended" and window.end is not None:
        return (
            f"saved plan expired: it would create {action.address}, whose claim window ended at "
            f"{beijing(window.end)}; make the plan again"
        )
    if window.start is not None and created < window.start <= now:
        return (
            f"saved plan expired: it would create {action.address}, whose claim window started at "
            f"{beijing(window.start)}, after the plan was made; review a new plan"
        )
    return None


def _comparable(action: Action) -> dict[str, Any]:
    """An action's canonical data as a saved plan is verified on: everything but `source` (a display path relative
    to the working directory; `manifest_file` is the root-relative one), with `before` seen the way the planner
    compares it (response-only fields such as timestamps set aside)."""
    data = action_to_data(action)
    del data["source"]
    if action.before is not None:
        data["before"] = compare_view(kinds.RULES[action.kind], action.before)
    return data


def action_differences(saved: Plan, fresh: Plan) -> list[str]:
    """Where a saved plan's actions differ from the plan made again from the same inputs, one line per address.

    Compared is the canonical data of every action (type, calls with their payloads and request numbers, bodies,
    changes, reasons, warnings, ...), never the file's own digest, which anyone who edits the file can recompute.
    """
    saved_by = {a.address: _comparable(a) for a in saved.actions}
    fresh_by = {a.address: _comparable(a) for a in fresh.actions}
    out: list[str] = []
    for address in sorted(saved_by.keys() | fresh_by.keys()):
        old, new = saved_by.get(address), fresh_by.get(address)
        if old == new:
            continue
        if new is None:
            assert old is not None
            out.append(f"{address}: the saved plan would {old['type']} it; a plan made now would not touch it")
        elif old is None:
            out.append(f"{address}: a plan made now would {new['type']} it; the saved plan does not")
        else:
            fields = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
            out.append(f"{address}: {', '.join(fields)} differ from a plan made now")
    return out


def canonical_plan_json(plan: Plan) -> str:
    """Canonical JSON of the plan content (sorted keys, no whitespace): what `plan_digest` hashes."""
    return canonical_json(plan_to_data(plan))
