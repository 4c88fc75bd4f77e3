"""`couponctl sandbox serve`: run the emulator of both WeChat API families on loopback (contract §3.1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

SERVE_EPILOG = """\b
The sandbox emulates the Mini Program /shop/coupon/* and access_token APIs and the
WeChat Pay APIv3 partner product-coupon APIs (see docs/sandbox.md). Its credentials
are written to (or reused from) --keys-dir:
  sandbox.json               appid, app_secret, mchid, serial_no, brand_id, public_key_id
  merchant_private_key.pem   signs your WeChat Pay requests
  wechatpay_public_key.pem   verifies the sandbox's signed answers
Admin API: /_sandbox/state, /_sandbox/calls, /_sandbox/faults, /_sandbox/limits, ...

\b
Operations (for --rate-limit and fault rules):
  token stable_token shop.add shop.update shop.get shop.get_list shop.update_status
  shop.update_coupon_stock shop.confirm product.create product.get product.patch
  product.deactivate product.stocks.list product.stocks.get product.stocks.create
  product.stocks.deactivate product.media.upload_image
  (brand routes: brand.product.create, brand.product.get, ...)

\b
Examples:
  couponctl sandbox serve --port 8780 --data state/sandbox.db --keys-dir state/sandbox-keys
  couponctl sandbox serve --port 0 --rate-limit product.create=5 --product-initial-state AUDITING
  couponctl sandbox serve --config-json sandbox-config.json
"""


@click.group(epilog="\b\nExample:\n  couponctl sandbox serve --port 8787 --keys-dir /tmp/sandbox-keys")
def sandbox() -> None:
    """The local emulator of both WeChat coupon APIs."""


def _parse_rate(values: tuple[str, ...]) -> dict[str, float | None]:
    rates: dict[str, float | None] = {}
    for item in values:
        op, sep, rate = item.partition("=")
        if not sep or not op:
            raise click.BadParameter(f"{item!r}: expected OP=PER_SECOND", param_hint="--rate-limit")
        if rate.lower() in {"none", "off", ""}:
            rates[op] = None
            continue
        try:
            value = float(rate)
        except ValueError:
            raise click.BadParameter(f"{item!r}: {rate!r} is not a number", param_hint="--rate-limit") from None
        if value <= 0:
            raise click.BadParameter(f"{item!r}: the rate must be positive", param_hint="--rate-limit")
        rates[op] = value
    return rates


@sandbox.command(epilog=SERVE_EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="Port; 0 picks a free one.")
@click.option(
    "--data", "data", metavar="FILE", help="SQLite file that keeps coupons across restarts (default: memory)."
)
@click.option("--keys-dir", metavar="DIR", help="Where credentials are written or reused (default: a new temp dir).")
@click.option("--token-lifetime", type=click.FloatRange(min=1), help="access_token lifetime in seconds (default 7200).")
@click.option(
    "--token-grace",
    type=click.FloatRange(min=0),
    help="Seconds an old token keeps working after rotation (default 300).",
)
@click.option(
    "--product-initial-state",
    type=click.Choice(["EFFECTIVE", "AUDITING"]),
    help="State of a new product coupon (default EFFECTIVE; AUDITING waits for POST /_sandbox/.../review).",
)
@click.option(
    "--rate-limit",
    "rate_limits",
    multiple=True,
    metavar="OP=PER_SECOND",
    help="Per-operation rate limit, repeatable; OP=none removes a limit. Defaults: product.* 20/s, "
    "shop.* 800/30s, stable_token 10000/min.",
)
@click.option(
    "--config-json",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON object of SandboxConfig fields (see docs/sandbox.md), applied before the other options.",
)
def serve(
    host: str,
    port: int,
    data: str | None,
    keys_dir: str | None,
    token_lifetime: float | None,
    token_grace: float | None,
    product_initial_state: str | None,
    rate_limits: tuple[str, ...],
    config_json: Path | None,
) -> None:
    """Serve the sandbox over HTTP and print its URL (first line of output).

    Clients authenticate with the credentials in --keys-dir; nothing secret is printed.
    """
    from reconciler.commands.sandbox import Serving, serve_sandbox

    overrides: dict[str, Any] = {}
    if token_lifetime is not None:
        overrides["token_lifetime_s"] = token_lifetime
    if token_grace is not None:
        overrides["token_grace_s"] = token_grace
    if product_initial_state is not None:
        overrides["product_initial_state"] = product_initial_state
    if rate_limits:
        overrides["rate_limits"] = _parse_rate(rate_limits)

    def announce(serving: Serving) -> None:
        click.echo(f"couponctl sandbox serving on {serving.url}")
        click.echo(f"credentials: {serving.keys_dir}")
        click.echo(f"data: {serving.data if serving.data else 'memory (lost on exit)'}")
        click.echo("Press Ctrl+C to stop.")

    serve_sandbox(
        host, port, data=data, keys_dir=keys_dir, config_json=config_json, overrides=overrides, announce=announce
    )
