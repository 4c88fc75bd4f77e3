"""Printing helpers shared by the commands (the CLI is the only layer that prints)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import click

from reconciler.errors import Diagnostic
from reconciler.plan.model import Plan
from reconciler.upstream_facts import DEFAULT_RATE_LIMITS


def render_plan(plan: Plan, fmt: str, *, color: bool, rate_limits: Mapping[str, float] = DEFAULT_RATE_LIMITS) -> str:
    """The plan as text, JSON or Markdown; its ETA at `rate_limits` (the configured `[apply] rate_limits`)."""
    if fmt == "json":
        from reconciler.render.json_doc import render_json

        return render_json(plan, rate_limits=rate_limits)
    if fmt == "markdown":
        from reconciler.render.markdown import render_markdown

        return render_markdown(plan, rate_limits=rate_limits)
    from reconciler.render.text import render_text

    return render_text(plan, color=color, rate_limits=rate_limits)


def emit_plan(plan: Plan, fmt: str, *, color: bool, rate_limits: Mapping[str, float] = DEFAULT_RATE_LIMITS) -> None:
    if fmt != "text":
        click.echo(render_plan(plan, fmt, color=color, rate_limits=rate_limits).rstrip("\n"))
        return
    from reconciler.render.text import text_chunks

    # Written as rendered (issue 20): 100,000 creates are never held whole as text. Same bytes as render_plan.
    chunks = text_chunks(plan, color=color, rate_limits=rate_limits)
    last = next(chunks)
    for chunk in chunks:
        click.echo(last, nl=False)
        last = chunk
    click.echo(last.rstrip("\n"))


def print_warnings(warnings: Iterable[Diagnostic]) -> None:
    for d in warnings:
        click.echo(str(d), err=True)


# Reviewed overrides of policy rules (issue 18), shared by plan and apply.
ALLOW_OPTION = click.option(
    "--allow",
    "allow",
    multiple=True,
    metavar="RULE_ID",
    help="Let the findings of this policy rule pass (repeatable); needs --reason. Recorded in the plan and history.",
)
REASON_OPTION = click.option("--reason", default=None, metavar="TEXT", help="Why the --allow override is right.")
