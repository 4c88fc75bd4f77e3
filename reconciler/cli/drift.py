"""`couponctl drift`, `refresh` and `import`: what changed upstream outside couponctl, and adopting it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import click

from reconciler.cli import app
from reconciler.config import Settings
from reconciler.errors import StateError, UpstreamError
from reconciler.plan.render_drift import DriftReport, PendingChange, pending_from_actions, render_drift
from reconciler.providers.pacing import Pacer
from reconciler.refresh import UpstreamSnapshot, drift_of, read_upstream, refreshed_state
from reconciler.resources import IgnoreRule, ResourceState, split_address
from reconciler.upstream import open_upstream
from reconciler.workflow import actor, build_plan, git_commit, iso, now_utc, open_state

DRIFT_EXAMPLES = """\b
Examples:
  couponctl drift                      # exit 0 in sync, 2 drifted, 1 error
  couponctl drift --format json > drift.json
  couponctl drift --format markdown >> "$GITHUB_STEP_SUMMARY"
"""


def _snapshot(settings: Settings, resources: Mapping[str, ResourceState]) -> UpstreamSnapshot:
    async def go() -> UpstreamSnapshot:
        async with open_upstream(settings) as upstream:
            return await read_upstream(upstream, resources, Pacer.from_settings(settings))

    return asyncio.run(go())


@click.command(epilog=DRIFT_EXAMPLES)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--no-manifests", is_flag=True, help="Compare upstream with state only (skip pending manifest changes).")
@click.pass_context
def drift(ctx: click.Context, fmt: str, no_manifests: bool) -> None:
    """Re-read every managed coupon upstream and report what changed outside couponctl. Read-only.

    Reports, field by field: coupons changed outside couponctl (upstream differs from state), coupons missing or
    ended upstream, shop coupons nobody manages, and (for context) manifest changes not yet applied.
    Exit 0 in sync, 2 when anything drifted, 1 on error.
    """
    settings = app(ctx).settings
    store = open_state(settings)
    try:
        resources = store.resources()
        ignore: dict[str, tuple[IgnoreRule, ...]] = {}
        pending: tuple[PendingChange, ...] = ()
        if not no_manifests:
            inputs = build_plan(settings, store, paths=(), targets=(), now=now_utc(), state=resources)
            pending = pending_from_actions([a for a in inputs.plan.actions if a.calls or a.type.value == "forget"])
            ignore = {c.address: c.ignore_drift for c in inputs.coupons if c.ignore_drift}
        snap = _snapshot(settings, resources)
    finally:
        store.close()
    report = DriftReport(tuple(drift_of(resources, snap, ignore)), pending, len(resources), snap.reads)
    click.echo(render_drift(report, fmt).rstrip("\n"))
    if report.drifted:
        ctx.exit(2)


@click.command(epilog="\b\nExample:\n  couponctl refresh --lock-timeout 30")
@click.option("--lock-timeout", type=float, default=None, metavar="SECONDS", help="Wait for the state lock.")
@click.pass_context
def refresh(ctx: click.Context, lock_timeout: float | None) -> None:
    """Accept upstream's current values into state (takes the lock, records history).

    Coupons missing upstream are removed from state, so the next plan proposes creating them again.
    """
    settings = app(ctx).settings
    store = open_state(settings)
    try:
        timeout = settings.state.lock_timeout if lock_timeout is None else lock_timeout
        with store.lock("refresh", timeout=timeout):
            resources = store.resources()
            snap = _snapshot(settings, resources)
            items = drift_of(resources, snap)
            run_id = store.begin_run("refresh", actor=actor(), git_commit=git_commit(settings.root))
            new_state = refreshed_state(resources, snap, iso(now_utc()))
            changed = 0
            for address, resource in resources.items():
                if address not in new_state:
                    store.remove(address)
                    changed += 1
                elif new_state[address].upstream != resource.upstream:
                    store.put(new_state[address])
                    changed += 1
            store.end_run(
                run_id, "ok", {"changed": changed, "drift": [d.address for d in items if d.category != "unmanaged"]}
            )
    finally:
        store.close()
    click.echo(f"Refreshed {len(resources)} coupon(s) from upstream: {changed} updated in state.")


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
@click.pass_context
def import_(
    ctx: click.Context,
    address: str | None,
    upstream_id: str | None,
    generate_dir: str | None,
    product_ids: tuple[str, ...],
    brand_id: str | None,
    lock_timeout: float | None,
) -> None:
    """Adopt an existing upstream coupon into state, or generate manifests for coupons no manifest declares."""
    from reconciler.importer import adopt, generate

    settings = app(ctx).settings
    if generate_dir is None and (address is None or upstream_id is None):
        raise click.UsageError("give ADDRESS and UPSTREAM_ID, or --generate DIR")
    if generate_dir is not None and address is not None:
        raise click.UsageError("--generate takes no ADDRESS / UPSTREAM_ID")
    if address is not None:
        try:
            split_address(address)
        except ValueError as exc:
            raise StateError(str(exc)) from None
    store = open_state(settings)
    try:
        timeout = settings.state.lock_timeout if lock_timeout is None else lock_timeout
        with store.lock("import", timeout=timeout):
            run_id = store.begin_run("import", actor=actor(), git_commit=git_commit(settings.root))
            try:
                if generate_dir is not None:
                    written = asyncio.run(generate(settings, store, generate_dir, product_ids, brand_id))
                    summary: dict[str, Any] = {"generated": written}
                    for line in written:
                        click.echo(f"wrote {line}")
                    click.echo(f"Generated and adopted {len(written)} coupon(s). Run `couponctl plan` to check.")
                else:
                    assert address is not None and upstream_id is not None
                    resource = asyncio.run(adopt(settings, store, address, upstream_id, brand_id))
                    summary = {"imported": address}
                    click.echo(
                        f"Imported {address} ({resource.upstream_id}). Declare it in a manifest, then `couponctl plan`."
                    )
            except UpstreamError:
                store.end_run(run_id, "failed", {})
                raise
            store.end_run(run_id, "ok", summary)
    finally:
        store.close()
