"""`couponctl report`: gather what the HTML report shows and write it.

The plan is made afresh (like `couponctl plan`, reading upstream unless `refresh=False`) or read from a saved plan
file; the coupons the manifests declare, the state, the latest runs of history and the drift results known (this
plan's refresh, a `couponctl drift --format json` file, the last `couponctl refresh`) go to the pure renderer
(`reconciler.render.report`). Nothing is written but the page: no lock, no run in history, no upstream call that
changes anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.commands.common import Clock, manifest_paths, now_utc, open_state
from reconciler.commands.plan import read_plan_file
from reconciler.config import Settings
from reconciler.errors import CouponctlError, Diagnostic
from reconciler.plan.model import DriftItem, FieldChange, Plan
from reconciler.render.report import DriftResult, ReportData, RunRow, render_report
from reconciler.resources import DesiredCoupon, split_address

RUNS_READ = 20  # history runs the page lists (the latest apply and refresh are among them in practice)
DRIFT_CATEGORIES = ("changed", "missing", "terminal", "unmanaged")
CHANGE_KINDS = ("add", "remove", "change")


@dataclass(frozen=True, slots=True)
class ReportResult:
    """What `couponctl report` wrote: where, how big, and what it shows."""

    out: Path
    size: int  # bytes
    coupons: int
    plan: Plan
    warnings: tuple[Diagnostic, ...]


def report(
    settings: Settings,
    *,
    out: Path,
    plan_file: Path | None = None,
    drift_file: Path | None = None,
    refresh: bool = True,
    clock: Clock = now_utc,
) -> ReportResult:
    """Make the report of `plan_file` (else of a fresh plan) and write it to `out` (folders created)."""
    import asyncio

    from reconciler.commands.drift import refreshed_plan
    from reconciler.commands.plan import build_plan

    now = clock()
    file_drift = read_drift_file(drift_file) if drift_file is not None else None
    saved = read_plan_file(plan_file) if plan_file is not None else None
    store = open_state(settings)
    try:
        resources = store.resources()
        records = store.runs(RUNS_READ)
        counts = store.call_counts([r.run_id for r in records])
        notes: list[str] = []
        if saved is not None:
            plan = saved
            desired, loaded, warnings = _declared(settings, notes)
        elif refresh:
            inputs = asyncio.run(refreshed_plan(settings, store, resources, paths=(), targets=(), now=now))
            plan, desired, loaded, warnings = inputs.plan, inputs.coupons, True, inputs.warnings
        else:
            from reconciler.commands.upstream import default_brand_id

            inputs = build_plan(
                settings, store, paths=(), targets=(), now=now, default_brand_id=default_brand_id(settings)
            )
            plan, desired, loaded, warnings = inputs.plan, inputs.coupons, True, inputs.warnings
    finally:
        store.close()
    runs = tuple(
        RunRow(
            run_id=r.run_id,
            command=r.command,
            actor=r.actor,
            git_commit=r.git_commit,
            started_at=r.started_at,
            finished_at=r.finished_at,
            outcome=r.outcome,
            calls=counts.get(r.run_id, 0),
            summary=r.summary,
        )
        for r in records
    )
    drift: list[DriftResult] = [file_drift] if file_drift is not None else []
    if plan.refreshed:
        what = "this plan" if saved is None else "the saved plan"
        checked = len(resources) if saved is None else None
        drift.append(DriftResult(f"found while refreshing for {what}", plan.created_at, checked, plan.drift))
    drift.extend(_last_refresh(runs))
    html = render_report(
        ReportData(
            plan=plan,
            now=now,
            desired=tuple(desired),
            manifests_loaded=loaded,
            state=resources,
            runs=runs,
            drift=tuple(drift),
            rate_limits=settings.apply.rate_limits,
            notes=tuple(notes),
        )
    )
    data = html.encode("utf-8")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except OSError as exc:
        raise CouponctlError(f"cannot write the report to {out}: {exc.strerror}") from None
    coupons = len({a.address for a in plan.actions} | {c.address for c in desired} | set(resources))
    return ReportResult(out, len(data), coupons, plan, tuple(warnings))


def _declared(settings: Settings, notes: list[str]) -> tuple[Sequence[DesiredCoupon], bool, Sequence[Diagnostic]]:
    """The coupons the configured manifests declare now (for a saved plan: where each coupon is declared, and the
    ones it does not touch); when they do not load, none, and a note saying why."""
    from reconciler.manifest import load_manifests
    from reconciler.manifest.cache import cache_for

    try:
        loaded = load_manifests(manifest_paths(settings, ()), root=settings.root, cache=cache_for(settings))
    except CouponctlError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        notes.append(
            f"The manifests could not be loaded ({first}): the timeline shows the plan's coupons and the state's, "
            "grouped by the manifest file apply recorded."
        )
        return (), False, ()
    return loaded.coupons, True, loaded.warnings


def _last_refresh(runs: Sequence[RunRow]) -> list[DriftResult]:
    """What the latest `couponctl refresh` in the runs read accepted into state (history keeps the addresses)."""
    for run in runs:
        if run.command == "refresh":
            found = run.summary.get("drift")
            accepted = tuple(str(a) for a in found) if isinstance(found, list) else ()
            return [DriftResult(f"couponctl refresh (run {run.run_id})", run.started_at, accepted=accepted)]
    return []


def read_drift_file(path: Path) -> DriftResult:
    """A drift result written by `couponctl drift --format json` (docs/drift-format.md, format 1.x)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CouponctlError(f"cannot read the drift result {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CouponctlError(f"{path} is not a drift result of `couponctl drift --format json`: {exc}") from None
    if not isinstance(doc, Mapping) or not str(doc.get("format_version", "")).startswith("1."):
        raise CouponctlError(
            f"{path} is not a drift result of `couponctl drift --format json` (format_version 1.x expected)"
        )
    try:
        items = tuple(_drift_item(item) for item in doc.get("drift", []))
    except (KeyError, TypeError, ValueError) as exc:
        raise CouponctlError(f"{path}: a drift entry is not in the documented form ({exc})") from None
    checked = doc.get("checked")
    return DriftResult(str(path), None, checked if isinstance(checked, int) else None, items)


def _drift_item(item: Mapping[str, Any]) -> DriftItem:
    category = item["category"]
    if category not in DRIFT_CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    changes = []
    for change in item.get("changes", []):
        if change["change"] not in CHANGE_KINDS:
            raise ValueError(f"unknown change {change['change']!r}")
        changes.append(FieldChange(str(change["path"]), change["change"], change.get("before"), change.get("after")))
    address = str(item["address"])
    return DriftItem(
        address=address,
        kind=split_address(address)[0],
        category=category,
        changes=tuple(changes),
        upstream_id=item.get("upstream_id"),
        note=item.get("note"),
    )


__all__ = ["ReportResult", "read_drift_file", "report"]
