"""`couponctl validate` (offline manifest checks) and `couponctl schema` (the manifest JSON Schema).

Start-up stays light on purpose: nothing here imports httpx, sqlalchemy, starlette, rich or cryptography.
"""

from __future__ import annotations

import json
import os

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
    from reconciler.errors import ConfigError
    from reconciler.manifest import load_manifests
    from reconciler.manifest.cache import ManifestCache, cache_for

    cache: ManifestCache | None = None
    if not paths:
        settings = app(ctx).settings
        paths = tuple(_display(str(settings.resolve(p))) for p in settings.manifests)
        cache = cache_for(settings)
    else:
        try:  # explicit files validate even when couponctl.toml is broken: then without the cache
            cache = cache_for(app(ctx).settings)
        except ConfigError:
            cache = None
    result = load_manifests(list(paths), cache=cache)
    for warning in result.warnings:
        click.echo(str(warning), err=True)
    n, m = len(result.coupons), len(result.files)
    click.echo(
        f"Success! {n} coupon{'s' if n != 1 else ''} in {m} file{'s' if m != 1 else ''} "
        f"{'are' if n != 1 else 'is'} valid."
    )


def _display(path: str) -> str:
    """A path relative to the working directory when it lies below it (diagnostics show what users type)."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


@click.command(epilog="\b\nExamples:\n  couponctl schema > manifest.schema.json")
def schema() -> None:
    """Print the JSON Schema of a manifest document (for editors and CI linters)."""
    from reconciler.manifest import manifest_json_schema

    click.echo(json.dumps(manifest_json_schema(), indent=2, ensure_ascii=False))
