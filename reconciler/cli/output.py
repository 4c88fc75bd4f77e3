"""Printing helpers shared by the commands (the CLI is the only layer that prints)."""

from __future__ import annotations

from collections.abc import Iterable

import click

from reconciler.errors import Diagnostic
from reconciler.plan.model import Plan


def render_plan(plan: Plan, fmt: str, *, color: bool) -> str:
    if fmt == "json":
        from reconciler.plan.render_json import render_json

        return render_json(plan)
    if fmt == "markdown":
        from reconciler.plan.render_markdown import render_markdown

        return render_markdown(plan)
    from reconciler.plan.render_text import render_text

    return render_text(plan, color=color)


def emit_plan(plan: Plan, fmt: str, *, color: bool) -> None:
    click.echo(render_plan(plan, fmt, color=color).rstrip("\n"))


def print_warnings(warnings: Iterable[Diagnostic]) -> None:
    for d in warnings:
        click.echo(str(d), err=True)
