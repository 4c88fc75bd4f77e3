"""`couponctl plan`: what apply would do, as text, JSON or Markdown; optionally saved for apply."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli import app
from reconciler.cli.output import ALLOW_OPTION, REASON_OPTION, emit_plan, print_warnings
from reconciler.cli.progress import quiet_option

EXAMPLES = """\b
Examples:
  couponctl plan                                  # all manifests under manifests/
  couponctl plan manifests/double11-2028          # only that folder; coupons declared elsewhere are left alone
  couponctl plan --out plan.bin                   # review, then: couponctl apply plan.bin
  couponctl plan --format markdown > plan.md      # for a pull-request comment
  couponctl plan --detailed-exitcode              # exit 2 when anything differs (even deferred)
  couponctl plan --skip-blocked --out plan.bin    # apply the rest while some coupons are blocked
  couponctl plan --target shop_coupon.d11-store-100-off-20
  couponctl plan --allow max-face-value --reason "CEO-approved 50 yuan gift" --out plan.bin
"""


@click.command(epilog=EXAMPLES)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Save the plan to FILE for `couponctl apply FILE`.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when nothing differs, 2 when anything differs (also deferred or not-applied differences).",
)
@click.option(
    "--skip-blocked",
    is_flag=True,
    help="Plan to skip blocked coupons and apply everything else; the plan (and a saved plan) records it, and "
    "apply still exits 1 naming the skipped coupons.",
)
@click.option("--refresh/--no-refresh", default=True, show_default=True, help="Re-read upstream before planning.")
@click.option("--target", "targets", multiple=True, metavar="ADDRESS", help="Plan only this address (repeatable).")
@ALLOW_OPTION
@REASON_OPTION
@quiet_option
@click.pass_context
def plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    out: str | None,
    fmt: str,
    detailed_exitcode: bool,
    refresh: bool,
    targets: tuple[str, ...],
    skip_blocked: bool,
    allow: tuple[str, ...],
    reason: str | None,
    quiet: bool,
) -> None:
    """Compare the manifests with the state (refreshed from upstream) and show the changes apply would make.

    PATHS (default: the configured [manifests] paths) narrow the plan: a coupon whose manifest lies outside them
    is left alone and counted, never removed. Nothing is changed, upstream or in state. A plan with a blocked
    action exits 1 and names the remedy (unless --skip-blocked).
    """
    from reconciler.cli.progress import ReadProgressView
    from reconciler.commands.guard import Override, denial
    from reconciler.commands.plan import blocked_error
    from reconciler.commands.plan import plan as make_plan
    from reconciler.render.text import blocked_message

    a = app(ctx)
    result = make_plan(
        a.settings,
        paths=paths,
        targets=targets,
        refresh=refresh,
        out=Path(out) if out is not None else None,
        skip_blocked=skip_blocked,
        override=Override(allow, reason),
        progress=ReadProgressView(quiet=quiet),
    )
    print_warnings(result.warnings)
    emit_plan(result.plan, fmt, color=a.color, rate_limits=result.rate_limits)
    if out and fmt == "text":
        click.echo(f"\nSaved the plan to {out}. Apply it exactly with: couponctl apply {out}")
    denied = denial(result.plan)
    if denied is not None:  # after the plan is shown (and saved): the reviewer sees the findings and the remedy
        raise denied
    if not result.plan.applyable:
        raise blocked_error(result.plan)
    skipped = blocked_message(result.plan)
    if skipped:  # --skip-blocked: the plan can be applied; the skipped coupons are named on stderr all the same
        click.echo(skipped, err=True)
    if detailed_exitcode and result.plan.differs:
        ctx.exit(2)
