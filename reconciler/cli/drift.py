"""`couponctl drift`, `refresh` and `import`: what changed upstream outside couponctl, and adopting it."""

from __future__ import annotations

import click

from reconciler.cli import app
from reconciler.cli.progress import quiet_option

ALL_HELP = "Also read coupons that can no longer change (deactivated, expired, voided; decision D31)."

DRIFT_EXAMPLES = """\b
Examples:
  couponctl drift                      # exit 0 in sync, 2 drifted, 1 error
  couponctl drift --format json > drift.json
  couponctl drift --format markdown >> "$GITHUB_STEP_SUMMARY"
  couponctl drift --all --quiet        # read every managed coupon; no progress on stderr
"""


@click.command(epilog=DRIFT_EXAMPLES)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--no-manifests", is_flag=True, help="Compare upstream with state only (skip pending manifest changes).")
@click.option("--all", "everything", is_flag=True, help=ALL_HELP)
@quiet_option
@click.pass_context
def drift(ctx: click.Context, fmt: str, no_manifests: bool, everything: bool, quiet: bool) -> None:
    """Re-read the managed coupons upstream and report what changed outside couponctl. Read-only.

    Coupons that can no longer change (deactivated product coupons, expired or voided shop coupons) are not read
    and the report says how many were skipped and why; --all reads them too. Progress goes to stderr (--quiet: none).

    Reports, field by field: coupons changed outside couponctl (upstream differs from state), coupons missing or
    ended upstream, shop coupons nobody manages, and (for context) manifest changes not yet applied. Unmanaged
    shop coupons declared expected in couponctl.toml ([[drift.expected_unmanaged]], with a reason) are listed and
    are not drift. Exit 0 in sync, 2 when anything drifted, 1 on error.
    """
    from reconciler.cli.progress import ReadProgressView
    from reconciler.commands.drift import drift as find_drift
    from reconciler.render.drift import render_drift

    view = ReadProgressView(quiet=quiet, notes=False)  # the report itself says what was skipped
    report = find_drift(app(ctx).settings, manifests=not no_manifests, everything=everything, progress=view)
    click.echo(render_drift(report, fmt).rstrip("\n"))
    if report.drifted:
        ctx.exit(2)


@click.command(epilog="\b\nExamples:\n  couponctl refresh --lock-timeout 30\n  couponctl refresh --all --quiet")
@click.option("--lock-timeout", type=float, default=None, metavar="SECONDS", help="Wait for the state lock.")
@click.option("--all", "everything", is_flag=True, help=ALL_HELP)
@quiet_option
@click.pass_context
def refresh(ctx: click.Context, lock_timeout: float | None, everything: bool, quiet: bool) -> None:
    """Accept upstream's current values into state (takes the lock, records history).

    Coupons missing upstream are removed from state, so the next plan proposes creating them again. Coupons that
    can no longer change are not read and keep their state (--all reads them too).
    """
    from reconciler.cli.progress import ReadProgressView
    from reconciler.commands.drift import refresh as accept_upstream

    view = ReadProgressView(quiet=quiet, notes=False)
    result = accept_upstream(app(ctx).settings, lock_timeout_s=lock_timeout, everything=everything, progress=view)
    click.echo(f"Refreshed {result.checked} coupon(s) from upstream: {result.changed} updated in state.")
    if result.skipped:
        click.echo(result.skipped[0].upper() + result.skipped[1:] + "; their state is kept.")


IMPORT_EXAMPLES = """\b
Examples:
  couponctl import shop_coupon.spring-sale spring-sale-2028      # adopt by out_coupon_id
  couponctl import product_coupon.coffee-combo 1000000013         # adopt by product_coupon_id
  couponctl import --generate manifests/imported                  # manifests for unmanaged shop coupons
  couponctl import --generate manifests/imported --product-id 1000000013
"""


@click.command("import", epilog=IMPORT_EXAMPLES)
@click.argument("address", required=False)
@click.argument("upstream_id", required=False)
@click.option(
    "--generate",
    "generate_dir",
    type=click.Path(file_okay=False),
    help="Write manifests for unmanaged coupons into DIR and adopt them.",
)
@click.option("--product-id", "product_ids", multiple=True, help="With --generate: also these product coupon ids.")
@click.option("--brand-id", default=None, help="Brand of the product coupon (default: the configured brand).")
@click.option("--lock-timeout", type=float, default=None, metavar="SECONDS", help="Wait for the state lock.")
@quiet_option
@click.pass_context
def import_(
    ctx: click.Context,
    address: str | None,
    upstream_id: str | None,
    generate_dir: str | None,
    product_ids: tuple[str, ...],
    brand_id: str | None,
    lock_timeout: float | None,
    quiet: bool,
) -> None:
    """Adopt an existing upstream coupon into state, or generate manifests for coupons no manifest declares.
    With --generate, progress of the reads goes to stderr (--quiet: none)."""
    from reconciler.cli.progress import ReadProgressView
    from reconciler.commands.imports import import_coupon, import_generated

    settings = app(ctx).settings
    if generate_dir is None and (address is None or upstream_id is None):
        raise click.UsageError("give ADDRESS and UPSTREAM_ID, or --generate DIR")
    if generate_dir is not None and address is not None:
        raise click.UsageError("--generate takes no ADDRESS / UPSTREAM_ID")
    if generate_dir is not None:
        written = import_generated(
            settings,
            generate_dir,
            product_ids=product_ids,
            brand_id=brand_id,
            lock_timeout_s=lock_timeout,
            progress=ReadProgressView(quiet=quiet),
        )
        for line in written:
            click.echo(f"wrote {line}")
        click.echo(f"Generated and adopted {len(written)} coupon(s). Run `couponctl plan` to check.")
        return
    assert address is not None and upstream_id is not None
    resource = import_coupon(settings, address, upstream_id, brand_id=brand_id, lock_timeout_s=lock_timeout)
    click.echo(f"Imported {address} ({resource.upstream_id}). Declare it in a manifest, then `couponctl plan`.")
