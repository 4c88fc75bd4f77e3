"""`couponctl apply`: settle what an interrupted apply left, take the saved or a fresh plan, apply it, record the run.

The command talks to its user only through `ApplyHooks` (the CLI prints the settled calls and the fresh plan, asks
for confirmation and shows progress); everything else it returns as an `ApplyOutcome`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from reconciler.apply.applier import ActionResult, Applier, ApplyReport
from reconciler.apply.settle import Settlement, settle
from reconciler.commands.common import Clock, git_commit, lock_timeout, now_utc, open_state
from reconciler.commands.drift import refreshed_plan
from reconciler.commands.guard import NO_OVERRIDE, Override, check_freeze, denial, judged, overrides_summary
from reconciler.commands.interrupt import Tracker, apply_interruptibly
from reconciler.commands.plan import PlanInputs, blocked_error, build_plan, read_plan_file
from reconciler.commands.preflight import prerequisite_errors, refuse_unmet
from reconciler.commands.progress import ProgressEvent, ProgressSink
from reconciler.commands.runs import recorded_run
from reconciler.commands.saved_plan import verify_saved_plan
from reconciler.commands.upstream import Upstream, open_upstream
from reconciler.config import Settings
from reconciler.errors import PlanError
from reconciler.plan.model import Action, Plan
from reconciler.providers.pacing import Pacer
from reconciler.resources import ResourceState
from reconciler.store.api import Intent, StateStore
from reconciler.times import iso_utc

# The applier's types, re-exported: the CLI renders them and may not import the applier itself.
__all__ = [
    "ActionResult",
    "ApplyHooks",
    "ApplyOutcome",
    "ApplyReport",
    "Intent",
    "ProgressFn",
    "Settlement",
    "apply",
]

ProgressFn = Callable[[str, ActionResult], None]  # ("start" | "applied" | "failed", the action's result so far)


class ApplyHooks(Protocol):
    """What apply needs from whoever runs it, in the order it needs it."""

    def settled(self, settlements: Sequence[Settlement]) -> None:
        """Calls an interrupted apply left open were settled (before anything is planned)."""

    def review(self, inputs: PlanInputs, rate_limits: Mapping[str, float]) -> None:
        """A fresh plan was made (not called for a saved plan: it was reviewed when it was made)."""

    def confirm(self, plan: Plan) -> None:
        """The fresh plan has changes and can be applied: raise (PlanError) to stop before any call."""

    def progress(self, total: int) -> AbstractContextManager[ProgressFn]:
        """Progress of the `total` actions about to be applied."""

    def interrupted(self, at_once: bool) -> None:
        """Ctrl-C while applying: the first halts (calls already sent finish), the second (`at_once`) stops now."""


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    """How apply ended: `report` is None when nothing was applied because the plan had no changes."""

    plan: Plan
    report: ApplyReport | None
    settled: tuple[Settlement, ...]
    saved: bool  # the plan came from a plan file
    skipped: tuple[Action, ...] = ()  # blocked actions a --skip-blocked plan left out: the CLI exits 1 naming them
    interrupted: bool = False  # Ctrl-C stopped the apply before everything was applied
    unsettled: tuple[Intent, ...] = ()  # calls sent whose outcome is unknown: the next apply settles them first


def apply(
    settings: Settings,
    hooks: ApplyHooks,
    *,
    plan_file: Path | None = None,
    targets: Sequence[str] = (),
    refresh: bool = True,
    parallelism: int | None = None,
    lock_timeout_s: float | None = None,
    skip_blocked: bool = False,
    clock: Clock = now_utc,
    override: Override = NO_OVERRIDE,
    progress: ProgressSink | None = None,
    preflight: bool = True,
) -> ApplyOutcome:
    """Apply the saved plan in `plan_file` (refused when stale or expired), or a fresh one the hooks confirm.

    Runs under the state lock. Open intents and deposed coupons are settled first; the apply itself is recorded
    in history with the plan's digest. A failed apply returns its report (`report.ok` is False); errors before any
    call (stale plan, blocked plan, no confirmation, lock held) raise.

    `skip_blocked` (fresh plans; a saved plan carries its own choice) plans to skip blocked coupons: everything
    else is applied and the skipped actions are returned in `ApplyOutcome.skipped`.

    `preflight` (decision D32): against WeChat, the account prerequisites the plan's calls need are checked before
    the first mutating call (shop confirm, notify configuration, brand authorisation); an unmet one refuses.
    """
    if plan_file is not None and targets:
        raise PlanError("--target cannot be combined with a saved plan: the plan already fixes what is applied")
    saved = read_plan_file(plan_file) if plan_file is not None else None
    if saved is not None and override.rules:
        raise PlanError(
            f"--allow cannot be given to a saved plan: overrides are reviewed with the plan; make it again with: "
            f'couponctl plan --allow RULE_ID --reason "…" --out {plan_file}'
        )
    if saved is not None:
        _check_environment(saved, settings)
    if saved is not None and skip_blocked and saved.blocked and not saved.skip_blocked:
        raise PlanError(
            f"{plan_file} was made without --skip-blocked, so skipping its blocked coupons was never reviewed; "
            f"make the plan again with: couponctl plan --skip-blocked --out {plan_file}"
        )
    store = open_state(settings)
    try:
        with store.lock("apply", timeout=lock_timeout(settings, lock_timeout_s)):
            outcome = asyncio.run(
                _apply(
                    settings,
                    store,
                    hooks,
                    saved,
                    targets=targets,
                    refresh=refresh,
                    parallelism=parallelism,
                    skip_blocked=skip_blocked,
                    clock=clock,
                    override=override,
                    read_progress=progress,
                    preflight=preflight and settings.upstream.mode != "sandbox",
                )
            )
            if not outcome.interrupted:  # the markers of the coupons now converged (decision D36)
                from reconciler.commands.converged import record_converged
                from reconciler.commands.upstream import default_brand_id

                record_converged(
                    settings, store, coupons=None, default_brand_id=default_brand_id(settings), now=clock()
                )
            return outcome
    finally:
        store.close()


async def _apply(
    settings: Settings,
    store: StateStore,
    hooks: ApplyHooks,
    saved: Plan | None,
    targets: Sequence[str],
    *,
    refresh: bool,
    parallelism: int | None,
    skip_blocked: bool,
    clock: Clock,
    override: Override = NO_OVERRIDE,
    read_progress: ProgressSink | None = None,
    preflight: bool = False,
) -> ApplyOutcome:
    from reconciler.plan.planfile import check_saved_plan, plan_digest

    async with open_upstream(settings) as upstream:
        pacer = Pacer.from_settings(settings)
        if read_progress is not None:  # every retry is shown (the refresh reads re-point it at their own counter)
            sink = read_progress
            pacer.on_notice = lambda notice: sink(ProgressEvent("retry", "applying", message=notice.describe()))
        commit = git_commit(settings.root)

        def make_applier(run_id: int, progress: ProgressFn | None = None) -> Applier:
            return Applier(
                store,
                upstream.providers,
                pacer,
                run_id=run_id,
                now_iso=lambda: iso_utc(clock()),
                parallelism=parallelism or settings.apply.parallelism,
                progress=progress,
                environment=settings.env.name,
            )

        # 1. Settle what an interrupted apply left behind, before anything new.
        settled: tuple[Settlement, ...] = ()
        resources = store.resources()
        if store.open_intents() or any(r.extra.get("deposed") for r in resources.values()):
            with recorded_run(store, settings, "apply (settle)", commit=commit) as run:
                settled = tuple(await settle(make_applier(run.run_id), _numbering_lineage(settings, store)))
                run.summary = {"settled": [f"{s.address} {s.operation}: {s.outcome}" for s in settled]}
            hooks.settled(settled)
            resources = store.resources()

        # 2. The plan: the saved one (refused when stale or expired), or a fresh one confirmed through the hooks.
        now = clock()
        if saved is not None:
            max_age = timedelta(hours=settings.apply.plan_max_age_hours)
            check_saved_plan(saved, lineage=store.lineage, serial=store.serial, now=now, max_age=max_age)
            with prerequisite_errors(preflight):
                await verify_saved_plan(settings, store, upstream, pacer, saved, resources)  # not its own digest
            plan = saved
            if preflight:  # D32: before any mutating call
                await _preflight(settings, upstream, pacer, plan, shop_listed=saved.refreshed)
        else:
            with prerequisite_errors(preflight):
                inputs = await _fresh_plan(
                    settings, store, upstream, pacer, resources, targets, refresh, now, progress=read_progress
                )
            if skip_blocked:
                inputs = replace(inputs, plan=replace(inputs.plan, skip_blocked=True))
            inputs = replace(inputs, plan=judged(settings, inputs.plan, inputs.coupons, override, now))
            hooks.review(inputs, settings.apply.rate_limits)
            plan = inputs.plan
            _refuse_denied(plan)
            if not plan.applyable:
                raise _nothing_applied(plan)
            if not plan.has_changes:
                return ApplyOutcome(plan, None, settled, saved=False, skipped=_skipped(plan))
            if preflight:  # D32: before the question, so nobody answers "yes" to a refused apply
                await _preflight(settings, upstream, pacer, plan, shop_listed=refresh)
            hooks.confirm(plan)
        _refuse_denied(plan)
        if not plan.applyable:
            raise _nothing_applied(plan)
        if not plan.has_changes:
            return ApplyOutcome(plan, None, settled, saved=saved is not None, skipped=_skipped(plan))
        check_freeze(settings, _without_skipped(plan), clock())  # a freeze window refuses before any call
        to_apply = _without_skipped(plan)

        # 3. Apply.
        with recorded_run(
            store, settings, "apply", commit=plan.git_commit or commit, plan_digest=plan_digest(plan)
        ) as run:
            with hooks.progress(len(to_apply.actions)) as progress:
                tracker = Tracker(progress)
                applier = make_applier(run.run_id, tracker)

                def notice(at_once: bool) -> None:  # looked up on Ctrl-C only: older hooks need not have it
                    hooks.interrupted(at_once)

                report, pressed = await apply_interruptibly(applier, to_apply, tracker, notice)
            interrupted = pressed and not report.ok  # a Ctrl-C after the last call changed nothing
            run.outcome = "ok" if report.ok else ("partial" if report.with_status("applied") else "failed")
            run.summary = report.summary()
            overrides = overrides_summary(plan, plan_digest(plan))
            if overrides:  # who overrode which rule, why, for which plan (issue 18)
                run.summary["policy_overrides"] = overrides
            if _skipped(plan):
                run.outcome = "partial" if report.ok else run.outcome
                run.summary["skipped_blocked"] = [a.address for a in _skipped(plan)]
            if interrupted:
                run.outcome = "interrupted"
            unsettled = tuple(i for i in store.open_intents() if i.run_id == run.run_id)
            if unsettled:
                run.summary["unsettled"] = [f"{i.address} {i.operation}" for i in unsettled]
        return ApplyOutcome(
            plan,
            report,
            settled,
            saved=saved is not None,
            skipped=_skipped(plan),
            interrupted=interrupted,
            unsettled=unsettled,
        )


async def _fresh_plan(
    settings: Settings,
    store: StateStore,
    upstream: Upstream,
    pacer: Pacer,
    resources: Mapping[str, ResourceState],
    targets: Sequence[str],
    refresh: bool,
    now: datetime,
    *,
    progress: ProgressSink | None = None,
) -> PlanInputs:
    """A plan of every manifest, against state refreshed through this run's upstream (or as recorded)."""
    if refresh:
        notice = pacer.on_notice
        inputs = await refreshed_plan(
            settings,
            store,
            resources,
            paths=(),
            targets=targets,
            now=now,
            upstream=upstream,
            pacer=pacer,
            progress=progress,
        )
        pacer.on_notice = notice  # the applying phase's retries are shown as "applying" again
        return inputs
    return build_plan(
        settings,
        store,
        paths=(),
        targets=targets,
        now=now,
        state=resources,
        default_brand_id=upstream.default_brand_id,
    )


async def _preflight(settings: Settings, upstream: Upstream, pacer: Pacer, plan: Plan, *, shop_listed: bool) -> None:
    """The account checks the plan's calls need (decision D32); `shop_listed`: this run already listed shop coupons."""
    await refuse_unmet(
        upstream.providers,
        _without_skipped(plan).actions,
        mchid=settings.wechatpay.mchid,
        default_brand_id=upstream.default_brand_id,
        shop_listed=shop_listed,
        retry=pacer.retry,
    )


def _skipped(plan: Plan) -> tuple[Action, ...]:
    """The blocked actions a --skip-blocked plan leaves out (none for any other plan: it is refused instead)."""
    return plan.blocked if plan.skip_blocked else ()


def _without_skipped(plan: Plan) -> Plan:
    """What the applier gets: the plan minus the skipped blocked actions, so it neither calls nor reports them.
    History still records the digest of the whole plan, as it was reviewed."""
    if not plan.skip_blocked:
        return plan
    return replace(plan, actions=tuple(a for a in plan.actions if a.applyable))


def _check_environment(saved: Plan, settings: Settings) -> None:
    """A saved plan applies only in the environment it was made in (decision D26)."""
    from reconciler.plan.planfile import check_plan_environment

    check_plan_environment(saved, settings.env.name)


def _numbering_lineage(settings: Settings, store: StateStore) -> str:
    """What settle's request numbers hash as the lineage: scoped by the environment, like the planner's (D26)."""
    from reconciler.plan.request_numbers import scoped_lineage

    return scoped_lineage(store.lineage, settings.env.name)


def _refuse_denied(plan: Plan) -> None:
    """A plan its policy denies sends nothing (the verdict, with its overrides, is recorded in the plan)."""
    error = denial(plan)
    if error is not None:
        raise PlanError(f"{error}\nNothing was applied.")


def _nothing_applied(plan: Plan) -> PlanError:
    error = blocked_error(plan)
    return PlanError(f"{error}\nNothing was applied.")
