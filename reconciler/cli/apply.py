"""`couponctl apply`: make exactly the calls a plan needs, journalled and resumable."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from reconciler.cli import app
from reconciler.cli.output import ALLOW_OPTION, REASON_OPTION, emit_plan, print_warnings
from reconciler.cli.progress import ApplyProgress, ReadProgressView, quiet_option
from reconciler.commands.apply import ApplyReport, Intent, Settlement
from reconciler.commands.apply import apply as run_apply
from reconciler.commands.guard import Override
from reconciler.commands.interrupt import IN_FLIGHT, INTERRUPTED
from reconciler.commands.plan import PlanInputs
from reconciler.errors import ApplyError, ApplyInterrupted, PlanError
from reconciler.plan.model import Plan
from reconciler.render.summary import summarize, summary_line

EXAMPLES = """\b
Examples:
  couponctl apply plan.bin                 # exactly the reviewed plan (refused if stale or expired)
  couponctl apply                          # plan, show, ask for "yes"
  couponctl apply --auto-approve           # non-interactive (CI)
  couponctl apply --skip-blocked           # apply everything but the blocked coupons; exit 1 naming them
  couponctl apply --parallelism 4 --lock-timeout 60
"""


@click.command(epilog=EXAMPLES)
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (required when stdin is not a terminal).")
@click.option("--parallelism", type=click.IntRange(1, 64), default=None, help="Coupons in flight at once (default 8).")
@click.option("--target", "targets", multiple=True, metavar="ADDRESS", help="Apply only this address (repeatable).")
@click.option("--refresh/--no-refresh", default=True, show_default=True, help="Re-read upstream before planning.")
@click.option("--lock-timeout", type=float, default=None, metavar="SECONDS", help="Wait for the state lock.")
@click.option(
    "--skip-blocked",
    is_flag=True,
    help="Skip blocked coupons and apply everything else, then exit 1 naming them (a saved plan must have been "
    "made with plan --skip-blocked).",
)
@click.option(
    "--skip-preflight",
    is_flag=True,
    help="Do not check the account prerequisites first (decision D32; couponctl doctor checks them).",
)
@ALLOW_OPTION
@REASON_OPTION
@quiet_option
@click.pass_context
def apply(
    ctx: click.Context,
    plan_file: str | None,
    auto_approve: bool,
    parallelism: int | None,
    targets: tuple[str, ...],
    refresh: bool,
    lock_timeout: float | None,
    skip_blocked: bool,
    skip_preflight: bool,
    allow: tuple[str, ...],
    reason: str | None,
    quiet: bool,
) -> None:
    """Apply a saved plan, or plan and apply after confirmation.

    Open intents left by an interrupted apply are settled first (re-sent with the same request numbers, or read
    back), so re-running after a crash never duplicates a coupon. On a failure, changes in flight finish, no new
    ones start, and the exact account of applied / failed / not started changes is printed (exit 1).
    """
    a = app(ctx)
    try:
        outcome = run_apply(
            a.settings,
            CliHooks(color=a.color, auto_approve=auto_approve, quiet=quiet),
            plan_file=Path(plan_file) if plan_file else None,
            targets=targets,
            refresh=refresh,
            parallelism=parallelism,
            lock_timeout_s=lock_timeout,
            skip_blocked=skip_blocked,
            override=Override(allow, reason),
            progress=ReadProgressView(quiet=quiet),
            preflight=not skip_preflight,
        )
    except KeyboardInterrupt:  # outside the applying itself (settling, reading upstream, planning): lock released
        raise ApplyInterrupted(
            f"apply {INTERRUPTED} before it applied anything of the plan. State records exactly what landed; "
            "run `couponctl apply` again: it settles anything left open first."
        ) from None
    report = outcome.report
    if report is None:
        if outcome.saved:  # a fresh plan was printed whole; a saved one gets its summary line
            click.echo(summary_line(summarize(outcome.plan, a.settings.apply.rate_limits)))
    else:
        _print_report(report)
        _print_unsettled(outcome.unsettled)
        if outcome.interrupted:
            raise ApplyInterrupted(_failure_message(report, interrupted=True), summary=report.summary())
        if not report.ok:
            raise ApplyError(_failure_message(report), summary=report.summary())
    if outcome.skipped:
        # Everything else was applied; the run still fails, so CI shows the blocked coupons red until resolved.
        raise PlanError(_skipped_message(outcome.plan))


class CliHooks:
    """Apply's conversation with the terminal: settled calls, the fresh plan, the "yes" prompt, progress."""

    def __init__(self, *, color: bool, auto_approve: bool, quiet: bool = False) -> None:
        self.color = color
        self.auto_approve = auto_approve
        self.quiet = quiet

    def settled(self, settlements: Sequence[Settlement]) -> None:
        for s in settlements:
            click.echo(f"Settled interrupted call: {s.address} {s.operation}: {s.outcome}", err=True)

    def review(self, inputs: PlanInputs, rate_limits: Mapping[str, float]) -> None:
        print_warnings(inputs.warnings)
        emit_plan(inputs.plan, "text", color=self.color, rate_limits=rate_limits)

    def confirm(self, plan: Plan) -> None:
        if self.auto_approve:
            return
        if not sys.stdin.isatty():
            raise PlanError(
                "refusing to apply without confirmation in a non-interactive shell: "
                "pass --auto-approve, or apply a reviewed plan file (couponctl plan --out FILE; couponctl apply FILE)"
            )
        try:
            answer = click.prompt(
                "\nDo you want to apply these changes? Only 'yes' will be accepted", default="", show_default=False
            )
        except click.exceptions.Abort:  # Ctrl-C or end of input at the prompt
            answer = ""
        if answer.strip() != "yes":
            raise PlanError("apply cancelled: nothing was changed")

    def progress(self, total: int) -> ApplyProgress:
        return ApplyProgress(total, quiet=self.quiet)

    def interrupted(self, at_once: bool) -> None:
        if at_once:
            click.echo(
                "\nSecond Ctrl-C: stopping now. Calls still in flight stay in the journal; the next apply settles "
                "them (reads them back or re-sends them with the same request number) before anything else.",
                err=True,
            )
        else:
            click.echo(
                "\nCtrl-C: starting no new call; waiting for the calls already sent to finish so that state records "
                "them. Press Ctrl-C again to stop at once.",
                err=True,
            )


def _print_report(report: ApplyReport) -> None:
    applied = report.with_status("applied")
    counts: dict[str, int] = {}
    for r in applied:
        counts[r.type] = counts.get(r.type, 0) + 1
    parts = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "nothing"
    if report.ok:
        click.echo(f"\nApply complete! {parts}; {report.calls} upstream call(s).")
        return
    how = "interrupted" if (report.stopped_by or "").startswith("interrupted") else "stopped"
    click.echo(f"\nApply {how} part-way ({report.calls} upstream call(s) made).")
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
                if r.error == IN_FLIGHT:
                    detail += " (a call in flight when stopped)"
                click.echo(f"  {r.address} ({r.type}){detail}")
    if report.with_status("not_started") or report.with_status("partial"):
        click.echo("The next `couponctl apply` plans again what was not started or only partly applied.")


def _skipped_message(plan: Plan) -> str:
    blocked = plan.blocked
    lines = [
        f"{len(blocked)} blocked coupon{'s' if len(blocked) != 1 else ''} skipped (--skip-blocked); "
        "nothing was sent for them:"
    ]
    for action in blocked:
        lines.append(f"  {action.address}: {action.reason}")
        if action.remedy:
            lines.append(f"    remedy: {action.remedy}")
    return "\n".join(lines)


def _print_unsettled(unsettled: Sequence[Intent]) -> None:
    """The calls sent whose outcome is unknown: the next apply settles them before planning anything."""
    if not unsettled:
        return
    click.echo(f"Next apply settles first ({len(unsettled)} call(s) sent, outcome unknown):")
    for intent in unsettled:
        how = "read back" if intent.operation.startswith("shop.") else "re-sent with the same request number"
        click.echo(f"  {intent.address} {intent.operation} ({how})")


def _failure_message(report: ApplyReport, *, interrupted: bool = False) -> str:
    failed = report.with_status("failed") + report.with_status("partial")
    first = failed[0].error if failed and failed[0].error else (report.stopped_by or "unknown error")
    if interrupted:
        first = INTERRUPTED
    return (
        f"apply stopped: {first}\n"
        f"{len(report.with_status('applied'))} applied, {len(failed)} failed, "
        f"{len(report.with_status('not_started'))} not started. State records exactly what landed; "
        "run `couponctl apply` again to settle and continue."
    )
