"""The progress total of drift and refresh is right from the first line (issue 20 goal 4): a product coupon's stock
list and the associated-stores pages of its SPECIFIC stocks are counted up front (plan/read_selection.py), not
added while they are read."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from reconciler.commands.progress import CallProgress, ProgressEvent
from reconciler.commands.upstream import sandbox_credentials
from reconciler.providers.pacing import Pacer
from tests.commands.conftest import write_project
from tests.e2e.coupons import product_doc
from tests.inprocess import couponctl

LINE = re.compile(r"^reading upstream: ([\d,]+)/([\d,]+) calls")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two shop coupons, and two product coupons: one with a SPECIFIC stock of 450 stores (3 pages of 200) beside a
    second stock, one with a SPECIFIC stock of 3 stores; applied."""
    monkeypatch.setenv("COUPONCTL_ACTOR", "tester")
    settings = write_project(tmp_path)
    appid = sandbox_credentials(settings).appid
    coffee = product_doc("coffee", appid, "咖啡满50减10")
    main = coffee["spec"].pop("stock")
    weekend = copy.deepcopy(main)
    main.update(store_scope="SPECIFIC", stores=[str(100000000 + i) for i in range(450)])
    coffee["spec"]["stocks"] = {"main": main, "weekend": weekend}
    tea = product_doc("tea", appid, "茶饮满50减10", bg="tea")
    tea["spec"]["stock"].update(store_scope="SPECIFIC", stores=["200000001", "200000002", "200000003"])
    docs = [coffee, tea]
    (tmp_path / "manifests" / "product.yaml").write_text(yaml.safe_dump_all(docs, allow_unicode=True), "utf-8")
    applied = couponctl("apply", "--auto-approve", "--quiet", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    return tmp_path


def totals(stderr: str) -> list[tuple[int, int]]:
    found = [LINE.match(line) for line in stderr.splitlines()]
    return [(int(m[1].replace(",", "")), int(m[2].replace(",", ""))) for m in found if m]


def test_the_first_progress_total_is_the_final_count_of_calls(project: Path) -> None:
    """1 shop page + 2 product GETs + 2 list-stocks pages + 3 + 1 associated-stores pages = 9 calls, said at once."""
    drift = couponctl("drift", "--format", "json", cwd=project)
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert json.loads(drift.stdout)["calls"] == 9
    lines = totals(drift.stderr)
    assert lines[0] == (0, 9) and lines[-1] == (9, 9)
    assert {total for _, total in lines} == {9}

    refresh = couponctl("refresh", cwd=project)
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr
    lines = totals(refresh.stderr)
    assert lines[0] == (0, 9) and lines[-1] == (9, 9) and {total for _, total in lines} == {9}


def test_the_last_line_says_the_calls_made_when_fewer_were_needed() -> None:
    """A coupon deleted upstream since state knew it has no stock list to read: the count made up front was one too
    many, and the final line says the calls made, never a run that looks unfinished."""

    async def no_sleep(_: float) -> None:
        return None

    events: list[ProgressEvent] = []
    pacer = Pacer({"product.get": 20.0, "product.stock.list": 20.0}, sleep=no_sleep)
    tracker = CallProgress(events.append, "reading upstream", {"product.get": 2, "product.stock.list": 2}, pacer)
    tracker.start()
    for operation in ("product.get", "product.get", "product.stock.list"):
        tracker.called(operation)
    tracker.finish()
    assert (events[0].done, events[0].total) == (0, 4)
    assert (events[-1].kind, events[-1].done, events[-1].total, events[-1].eta_s) == ("done", 3, 3, 0.0)
