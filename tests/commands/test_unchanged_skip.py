"""Decision D36: the planner skips coupons unchanged since apply found them converged, and that changes no plan.

Every state here is made for real on the embedded sandbox (apply, console edits through the sandbox's admin API,
refresh, renames, `state mv`, protect flips, manifest edits), and at each step the plan with the skip is compared,
byte for byte as a saved plan, with the plan made with the skip turned off (`COUPONCTL_SKIP_UNCHANGED=0`), with
and without `--target` and paths, and at a later clock. The skip is also shown to happen (rows left undecoded).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.commands.apply import apply
from reconciler.commands.common import open_state
from reconciler.commands.converged import SKIP_ENV, record_converged, stored_state
from reconciler.commands.plan import plan
from reconciler.commands.upstream import default_brand_id, sandbox_credentials
from reconciler.config import Settings, load_settings
from reconciler.plan.planfile import save_plan
from reconciler.plan.planner import make_plan
from reconciler.plan.unchanged import Keys, Skip
from reconciler.resources import DesiredCoupon, SourceRef
from tests.commands.conftest import fixed_clock
from tests.commands.test_plan_apply import Hooks
from tests.commands.test_team_habits import sandbox_admin
from tests.e2e.coupons import product_doc, shop_doc, shop_draft, write
from tests.inprocess import couponctl

AFTER_CAMPAIGN = datetime(2029, 6, 1, tzinfo=UTC)  # every claim window of these coupons has ended


def _later() -> datetime:
    return AFTER_CAMPAIGN


def _use(root: Path, files: dict[str, list[dict[str, Any]]]) -> None:
    shutil.rmtree(root / "manifests", ignore_errors=True)
    for relative, docs in files.items():
        write(root / "manifests" / relative, docs)


def _docs(appid: str) -> dict[str, list[dict[str, Any]]]:
    return {
        "shop/a.yaml": [shop_doc("skip-a"), shop_doc("skip-b", fee=300), shop_draft()],
        "product/p.yaml": [product_doc("latte", appid, "拿铁满50减10"), product_doc("mocha", appid, "摩卡满50减10")],
    }


def _saved(settings: Settings, monkeypatch: pytest.MonkeyPatch, skip: bool, **options: Any) -> bytes:
    monkeypatch.setenv(SKIP_ENV, "1" if skip else "0")
    return save_plan(plan(settings, refresh=False, **options).plan)


CORPUS_VARIANTS: Sequence[dict[str, Any]] = (
    {},
    {"targets": ("shop_coupon.*",)},
    {"targets": ("product_coupon.latte",)},
    {"paths": ("manifests/shop",)},
    {"paths": ("manifests/product",), "targets": ("product_coupon.*",)},
)
ENV_VARIANTS: Sequence[dict[str, Any]] = ({}, {"targets": ("shop_coupon.env-a",)}, {"paths": ("manifests",)})


def _same_both_ways(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    *,
    later: bool = True,
    variants: Sequence[dict[str, Any]] = CORPUS_VARIANTS,
) -> None:
    """With and without the skip: the same plan for every way of asking, at the campaign's clock and a later one."""
    for options in variants:
        for clock in (fixed_clock, _later) if later else (fixed_clock,):
            with_skip = _saved(settings, monkeypatch, True, clock=clock, **options)
            assert with_skip == _saved(settings, monkeypatch, False, clock=clock, **options), (options, clock)
    monkeypatch.delenv(SKIP_ENV)


def _decoded(settings: Settings) -> tuple[int, int, int]:
    """(rows decoded, rows in state, markers found) of a no-refresh plan against the stored rows, the asset map
    included."""
    from reconciler.commands.plan import with_environment
    from reconciler.manifest import load_manifests

    store = open_state(settings, create=False)
    try:
        loaded = with_environment(settings, load_manifests(["manifests"], root=settings.root), ())
        rows, skip = stored_state(store)
        make_plan(
            loaded.coupons,
            rows,
            lineage=store.lineage,
            serial=store.serial,
            manifest_digest="",
            now=fixed_clock(),
            tool_version="t",
            default_brand_id=default_brand_id(settings),
            environment=settings.env.name,
            assets={sha: asset.url for sha, asset in store.assets().items()},  # as `couponctl plan` passes them
            unchanged_rows=skip,
        )
        return rows.decoded, len(rows), len(skip.found)
    finally:
        store.close()


def test_the_skip_never_changes_a_plan_over_real_states(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    appid = sandbox_credentials(settings).appid
    docs = _docs(appid)
    _use(tmp_path, docs)
    _same_both_ways(settings, monkeypatch, later=False)  # nothing applied: every coupon a create (none after 2028)

    assert apply(settings, Hooks(), clock=fixed_clock).report is not None
    assert _decoded(settings) == (0, 5, 0)  # apply recorded every marker: a no-op plan decodes no row
    _same_both_ways(settings, monkeypatch)

    # a manifest edit: only that coupon is decoded and compared, and it plans a PATCH either way
    docs["product/p.yaml"][0]["spec"]["display_info"]["name"] = "拿铁满60减10"
    _use(tmp_path, docs)
    assert _decoded(settings)[0] == 1
    _same_both_ways(settings, monkeypatch)

    # a console edit, then refresh: state changes, the marker misses, the plan shows the difference
    sandbox_admin(settings, "PATCH", "shop-coupons/skip-b", {"coupon_info": {"name": "控制台改名"}})
    assert couponctl("refresh").returncode == 0
    _same_both_ways(settings, monkeypatch)
    assert "No changes" not in couponctl("plan", "--no-refresh").stdout

    # a protect flip, a declared rename and a state mv
    docs["shop/a.yaml"][0]["protect"] = True
    docs["product/p.yaml"][1]["name"] = "mocha-2"
    docs["product/p.yaml"][1]["moved"] = {"from": "mocha"}
    _use(tmp_path, docs)
    _same_both_ways(settings, monkeypatch)
    assert couponctl("state", "mv", "shop_coupon.e2e-draft-direct-5", "shop_coupon.draft-moved").returncode == 0
    _same_both_ways(settings, monkeypatch, later=False)  # the draft's old name is a create now

    # put the manifest back in line with upstream and apply what is left: everything converges and is marked again
    docs["shop/a.yaml"][1]["spec"]["coupon_info"]["name"] = "控制台改名"
    docs["shop/a.yaml"][2]["name"] = "draft-moved"
    docs["shop/a.yaml"][2]["spec"]["out_coupon_id"] = "e2e-draft-direct-5"  # the same coupon upstream
    _use(tmp_path, docs)
    assert apply(settings, Hooks(), clock=fixed_clock).report is not None
    assert couponctl("plan", "--no-refresh", "--detailed-exitcode").returncode == 0
    decoded, total, _ = _decoded(settings)
    assert (decoded, total) == (0, 5)
    _same_both_ways(settings, monkeypatch)


def test_a_console_edit_then_refresh_is_never_planned_as_no_changes(settings: Settings, tmp_path: Path) -> None:
    """WeChat and git differ after a console edit accepted by refresh: the next plan (with or without reading
    upstream again) shows it, although the coupon's manifest did not change and it was marked converged."""
    _use(tmp_path, {"shop.yaml": [shop_doc("edited")]})
    assert couponctl("apply", "--auto-approve").returncode == 0
    assert couponctl("plan", "--no-refresh", "--detailed-exitcode").returncode == 0
    sandbox_admin(settings, "PATCH", "shop-coupons/edited", {"coupon_info": {"name": "控制台改名"}})
    assert couponctl("refresh").returncode == 0
    for args in (("plan", "--no-refresh"), ("plan",)):
        shown = couponctl(*args)
        assert "No changes" not in shown.stdout + shown.stderr
        assert "控制台改名" in shown.stdout + shown.stderr


def test_markers_belong_to_the_row_the_manifest_and_the_environment(settings: Settings, tmp_path: Path) -> None:
    """A marker recorded for a row is not valid for the row changed in any column, for another manifest, another
    environment, another default brand, another asset map or another couponctl (code fingerprint)."""
    _use(tmp_path, {"shop.yaml": [shop_doc("one")]})
    assert apply(settings, Hooks(), clock=fixed_clock).report is not None
    store = open_state(settings, create=False)
    try:
        rows, skip = stored_state(store)
        recorded = rows.recorded["shop_coupon.one"]
        assert recorded.marker  # recorded by apply
        want = DesiredCoupon("ShopCoupon", "one", "active", {"x": 1}, SourceRef("m.yaml", 1))
        base = Keys(skip, None, "b", {}).marker(want, recorded.row)
        others = {
            Keys(skip, "prod", "b", {}).marker(want, recorded.row),
            Keys(skip, None, "c", {}).marker(want, recorded.row),
            Keys(Skip({}, "other code"), None, "b", {}).marker(want, recorded.row),
            Keys(skip, None, "b", {}).marker(want, "0" * 64),
            Keys(skip, None, "b", {}).marker(
                DesiredCoupon("ShopCoupon", "one", "draft", {"x": 1}, want.source), recorded.row
            ),
        }
        product = DesiredCoupon("ProductCoupon", "p", "active", {"x": 1}, want.source)
        assert Keys(skip, None, "b", {}).marker(product, "r") != Keys(skip, None, "b", {"s": "u"}).marker(product, "r")
        assert base not in others and len(others) == 5
        # any write of the row (here: the store's own put, as refresh or import do) makes the marker miss
        resource = rows["shop_coupon.one"]
        store.put(replace(resource, upstream={**resource.upstream, "status": 3}))
        assert stored_state(store)[0].recorded["shop_coupon.one"].row != recorded.row
        store.put(resource)  # the very same row again: the same digest, and its marker holds again
        assert stored_state(store)[0].recorded["shop_coupon.one"] == recorded
        # another default brand is another key: planned in full, found converged, recorded
        assert record_converged(settings, store, coupons=None, default_brand_id="x", now=fixed_clock()) == 1
    finally:
        store.close()


def test_environments_keep_their_own_markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two environments (decision D26) over one embedded sandbox: each state's markers hold only for its own
    environment's coupons (its overlay and out_coupon_id prefix), and the plans are the same with and without the
    skip in both, before and after each apply and after an overlay change."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COUPONCTL_ACTOR", "tester")

    def configure(total: int) -> None:
        (tmp_path / "couponctl.toml").write_text(
            '[upstream]\nmode = "sandbox"\n\n'
            '[env.staging]\nout_coupon_id_prefix = "stg-"\n\n[env.staging.state]\nurl = "sqlite:///state/staging.db"\n\n'
            f'[env.staging.overlay."shop_coupon.*"]\ncoupon_info.receive_info.total_num = {total}\n\n'
            '[env.prod]\nout_coupon_id_prefix = "prd-"\n\n[env.prod.state]\nurl = "sqlite:///state/prod.db"\n',
            encoding="utf-8",
        )

    configure(50)
    _use(tmp_path, {"shop.yaml": [shop_doc("env-a"), shop_doc("env-b", fee=300)]})
    staging, prod = (load_settings(cwd=tmp_path, environment=name) for name in ("staging", "prod"))
    for applied in (staging, prod):
        assert apply(applied, Hooks(), clock=fixed_clock).report is not None
        for each in (staging, prod):
            _same_both_ways(each, monkeypatch, later=False, variants=ENV_VARIANTS)
    assert _decoded(staging)[:2] == _decoded(prod)[:2] == (0, 2)
    configure(60)  # the staging overlay changes: staging's coupons are compared again, prod's stay skipped
    staging = load_settings(cwd=tmp_path, environment="staging")
    assert _decoded(staging)[0] == 2 and _decoded(prod)[0] == 0
    _same_both_ways(staging, monkeypatch, variants=ENV_VARIANTS)
    _same_both_ways(prod, monkeypatch, variants=ENV_VARIANTS)
