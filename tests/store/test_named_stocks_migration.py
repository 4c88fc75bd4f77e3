"""Revision r0003 (decision D29): states written before named stocks upgrade, and plan no-op afterwards.

The coupons are created for real (apply on the embedded sandbox), the state is then taken back to revision r0002
with the migration's own downgrade, which leaves exactly the shape couponctl wrote before D29 (`stock` /
`stock_bundle` in each product coupon's upstream object; checked on the rows). From there: `couponctl state
upgrade` (and, separately, the automatic upgrade any command does on opening the state) brings it to r0003, and a
plan is "No changes" with exit 0, for the manifest as written (`stock:`) and rewritten as `stocks: {main: ...}`.
Both backends: SQLite and PostgreSQL (tests/pg.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from alembic import command

from reconciler.commands.apply import apply
from reconciler.config import Settings, load_settings
from reconciler.store import open_store
from reconciler.store import schema as state_schema
from reconciler.store.migrations.versions import r0003_named_stocks as r0003
from tests.commands.conftest import fixed_clock
from tests.commands.test_plan_apply import Hooks
from tests.e2e.coupons import product_doc, shop_doc, write
from tests.inprocess import couponctl

REPO = Path(__file__).resolve().parents[2]
SINGLE = "product_coupon.coffee"
BUNDLE = "product_coupon.coffee-ladder"


def _docs(named: bool) -> list[dict[str, Any]]:
    single = product_doc("coffee", "wx1234567890abcdef", "咖啡满50减10")
    bundle = yaml.safe_load((REPO / "tests/good_manifests/progressive-bundle.yaml").read_text(encoding="utf-8"))
    if named:  # the same coupons written with the maps (decision D29)
        single["spec"]["stocks"] = {"main": single["spec"].pop("stock")}
        bundle["spec"]["stock_bundles"] = {"main": bundle["spec"].pop("stock_bundle")}
    return [shop_doc("d11-store-100-off-20"), single, bundle]


def _project(root: Path, url: str) -> Settings:
    (root / "couponctl.toml").write_text(f'[upstream]\nmode = "sandbox"\n\n[state]\nurl = "{url}"\n', "utf-8")
    write(root / "manifests" / "coupons.yaml", _docs(named=False))
    return load_settings(cwd=root)


def _rows(url: str) -> dict[str, dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT address, upstream FROM resources"))
            return {str(address): json.loads(upstream) for address, upstream in rows}
    finally:
        engine.dispose()


def _downgrade_to_r0002(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            command.downgrade(state_schema._config(conn), "r0002")
            assert state_schema.current_revision(conn) == "r0002"
    finally:
        engine.dispose()


def _plan_is_no_op(root: Path) -> None:
    done = couponctl("plan", "--detailed-exitcode", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No changes" in done.stdout


@pytest.fixture
def applied(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, dict[str, Any]]:
    """A project whose three coupons were applied; returns (root, state URL, the r0003 rows)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COUPONCTL_ACTOR", "tester")
    settings = _project(tmp_path, store_url)
    result = apply(settings, Hooks(), clock=fixed_clock)
    assert result.report is not None and result.report.ok, result
    rows = _rows(store_url)
    assert list(rows[SINGLE]["stocks"]) == ["main"] and "stock" not in rows[SINGLE]
    assert list(rows[BUNDLE]["stock_bundles"]) == ["main"] and "stock_bundle" not in rows[BUNDLE]
    return tmp_path, store_url, rows


def test_a_state_from_before_named_stocks_upgrades_and_plans_no_op(applied: tuple[Path, str, Any]) -> None:
    root, url, named_rows = applied
    _downgrade_to_r0002(url)
    old = _rows(url)
    # the shape couponctl wrote before D29: the create answer's stock as `stock` / `stock_bundle`
    assert old[SINGLE]["stock"] == named_rows[SINGLE]["stocks"]["main"] and "stocks" not in old[SINGLE]
    assert old[BUNDLE]["stock_bundle"] == named_rows[BUNDLE]["stock_bundles"]["main"]
    assert "stock_id" in old[SINGLE]["stock"]  # response-only fields travel with the stock
    assert old["shop_coupon.d11-store-100-off-20"] == named_rows["shop_coupon.d11-store-100-off-20"]

    upgraded = couponctl("state", "upgrade", cwd=root)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from revision r0002 to {state_schema.head_revision()}" in upgraded.stdout
    assert _rows(url) == named_rows  # byte-for-byte the same objects as a state written by this couponctl
    _plan_is_no_op(root)

    write(root / "manifests" / "coupons.yaml", _docs(named=True))  # `stock:` -> `stocks: {main: ...}`
    _plan_is_no_op(root)


def test_opening_an_old_state_upgrades_it_automatically(applied: tuple[Path, str, Any]) -> None:
    root, url, named_rows = applied
    _downgrade_to_r0002(url)
    write(root / "manifests" / "coupons.yaml", _docs(named=True))
    _plan_is_no_op(root)  # plan opens the state: the pending revision is applied first
    assert _rows(url) == named_rows
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            assert state_schema.current_revision(conn) == state_schema.head_revision()
    finally:
        store.close()


def test_downgrade_refuses_a_state_with_a_second_stock(store_url: str) -> None:
    """A coupon with another stock than one `main` cannot be written in the r0002 shape: the downgrade says which."""
    open_store(store_url).close()
    engine = sa.create_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO resources (address, kind, upstream_id, upstream, desired_digest, status, protect, "
                    "brand_id, extra, created_at, updated_at) VALUES ('product_coupon.two', 'ProductCoupon', 'P2', "
                    ":upstream, '', 'EFFECTIVE', false, '1', '{}', 't', 't')"
                ),
                {"upstream": json.dumps({"state": "EFFECTIVE", "stocks": {"main": {}, "weekend": {}}})},
            )
        with pytest.raises(RuntimeError, match=r"product_coupon\.two"), engine.begin() as conn:
            command.downgrade(state_schema._config(conn), "r0002")
        with engine.connect() as conn:
            assert state_schema.current_revision(conn) == state_schema.head_revision()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"state": "EFFECTIVE"}, None),
        ({"stock": {"a": 1}, "x": 2}, {"stocks": {"main": {"a": 1}}, "x": 2}),
        ({"stock_bundle": {"b": 1}}, {"stock_bundles": {"main": {"b": 1}}}),
    ],
)
def test_the_rewrite_and_its_reverse(before: dict[str, Any], after: dict[str, Any] | None) -> None:
    assert r0003.to_named(before) == after
    assert r0003.to_single(after or before) == ((before if after is not None else None), True)
    assert r0003.to_single({"stocks": {"main": {}, "b": {}}}) == (None, False)
