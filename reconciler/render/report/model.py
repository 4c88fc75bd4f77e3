"""What the HTML report is made from: the plan, the manifests' coupons, the state, history and drift, as plain
values. The command layer gathers them (`reconciler.commands.report`); the renderer only reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.plan.model import DriftItem, Plan
from reconciler.resources import DesiredCoupon, ResourceState
from reconciler.upstream_facts import DEFAULT_RATE_LIMITS


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run from `couponctl history` (the store's RunRecord with its number of calls)."""

    run_id: int
    command: str
    actor: str
    git_commit: str | None
    started_at: str  # ISO-8601 UTC, as history keeps it
    finished_at: str | None
    outcome: str | None
    calls: int
    summary: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DriftResult:
    """One known drift result: what a refresh found (`items`), or what a `couponctl refresh` accepted into state
    (`accepted`, addresses only: history keeps no more)."""

    source: str  # shown as is: "this plan's refresh", "drift.json", "couponctl refresh (run 4)"
    at: str | None  # ISO-8601 UTC when known
    checked: int | None = None  # managed coupons compared, when known
    items: tuple[DriftItem, ...] = ()
    accepted: tuple[str, ...] = ()

    @property
    def drifted(self) -> bool:
        return bool(self.items or self.accepted)


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything the page shows. `desired` are the coupons the manifests declare now (empty when they could not
    be loaded: the timeline then falls back to the plan and the state); `now` is the moment of the "now" line."""

    plan: Plan
    now: datetime
    desired: tuple[DesiredCoupon, ...] = ()
    manifests_loaded: bool = True  # False: `desired` is empty because the manifests could not be loaded
    state: Mapping[str, ResourceState] = field(default_factory=dict)
    runs: tuple[RunRow, ...] = ()
    drift: tuple[DriftResult, ...] = ()
    rate_limits: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    notes: tuple[str, ...] = ()  # what the reader should know about the data (e.g. manifests not loaded)
    title: str = "couponctl report"
