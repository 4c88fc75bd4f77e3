"""`import --generate` of a product coupon with two stocks (decision D29), in-process on the embedded sandbox.

The coupon is created by apply with its one stock, a second stock is added upstream (as the console or another tool
would), then the coupon is forgotten and imported again: the generated manifest declares both under `stocks:`
(`main` for the one it was created with, `stock-<stock_id>` for the other), validates, and the next plan is a no-op.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import yaml

from reconciler.commands.apply import apply
from reconciler.commands.common import open_state
from reconciler.commands.imports import import_generated
from reconciler.commands.upstream import open_upstream, sandbox_credentials
from reconciler.config import Settings
from reconciler.plan.model import Call
from tests.commands.conftest import fixed_clock
from tests.commands.test_plan_apply import Hooks
from tests.e2e.coupons import product_doc, write
from tests.inprocess import couponctl

ADDRESS = "product_coupon.coffee"


def _state_of(settings: Settings, address: str = ADDRESS) -> Any:
    store = open_state(settings, create=False)
    try:
        resource = store.get(address)
        assert resource is not None
        return resource
    finally:
        store.close()


def _add_stock(settings: Settings, coupon_id: str, brand_id: str, stock: dict[str, Any]) -> None:
    async def add() -> None:
        async with open_upstream(settings) as upstream:
            payload = {"out_request_no": "console-weekend-1", "brand_id": brand_id, "stock": stock}
            call = Call("product.stock.add", payload, target=coupon_id, out_request_no="console-weekend-1")
            await upstream.providers["product"].execute(call)

    asyncio.run(add())


def test_a_coupon_with_two_stocks_is_generated_with_named_stocks(settings: Settings, tmp_path: Path) -> None:
    appid = sandbox_credentials(settings).appid
    doc = product_doc("coffee", appid, "咖啡满50减10")
    shutil.rmtree(tmp_path / "manifests")
    write(tmp_path / "manifests" / "product.yaml", [doc])
    first = apply(settings, Hooks(), clock=fixed_clock)
    assert first.report is not None and first.report.ok
    created = _state_of(settings)
    assert list(created.upstream["stocks"]) == ["main"]
    weekend = {**doc["spec"]["stock"], "remark": "周末批次"}
    _add_stock(settings, created.upstream_id, str(created.brand_id), weekend)

    assert couponctl("state", "rm", ADDRESS, cwd=tmp_path).returncode == 0
    shutil.rmtree(tmp_path / "manifests")
    (tmp_path / "manifests").mkdir()
    (written,) = import_generated(settings, "manifests/imported", product_ids=[created.upstream_id], clock=fixed_clock)
    generated = yaml.safe_load(Path(written).read_text(encoding="utf-8"))
    stocks = generated["spec"]["stocks"]
    assert "stock" not in generated["spec"]
    names = list(stocks)
    assert names[0] == "main" and len(names) == 2 and names[1].startswith("stock-")
    assert stocks["main"] == doc["spec"]["stock"]
    assert stocks[names[1]] == weekend
    adopted = _state_of(settings, f"product_coupon.{generated['name']}")
    assert list(adopted.upstream["stocks"]) == names
    assert all("stock_id" in s for s in adopted.upstream["stocks"].values())  # state keeps upstream's ids

    assert couponctl("validate", "manifests", cwd=tmp_path).returncode == 0
    plan = couponctl("plan", "--detailed-exitcode", cwd=tmp_path)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes" in plan.stdout
