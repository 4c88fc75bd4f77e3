"""`couponctl fmt`: canonical key order, indentation and quoting for manifest files, comments kept."""

from __future__ import annotations

import click

from reconciler.cli import app


@click.command(
    epilog="\b\nExamples:\n  couponctl fmt\n  couponctl fmt --check manifests/\n"
    "  couponctl fmt manifests/double11-2028/shop-coupons.yaml"
)
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--check", is_flag=True, help="Write nothing; list the files that would change and exit 1 if any (CI).")
@click.pass_context
def fmt(ctx: click.Context, paths: tuple[str, ...], check: bool) -> None:
    """Rewrite manifests in their canonical layout: keys in the documented order, one quoting style.

    PATH is a file or a directory searched for *.yaml / *.yml (default: the manifest paths of couponctl.toml).
    Comments, flow style and values are kept. A file that is not valid YAML is left untouched and reported
    (exit 1). With --check nothing is written: the files that would change are listed and the exit code is 1.
    """
    from reconciler.commands.fmt import fmt as format_files
    from reconciler.errors import ConfigError

    try:
        settings = app(ctx).settings
    except ConfigError:
        if not paths:
            raise
        settings = None
    result = format_files(settings, paths, check=check)
    for name in result.changed:
        click.echo(f"{'would reformat' if check else 'reformatted'} {name}")
    for name, why in result.failed:
        click.echo(f"Error: {name}: {why} (left unchanged)", err=True)
    if not result.changed and not result.failed:
        click.echo(f"{result.checked} file{'s' if result.checked != 1 else ''} already formatted.")
    if result.failed or (check and result.changed):
        ctx.exit(1)
