"""`couponctl apply`: make exactly the calls a plan needs, journalled and resumable."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

import click

from reconciler.apply.applier import Applier, ApplyReport
from reconciler.apply.pacing import Pacer
from reconciler.apply.settle import settle
from reconciler.cli import app
from reconciler.cli.output import emit_plan, print_warnings
from reconciler.cli.progress import ApplyProgress
from reconciler.config import Settings
from reconciler.errors import ApplyError, PlanError, SavedPlanError
from reconciler.plan.model import Plan
from reconciler.resources import ResourceState
from reconciler.store.api import StateStore
from reconciler.upstream import open_upstream
from reconciler.workflow import actor, build_plan, git_commit, iso, now_utc, open_state

EXAMPLES = """\b
Examples:
  couponctl apply plan.bin                 # exactly the reviewed plan (refused if stale or expired)
  couponctl apply                          # plan, show, ask for "yes"
  couponctl apply --auto-approve           # non-interactive (CI)
  couponctl apply --parallelism 4 --lock-timeout 60
"""


@click.command(epilog=EXAMPLES)
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (required when stdin is not a terminal).")
@click.option("--parallelism", type=click.IntRange(1, 64), default=None, help="Coupons in flight at once (default 8).")
@click.option("--target", "targets", multiple=True, metavar="ADDRESS", help="Apply only this address (repeatable).")
@click.option("--refresh/--no-refresh", default=True, show_default=True, help="Re-read upstream before planning.")
@click.option("--lock-timeout", type=float, default=None, metavar="SECONDS", help="Wait for the state lock.")
@click.pass_context
def apply(
    ctx: click.Context,
    plan_file: str | None,
    auto_approve: bool,
    parallelism: int | None,
    targets: tuple[str, ...],
    refresh: bool,
    lock_timeout: float | None,
) -> None:
    """Apply a saved plan, or plan and apply after confirmation.

    Open intents left by an interrupted apply are settled first (re-sent with the same request numbers, or read
    back), so re-running after a crash never duplicates a coupon. On a failure, changes in flight finish, no new
    ones start, and the exact account of applied / failed / not started changes is printed (exit 1).
    """
    a = app(ctx)
    settings = a.settings
    if plan_file and targets:
        raise PlanError("--target cannot be combined with a saved plan: the plan already fixes what is applied")
    saved: Plan | None = None
    if plan_file:
        from reconciler.plan.planfile import load_plan

        try:
            data = Path(plan_file).read_bytes()
        except OSError as exc:
            raise SavedPlanError(f"cannot read plan file {plan_file}: {exc.strerror}") from None
        saved = load_plan(data)
    store = open_state(settings)
    try:
        timeout = settings.state.lock_timeout if lock_timeout is None else lock_timeout
        with store.lock("apply", timeout=timeout):
            report, plan = asyncio.run(
                _apply(settings, store, saved, a.color, auto_approve, parallelism, targets, refresh)
            )
    finally:
        store.close()
    if report is None:
        return
    _print_report(report, plan)
    if not report.ok:
        raise ApplyError(_failure_message(report), summary=report.summary())


async def _apply(
    settings: Settings,
    store: StateStore,
    saved: Plan | None,
    color: bool,
    auto_approve: bool,
    parallelism: int | None,
    targets: tuple[str, ...],
    refresh: bool,
) -> tuple[ApplyReport | None, Plan]:
    from reconciler.plan.planfile import check_saved_plan, plan_digest

    async with open_upstream(settings) as upstream:
        pacer = Pacer.from_settings(settings)
        commit = git_commit(settings.root)
        who = actor()

        def make_applier(run_id: int, progress: ApplyProgress | None = None) -> Applier:
            return Applier(
                store,
                upstream.providers,
                pacer,
                run_id=run_id,
                now_iso=lambda: iso(now_utc()),
                parallelism=parallelism or settings.apply.parallelism,
                progress=progress or ApplyProgress(0, tty=False),
            )

        # 1. Settle what an interrupted apply left behind, before anything new.
        resources = store.resources()
        if store.open_intents() or any(r.extra.get("deposed") for r in resources.values()):
            settle_run = store.begin_run("apply (settle)", actor=who, git_commit=commit)
            settled = await settle(make_applier(settle_run), store.lineage)
            store.end_run(settle_run, "ok", {"settled": [f"{s.address} {s.operation}: {s.outcome}" for s in settled]})
            for s in settled:
                click.echo(f"Settled interrupted call: {s.address} {s.operation}: {s.outcome}", err=True)
            resources = store.resources()

        # 2. The plan: the saved one (refused when stale or expired), or a fresh one confirmed by the user.
        now = now_utc()
        if saved is not None:
            check_saved_plan(
                saved,
                lineage=store.lineage,
                serial=store.serial,
                now=now,
                max_age=_max_age(settings),
            )
            plan = saved
        else:
            plan = await _fresh_plan(settings, store, resources, targets, refresh, color)
            if not plan.applyable:
                raise PlanError(_blocked(plan))
            if not plan.has_changes:
                return None, plan
            if not auto_approve:
                _confirm()
        if not plan.applyable:
            raise PlanError(_blocked(plan))
        if not plan.has_changes:
            click.echo("No changes. Coupons match the manifests.")
            return None, plan

        # 3. Apply.
        run_id = store.begin_run(
            "apply", actor=who, git_commit=plan.git_commit or commit, plan_digest=plan_digest(plan)
        )
        with ApplyProgress(len(plan.actions)) as progress:
            report = await make_applier(run_id, progress).apply(plan)
        outcome = "ok" if report.ok else ("partial" if report.with_status("applied") else "failed")
        store.end_run(run_id, outcome, report.summary())
        return report, plan


async def _fresh_plan(
    settings: Settings,
    store: StateStore,
    resources: dict[str, ResourceState],
    targets: tuple[str, ...],
    refresh: bool,
    color: bool,
) -> Plan:
    now = now_utc()
    if refresh:
        from reconciler.refresh import refresh_state

        state, drift = await refresh_state(settings, resources)
        inputs = build_plan(
            settings, store, paths=(), targets=targets, now=now, state=state, drift=drift, refreshed=True
        )
    else:
        inputs = build_plan(settings, store, paths=(), targets=targets, now=now, state=resources)
    print_warnings(inputs.warnings)
    emit_plan(inputs.plan, "text", color=color)
    return inputs.plan


def _blocked(plan: Plan) -> str:
    from reconciler.plan.render_text import blocked_message

    return (blocked_message(plan) or "the plan contains blocked changes") + "\nNothing was applied."


def _max_age(settings: Settings) -> timedelta:
    return timedelta(hours=settings.apply.plan_max_age_hours)


def _confirm() -> None:
    if not sys.stdin.isatty():
        raise PlanError(
            "refusing to apply without confirmation in a non-interactive shell: "
            "pass --auto-approve, or apply a reviewed plan file (couponctl plan --out FILE; couponctl apply FILE)"
        )
    answer = click.prompt(
        "\nDo you want to apply these changes? Only 'yes' will be accepted", default="", show_default=False
    )
    if answer.strip() != "yes":
        raise PlanError("apply cancelled: nothing was changed")


def _print_report(report: ApplyReport, plan: Plan) -> None:
    applied = report.with_status("applied")
    counts: dict[str, int] = {}
    for r in applied:
        counts[r.type] = counts.get(r.type, 0) + 1
    parts = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "nothing"
    if report.ok:
        click.echo(f"\nApply complete! {parts}; {report.calls} upstream call(s).")
        return
    click.echo(f"\nApply stopped part-way ({report.calls} upstream call(s) made).")
    for label, status in (
        ("Applied", "applied"),
        ("Partly applied", "partial"),
        ("Failed", "failed"),
        ("Not started", "not_started"),
    ):
        rows = report.with_status(status)  # type: ignore[arg-type]
        if rows:
            click.echo(f"{label} ({len(rows)}):")
            for r in rows:
                detail = f" — {r.calls_made}/{r.calls_planned} calls" if status in ("partial", "failed") else ""
                click.echo(f"  {r.address} ({r.type}){detail}")


def _failure_message(report: ApplyReport) -> str:
    failed = report.with_status("failed") + report.with_status("partial")
    first = failed[0].error if failed and failed[0].error else (report.stopped_by or "unknown error")
    return (
        f"apply stopped: {first}\n"
        f"{len(report.with_status('applied'))} applied, {len(failed)} failed, "
        f"{len(report.with_status('not_started'))} not started. State records exactly what landed; "
        "run `couponctl apply` again to settle and continue."
    )
