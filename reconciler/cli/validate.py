"""`couponctl validate` (offline manifest checks) and `couponctl schema` (the manifest JSON Schema).

Start-up stays light on purpose: nothing here imports httpx, sqlalchemy, starlette, rich or cryptography.
"""

from __future__ import annotations

import json

import click

from reconciler.cli import app


@click.command(
    epilog="\b\nExamples:\n  couponctl validate\n  couponctl validate manifests/double11-2028/\n"
    "  couponctl validate a.yaml b.yaml"
)
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[str, ...]) -> None:
    """Check manifests offline: YAML, schema and every documented business rule. No network.

    PATH is a manifest file or a directory searched recursively for *.yaml / *.yml (default: the manifest
    paths of couponctl.toml). Exits 0 when every coupon is valid, 1 otherwise with every problem listed as
    FILE:LINE:COL: address: field.path: message.
    """
    from reconciler.commands.validate import validate as check
    from reconciler.config import Settings
    from reconciler.errors import ConfigError

    settings: Settings | None
    if not paths:
        settings = app(ctx).settings
    else:
        try:  # explicit files validate even when couponctl.toml is broken: then without the cache
            settings = app(ctx).settings
        except ConfigError:
            settings = None
    result = check(settings, paths)
    for warning in result.warnings:
        click.echo(str(warning), err=True)
    n, m = result.coupons, result.files
    click.echo(
        f"Success! {n} coupon{'s' if n != 1 else ''} in {m} file{'s' if m != 1 else ''} "
        f"{'are' if n != 1 else 'is'} valid."
    )


@click.command(epilog="\b\nExamples:\n  couponctl schema > manifest.schema.json")
def schema() -> None:
    """Print the JSON Schema of a manifest document (for editors and CI linters)."""
    from reconciler.commands.validate import schema as manifest_schema

    click.echo(json.dumps(manifest_schema(), indent=2, ensure_ascii=False))
