"""`import --generate` tells its progress sink of every read (issue 20 goal 4): the shop list's pages, one GET per
product id and its list-stocks pages, against a total that starts from the rate limits' view of the work."""

from __future__ import annotations

import shutil
from pathlib import Path

from reconciler.commands.apply import apply
from reconciler.commands.common import open_state
from reconciler.commands.imports import import_generated
from reconciler.commands.progress import ProgressEvent
from reconciler.commands.upstream import sandbox_credentials
from reconciler.config import Settings
from tests.commands.conftest import fixed_clock
from tests.commands.test_plan_apply import Hooks
from tests.e2e.coupons import product_doc, write
from tests.inprocess import couponctl


def test_generate_reports_each_read(settings: Settings, tmp_path: Path) -> None:
    doc = product_doc("coffee", sandbox_credentials(settings).appid, "咖啡满50减10")
    shutil.rmtree(tmp_path / "manifests")
    write(tmp_path / "manifests" / "product.yaml", [doc])
    first = apply(settings, Hooks(), clock=fixed_clock)
    assert first.report is not None and first.report.ok
    store = open_state(settings, create=False)
    try:
        created = store.get("product_coupon.coffee")
    finally:
        store.close()
    assert created is not None
    assert couponctl("state", "rm", "product_coupon.coffee", cwd=tmp_path).returncode == 0

    events: list[ProgressEvent] = []
    written = import_generated(
        settings, "manifests/imported", product_ids=[created.upstream_id], clock=fixed_clock, progress=events.append
    )

    assert len(written) == 1
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert events[0].total == 3  # one shop list page expected, one product GET, its list-stocks page
    advances = [e for e in events if e.kind == "advance"]
    assert [e.done for e in advances] == list(range(1, len(advances) + 1))
    assert len(advances) >= 2  # at least one shop page and the product's GET
    assert events[-1].done == events[-1].total == len(advances)
    assert events[-1].eta_s == 0.0
