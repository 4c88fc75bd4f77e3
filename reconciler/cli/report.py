"""`couponctl report`: the campaign report, one self-contained HTML page (timeline, money, this plan, health)."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli import app
from reconciler.cli.output import print_warnings

EXAMPLES = """\b
Examples:
  couponctl report --out state/report.html                  # a fresh plan (re-reads upstream, changes nothing)
  couponctl report --plan plan.bin --out report.html        # the saved plan a pull request reviews
  couponctl drift --format json > drift.json; couponctl report --drift drift.json --out report.html
"""


@click.command(epilog=EXAMPLES)
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Write the page to FILE."
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Report this saved plan (made with `plan --out FILE`) instead of planning afresh; upstream is not read.",
)
@click.option(
    "--drift",
    "drift_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Show this drift result (written by `couponctl drift --format json`) under Health.",
)
@click.option("--refresh/--no-refresh", default=True, show_default=True, help="Re-read upstream for a fresh plan.")
@click.pass_context
def report(ctx: click.Context, out: Path, plan_file: Path | None, drift_file: Path | None, refresh: bool) -> None:
    """Write the campaign report: one HTML file that needs no network (open it from disk or a CI artifact).

    It shows a timeline of every coupon's claim and validity windows grouped by manifest file, the money exposed
    by campaign, by kind and per day, this plan in the words of the text plan (blocked actions first) and health:
    the last drift result known and the latest runs from history. Nothing is changed, upstream or in state; a
    plan with blocked actions is reported, not refused (exit 0).
    """
    from reconciler.commands.report import report as make_report

    result = make_report(app(ctx).settings, out=out, plan_file=plan_file, drift_file=drift_file, refresh=refresh)
    print_warnings(result.warnings)
    actions = len(result.plan.actions)
    click.echo(
        f"Wrote the report to {result.out} ({result.size / 1024:,.0f} KiB): {result.coupons} coupon"
        f"{'s' if result.coupons != 1 else ''}, {actions} planned action{'s' if actions != 1 else ''}. "
        "Open it in a browser; it needs no network."
    )
