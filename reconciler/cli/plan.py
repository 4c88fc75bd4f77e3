"""`couponctl plan`: what apply would do, as text, JSON or Markdown; optionally saved for apply."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli import app
from reconciler.cli.output import emit_plan, print_warnings

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
    from reconciler.commands.plan import blocked_error
    from reconciler.commands.plan import plan as make_plan

    a = app(ctx)
    result = make_plan(
        a.settings, paths=paths, targets=targets, refresh=refresh, out=Path(out) if out is not None else None
    )
    print_warnings(result.warnings)
    emit_plan(result.plan, fmt, color=a.color, rate_limits=result.rate_limits)
    if out and fmt == "text":
        click.echo(f"\nSaved the plan to {out}. Apply it exactly with: couponctl apply {out}")
    if not result.plan.applyable:
        raise blocked_error(result.plan)
    if detailed_exitcode and result.plan.has_changes:
        ctx.exit(2)
