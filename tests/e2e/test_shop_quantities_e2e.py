"""Issue 16 acceptance, shop quantities (decision D30), against the served sandbox in real mode: raising an active
shop coupon's total_num makes exactly one update_coupon_stock call and is not blocked; lowering it below what users
claimed is refused before any mutating call; claims are never drift, a console total is; a crash between the call and
its record does not change the stock twice."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from typing import Any

import httpx
import pytest

from tests.e2e import coupons
from tests.e2e.conftest import Project

NAME = "qty-raise"
MUTATING_SHOP = {"shop.add", "shop.update", "shop.update_status", "shop.update_coupon_stock"}


def declare(project: Project, total: int) -> None:
    shutil.rmtree(project.manifests, ignore_errors=True)
    coupons.write(project.manifests / "campaign.yaml", [coupons.shop_doc(NAME, total_num=total)])


def claim(project: Project, count: int) -> None:
    """Users claim `count` coupons (the sandbox's admin stand-in for real users, reference A.6.6)."""
    response = httpx.post(f"{project.sandbox.url}/_sandbox/shop-coupons/{NAME}/claim", json={"count": count})
    assert response.status_code == 200, response.text


def stored(project: Project) -> dict[str, Any]:
    doc: dict[str, Any] = next(
        d for d in project.sandbox.state()["shop_coupons"] if d["coupon"]["out_coupon_id"] == NAME
    )
    return doc


def mutating(project: Project) -> list[dict[str, Any]]:
    return [c for c in project.sandbox.calls() if c["operation"] in MUTATING_SHOP]


def planned_calls(project: Project) -> list[tuple[str, str, Any]]:
    result = project.run("plan", "--format", "json")
    assert result.returncode in (0, 1), result.stdout + result.stderr
    plan = json.loads(result.stdout)
    return [(a["address"], c["operation"], c["payload"]) for a in plan["actions"] for c in a["calls"]]


def launched(project: Project, claimed: int = 300) -> None:
    """An active coupon of 1,000 of which users claimed `claimed`, then a manifest raising it to 5,000."""
    declare(project, 1000)
    project.run("apply", "--auto-approve", check=True)
    claim(project, claimed)
    declare(project, 5000)


def test_raising_total_num_is_one_update_coupon_stock_call(project: Project) -> None:
    launched(project)
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "~ coupon_info.receive_info.total_num = 1,000 -> 5,000 (300 already handed out)" in plan.stdout
    assert "# calls: shop.update_stock" in plan.stdout and "BLOCKED" not in plan.stdout
    stock = {"coupon_stock": {"out_coupon_id": NAME, "stock_info": {"issued_num": 4700, "receive_num": 300}}}
    assert planned_calls(project) == [(f"shop_coupon.{NAME}", "shop.update_stock", stock)]

    project.sandbox.clear_calls()
    applied = project.run("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert [c["operation"] for c in mutating(project)] == ["shop.update_coupon_stock"]
    doc = stored(project)
    assert doc["coupon"]["coupon_info"]["receive_info"]["total_num"] == 5000
    assert doc["coupon_stock"]["stock_info"] == {"issued_num": 4700, "receive_num": 300}
    shown = json.loads(project.run("state", "show", f"shop_coupon.{NAME}", check=True).stdout)
    assert shown["upstream"]["coupon_stock"]["stock_info"] == {"issued_num": 4700, "receive_num": 300}

    again = project.run("plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert project.run("drift").returncode == 0
    claim(project, 25)  # more users claim: the handed-out count is response-only, never drift
    assert project.run("drift").returncode == 0
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_lowering_below_the_claimed_count_is_refused_offline_with_the_figures(project: Project) -> None:
    launched(project)
    declare(project, 200)
    project.sandbox.clear_calls()
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 1, plan.stdout + plan.stderr
    assert "total_num 200 < 300 already handed out" in plan.stdout + plan.stderr
    applied = project.run("apply", "--auto-approve")
    assert applied.returncode == 1
    assert mutating(project) == []
    assert stored(project)["coupon"]["coupon_info"]["receive_info"]["total_num"] == 1000


def test_a_claim_after_the_plan_never_sends_a_stale_count_that_upstream_would_take(project: Project) -> None:
    """Users claim 5 more after the plan read 300: the saved plan is refused before any call (apply re-reads the
    count); without a refresh, state does not know the count and the plan says so, upstream refuses the stale
    receive_num and the error says what to do; after `couponctl refresh` the quantity applies."""
    launched(project)
    saved = project.run("plan", "--out", "qty.plan")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    claim(project, 5)
    project.sandbox.clear_calls()
    refused = project.run("apply", "qty.plan")
    assert refused.returncode == 1 and "Nothing was applied" in refused.stderr, refused.stdout + refused.stderr
    assert mutating(project) == []

    stale = project.run("apply", "--no-refresh", "--auto-approve")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "the handed-out count is not in state" in stale.stdout
    assert "code 1090059" in stale.stderr and "couponctl refresh" in stale.stderr, stale.stderr
    assert "access_token" not in stale.stdout + stale.stderr
    assert stored(project)["coupon"]["coupon_info"]["receive_info"]["total_num"] == 1000

    project.run("refresh", check=True)
    project.run("apply", "--no-refresh", "--auto-approve", check=True)
    assert stored(project)["coupon_stock"]["stock_info"] == {"issued_num": 4695, "receive_num": 305}
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_a_total_changed_in_the_console_is_drift(project: Project) -> None:
    launched(project)
    project.run("apply", "--auto-approve", check=True)
    project.sandbox.patch_shop(NAME, {"coupon_info": {"receive_info": {"total_num": 6000}}})
    drift = project.run("drift")
    assert drift.returncode == 2, drift.stdout + drift.stderr
    assert "coupon_info.receive_info.total_num: 5000 -> 6000" in drift.stdout
    assert "coupon_stock" not in drift.stdout


@pytest.mark.parametrize("event", ["after_intent", "after_call", "after_commit"])
def test_a_crash_around_the_call_does_not_change_the_stock_twice(project: Project, event: str) -> None:
    """Killed after the intent, between the call and its record, or after the record (tests/support/crashing_cli.py):
    the next apply settles by reading the coupon back and makes the call at most once in all."""
    launched(project)
    project.sandbox.clear_calls()
    killed = subprocess.run(
        [sys.executable, "-m", "tests.support.crashing_cli", f"{event}:1", "--no-color", "apply", "--auto-approve"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    sent = 0 if event == "after_intent" else 1
    assert [c["operation"] for c in mutating(project)] == ["shop.update_coupon_stock"] * sent
    # Until apply settles it, a plan says that an interrupted call's outcome is not in state.
    planned = project.run("plan", "--no-refresh")
    interrupted = "1 call(s) of an interrupted apply have no recorded outcome (shop.update_stock shop_coupon.qty-raise)"
    assert (interrupted in planned.stdout) is (event != "after_commit"), planned.stdout + planned.stderr
    resumed = project.run("apply", "--auto-approve")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert [c["operation"] for c in mutating(project)] == ["shop.update_coupon_stock"]  # once in all
    assert stored(project)["coupon_stock"]["stock_info"] == {"issued_num": 4700, "receive_num": 300}
    assert project.run("plan", "--detailed-exitcode").returncode == 0
    assert project.run("drift").returncode == 0
