"""`couponctl env list`: the environments of couponctl.toml (decision D26)."""

from __future__ import annotations

import json

import click

from reconciler.cli import app
from reconciler.commands.env import env_list


@click.group(
    epilog="""\b
Examples:
  couponctl env list
  couponctl --env staging plan --out staging.plan
  COUPONCTL_ENV=prod couponctl apply
"""
)
def env() -> None:
    """Environments declared in couponctl.toml ([env.NAME]); select one with --env NAME or COUPONCTL_ENV."""


@env.command(
    "list",
    epilog="\b\nExamples:\n  couponctl env list\n  couponctl --env prod env list --format json",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def list_(ctx: click.Context, fmt: str) -> None:
    """Each environment: its name, state (password hidden), brand, mode, and whether it is selected."""
    rows = env_list(app(ctx).settings)
    if fmt == "json":
        data = [
            {"name": r.name, "state": r.state, "brand_id": r.brand_id, "mode": r.mode, "selected": r.selected}
            for r in rows
        ]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No environments: couponctl.toml declares no [env.NAME] section (every command uses its sections).")
        return
    table = [["", "NAME", "STATE", "BRAND", "MODE"]] + [
        ["*" if r.selected else "", r.name, r.state, r.brand_id or "-", r.mode] for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if not any(r.selected for r in rows):
        click.echo("(none selected: use --env NAME or COUPONCTL_ENV)")
