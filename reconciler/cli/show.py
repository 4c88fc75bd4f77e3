"""`couponctl show PLAN_FILE [--format text|json|markdown]`: render a saved plan without touching state or upstream."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli import app
from reconciler.cli.output import render_plan
from reconciler.errors import ConfigError


@click.command(
    epilog="\b\nExamples:\n  couponctl show plan.bin\n  couponctl show plan.bin --format markdown > plan.md\n"
    "  couponctl show plan.bin --format json | jq .summary"
)
@click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.pass_context
def show(ctx: click.Context, plan_file: Path, fmt: str) -> None:
    """Show a saved plan (made with `plan --out FILE`) as text, JSON or Markdown."""
    from reconciler.commands.plan import show as show_plan

    a = app(ctx)
    try:  # the ETA uses the configured rates; a saved plan still shows when couponctl.toml is broken
        settings = a.settings
    except ConfigError:
        settings = None
    shown = show_plan(settings, plan_file)
    click.echo(render_plan(shown.plan, fmt, color=a.color, rate_limits=shown.rate_limits), nl=False)
