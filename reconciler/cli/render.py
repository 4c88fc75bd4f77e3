"""`couponctl render`: print the manifests with every coupon set expanded (offline, for review and debugging)."""

from __future__ import annotations

import click

from reconciler.cli import app


@click.command(
    epilog="\b\nExamples:\n  couponctl render\n  couponctl render manifests/double11-2028/shop-coupons.yaml\n"
    "  couponctl render > expanded.yaml && couponctl validate expanded.yaml"
)
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.pass_context
def render(ctx: click.Context, paths: tuple[str, ...]) -> None:
    """Print the manifests as plain YAML documents, every CouponSet expanded into its coupons.

    The manifests are validated first (errors as in `validate`, exit 1). The output is a valid manifest on its
    own; a comment above each document names the file, line, set and row it came from.
    """
    from reconciler.commands.render import render as expanded
    from reconciler.errors import ConfigError

    try:
        settings = app(ctx).settings
    except ConfigError:
        if not paths:
            raise
        settings = None  # explicit files render even when couponctl.toml is broken
    click.echo(expanded(settings, paths), nl=False)
