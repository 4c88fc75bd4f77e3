"""`couponctl show PLAN_FILE [--format text|json|markdown]`: render a saved plan without touching state or upstream."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli import app
from reconciler.errors import SavedPlanError


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
    from reconciler.plan.planfile import load_plan

    try:
        data = plan_file.read_bytes()
    except OSError as exc:
        raise SavedPlanError(f"cannot read plan file {plan_file}: {exc.strerror}") from None
    plan = load_plan(data)
    if fmt == "json":
        from reconciler.plan.render_json import render_json

        click.echo(render_json(plan), nl=False)
    elif fmt == "markdown":
        from reconciler.plan.render_markdown import render_markdown

        click.echo(render_markdown(plan), nl=False)
    else:
        from reconciler.plan.render_text import render_text

        click.echo(render_text(plan, color=app(ctx).color), nl=False)
