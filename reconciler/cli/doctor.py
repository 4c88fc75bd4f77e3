"""`couponctl doctor`: the account's prerequisites, one line per check, each failure with its fix (decision D32)."""

from __future__ import annotations

import json

import click

from reconciler.cli import app
from reconciler.cli.progress import quiet_option

DOCTOR_EXAMPLES = """\b
Examples:
  couponctl doctor                     # exit 0 when every check passes, 1 otherwise
  couponctl doctor --format json
  couponctl doctor --brand 1234567 --brand 7654321
  couponctl doctor --fix --notify-url https://example.com/wechatpay/coupon-events
"""


@click.command(epilog=DOCTOR_EXAMPLES)
@click.option(
    "--fix",
    is_flag=True,
    help="Also send the account calls that fix what they can: /shop/coupon/confirm when the shop is not confirmed; "
    "with --notify-url, the product-coupon notify URL when none is set. Never a coupon call.",
)
@click.option("--notify-url", metavar="URL", help="With --fix: the https URL to set as the notify URL (B.1).")
@click.option("--brand", "brands", multiple=True, metavar="BRAND_ID", help="Also check this brand (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@quiet_option
@click.pass_context
def doctor(
    ctx: click.Context,
    fix: bool,
    notify_url: str | None,
    brands: tuple[str, ...],
    fmt: str,
    as_json: bool,
    quiet: bool,
) -> None:
    """Check what the account needs before the first apply. Reads only (unless --fix).

    The configuration loads; each configured family's credentials are present (never printed); the shop's access
    token is fetched and /shop/coupon/confirm was called; WeChat Pay accepts our signature and its answer verifies;
    the product-coupon notify URL is set; each brand has authorised the partner. Exit 0 when every check passes,
    1 otherwise. Retries of its calls are told on stderr (--quiet: not).
    """
    from reconciler.cli.progress import ReadProgressView
    from reconciler.commands.doctor import config_failure
    from reconciler.commands.doctor import doctor as run_doctor
    from reconciler.errors import ConfigError

    try:
        settings = app(ctx).settings
    except ConfigError as err:
        report = config_failure(err)
    else:
        view = ReadProgressView(quiet=quiet)
        report = run_doctor(settings, fix=fix, notify_url=notify_url, brands=brands, progress=view)
    if as_json or fmt == "json":
        click.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    else:
        if report.upstream:
            click.echo(f"couponctl doctor: {report.upstream}")
        for check in report.checks:
            click.echo(check.line())
        failed = sum(1 for c in report.checks if not c.ok)
        total = len(report.checks)
        if failed:
            click.echo(f"{failed} of {total} checks failed: fix them, then run couponctl doctor again.")
        else:
            click.echo(f"All {total} checks passed: ready to apply.")
    if not report.ok:
        ctx.exit(1)
