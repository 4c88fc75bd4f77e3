"""Crash and fault safety of the stock calls (issue 16 item 6, decision D29), in real mode against a served sandbox:

- SIGKILL between a `product.stock.update_budget` call and the commit of its result: the next apply settles the
  open intent with the same request number, the sandbox replays its first answer (its compare-and-set would refuse a
  second change anyway), state records the new budget, and upstream saw exactly one budget change;
- SIGKILL between a `product.stock.add` and its record: the replay adds no second stock (the sandbox's list shows
  one), and the stock is recorded under its declared name;
- 429 and 500 answers on the stock calls are retried with the same number until they land once.
"""

from __future__ import annotations

import copy
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.store import open_store
from tests.e2e.coupons import product_doc
from tests.reliability.harness import Project, write_project
from tests.sandbox_server import ServedSandbox, served_sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSandbox]:
    with served_sandbox(tmp_path_factory.mktemp("stock-sbx")) as served:
        yield served


def coupon_doc(appid: str, label: str, **stocks: dict[str, Any]) -> dict[str, Any]:
    """A ProductCoupon named after `label` (the tests share one sandbox, and create numbers derive from the
    address), declaring its stocks by name (`main` is the one created with the coupon)."""
    doc = product_doc(label, appid, label)
    main = doc["spec"].pop("stock")
    doc["spec"]["stocks"] = {"main": main, **stocks}
    return doc


def with_budget(doc: dict[str, Any], max_count: int, name: str = "main") -> dict[str, Any]:
    new = copy.deepcopy(doc)
    new["spec"]["stocks"][name]["stock_send_rule"]["max_count"] = max_count
    return new


def second_stock(doc: dict[str, Any]) -> dict[str, Any]:
    new = copy.deepcopy(doc)
    weekend = copy.deepcopy(new["spec"]["stocks"]["main"])
    weekend["remark"] = "周末"
    new["spec"]["stocks"]["weekend"] = weekend
    return new


def launched(root: Path, sandbox: ServedSandbox, label: str) -> tuple[Project, dict[str, Any], str]:
    """A project whose coupon (one stock, `main`) is live upstream: (project, its document, product_coupon_id)."""
    project = write_project(root, sandbox)
    doc = coupon_doc(sandbox.credentials.appid, label)
    project.write_docs([doc])
    project.ok("apply", "--auto-approve")
    store = open_store(project.state_url)
    try:
        resource = store.get(f"product_coupon.{label}")
    finally:
        store.close()
    assert resource is not None
    return project, doc, resource.upstream_id


def stocks_upstream(sandbox: ServedSandbox, product_coupon_id: str) -> list[dict[str, Any]]:
    """The coupon's stocks as the sandbox holds them (its admin state lists each coupon with its stocks)."""
    found = [p for p in sandbox.state()["product_coupons"] if p["product_coupon_id"] == product_coupon_id]
    assert found, f"no product coupon {product_coupon_id} in the sandbox"
    stocks: list[dict[str, Any]] = found[0]["stocks"]
    return stocks


def state_stocks(project: Project, label: str) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """(stocks of the coupon in state, its extra, the open intents)."""
    store = open_store(project.state_url)
    try:
        resource = store.get(f"product_coupon.{label}")
        intents = store.open_intents()
    finally:
        store.close()
    assert resource is not None
    return dict(resource.upstream["stocks"]), dict(resource.extra), intents


def calls_of(sandbox: ServedSandbox, operation: str) -> list[dict[str, Any]]:
    return [c for c in sandbox.calls() if c["operation"] == operation]


def test_kill_between_a_budget_call_and_its_record_makes_no_second_budget_change(
    tmp_path: Path, sandbox: ServedSandbox
) -> None:
    project, doc, pid = launched(tmp_path / "budget", sandbox, "rs-budget")
    project.write_docs([with_budget(doc, 5000)])
    sandbox.clear_calls()
    killed = project.run("apply", "--auto-approve", crash_at="after_call:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    stocks, _, intents = state_stocks(project, "rs-budget")
    assert stocks["main"]["stock_send_rule"]["max_count"] == 1000  # the answer was never recorded
    assert [i.operation for i in intents] == ["product.stock.update_budget"]
    project.ok("apply", "--auto-approve")
    budget_calls = [c for c in calls_of(sandbox, "product.stocks.update_budget") if c["http_status"] < 300]
    assert len(budget_calls) == 2 and len({c["out_request_no"] for c in budget_calls}) == 1  # the replay
    stocks, _, intents = state_stocks(project, "rs-budget")
    assert stocks["main"]["stock_send_rule"]["max_count"] == 5000 and intents == []
    upstream = [s for s in stocks_upstream(sandbox, pid) if s["stock_id"] == stocks["main"]["stock_id"]]
    assert [s["stock_send_rule"]["max_count"] for s in upstream] == [5000]
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_kill_between_a_stock_add_and_its_record_adds_no_second_stock(tmp_path: Path, sandbox: ServedSandbox) -> None:
    project, doc, pid = launched(tmp_path / "add", sandbox, "rs-add")
    project.write_docs([second_stock(doc)])
    killed = project.run("apply", "--auto-approve", crash_at="after_call:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    project.ok("apply", "--auto-approve")
    listed = stocks_upstream(sandbox, pid)
    assert len(listed) == 2, listed
    stocks, extra, intents = state_stocks(project, "rs-add")
    assert set(stocks) == {"main", "weekend"} and intents == []
    assert stocks["weekend"]["stock_id"] == next(s["stock_id"] for s in listed if s.get("remark") == "周末")
    assert extra.get("stock_generations", {}).get("weekend") == 0
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr


@pytest.mark.parametrize("status", [429, 500])
def test_faults_on_stock_calls_are_retried_with_the_same_number(
    tmp_path: Path, sandbox: ServedSandbox, status: int
) -> None:
    project, doc, pid = launched(tmp_path / f"faults{status}", sandbox, f"rs-f{status}")
    project.write_docs([second_stock(with_budget(doc, 3000))])
    sandbox.set_faults(
        [
            {"operation": op, "kind": "http_status", "value": status, "count": 2}
            for op in ("product.stocks.update_budget", "product.stocks.create")
        ]
    )
    sandbox.clear_calls()
    try:
        project.ok("apply", "--auto-approve")
    finally:
        sandbox.set_faults([])
    for op in ("product.stocks.update_budget", "product.stocks.create"):
        calls = calls_of(sandbox, op)
        assert [c["http_status"] for c in calls] == [status, status, 200], (op, calls)
        assert len({c["out_request_no"] for c in calls}) == 1, (op, calls)
    listed = stocks_upstream(sandbox, pid)
    assert len(listed) == 2 and {s["stock_send_rule"]["max_count"] for s in listed} == {3000}  # raised, added
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
