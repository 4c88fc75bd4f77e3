"""`couponctl plan`: what apply would do, as text, JSON or Markdown; optionally saved for apply."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from reconciler.cli import app
from reconciler.cli.output import emit_plan, print_warnings
from reconciler.config import Settings
from reconciler.errors import CouponctlError, PlanError
from reconciler.workflow import PlanInputs, build_plan, now_utc, open_state

EXAMPLES = """\b
Examples:
  couponctl plan                                  # all manifests under manifests/
  couponctl plan manifests/double11-2028 --out plan.bin
  couponctl plan --format markdown > plan.md      # for a pull-request comment
  couponctl plan --detailed-exitcode              # exit 2 when there are changes
  couponctl plan --target shop_coupon.d11-store-100-off-20
"""


@click.command(epilog=EXAMPLES)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Save the plan to FILE for `couponctl apply FILE`.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when there are no changes, 2 when there are.")
@click.option("--refresh/--no-refresh", default=True, show_default=True, help="Re-read upstream before planning.")
@click.option("--target", "targets", multiple=True, metavar="ADDRESS", help="Plan only this address (repeatable).")
@click.pass_context
def plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    out: str | None,
    fmt: str,
    detailed_exitcode: bool,
    refresh: bool,
    targets: tuple[str, ...],
) -> None:
    """Compare the manifests with the state (refreshed from upstream) and show the changes apply would make.

    Nothing is changed, upstream or in state. A plan with a blocked action exits 1 and names the remedy.
    """
    a = app(ctx)
    settings = a.settings
    inputs = make_plan_inputs(settings, paths=paths, targets=targets, refresh=refresh)
    print_warnings(inputs.warnings)
    emit_plan(inputs.plan, fmt, color=a.color)
    if out:
        from reconciler.plan.planfile import save_plan

        Path(out).write_bytes(save_plan(inputs.plan))
        if fmt == "text":
            click.echo(f"\nSaved the plan to {out}. Apply it exactly with: couponctl apply {out}")
    if not inputs.plan.applyable:
        from reconciler.plan.render_text import blocked_message

        raise PlanError(blocked_message(inputs.plan) or "the plan contains blocked changes")
    if detailed_exitcode and inputs.plan.has_changes:
        ctx.exit(2)


def make_plan_inputs(
    settings: Settings, *, paths: tuple[str, ...], targets: tuple[str, ...], refresh: bool
) -> PlanInputs:
    """Load, refresh (reading upstream, writing nothing) and plan."""
    store = open_state(settings)
    try:
        now = now_utc()
        if refresh:
            from reconciler.refresh import refresh_state

            state, drift = asyncio.run(refresh_state(settings, store.resources()))
            return build_plan(
                settings, store, paths=paths, targets=targets, now=now, state=state, drift=drift, refreshed=True
            )
        return build_plan(settings, store, paths=paths, targets=targets, now=now)
    except CouponctlError:
        raise
    finally:
        store.close()
