"""Issue 17 acceptance for store association (decision D34), end to end: the real CLI in real mode against the sandbox
served over HTTP, its call log counting the association batches couponctl makes and what each one changed."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from typing import Any

import pytest

from tests.e2e import coupons
from tests.e2e.conftest import Project

ASSOCIATE = "product.stocks.associate_stores"
DISASSOCIATE = "product.stocks.disassociate_stores"
NAME = "stores"
ADDRESS = f"product_coupon.{NAME}"
IDS = [str(100_000_000 + i) for i in range(1, 1201)]


def use(project: Project, ids: list[str]) -> None:
    document = coupons.product_doc(NAME, project.sandbox.credentials.appid, "门店咖啡券")
    stock = document["spec"]["stock"]
    stock["store_scope"] = "SPECIFIC"
    stock["stores_file"] = "../stores/shanghai.txt"
    shutil.rmtree(project.manifests, ignore_errors=True)
    coupons.write(project.manifests / "campaign.yaml", [document])
    path = project.root / "stores" / "shanghai.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Shanghai stores\n" + "\n".join(ids) + "\n", encoding="utf-8")


def batches(project: Project, operation: str) -> list[dict[str, Any]]:
    return [c for c in project.sandbox.calls() if c["operation"] == operation and c["http_status"] < 300]


def stored_stores(project: Project) -> list[str]:
    shown = json.loads(project.run("state", "show", ADDRESS, check=True).stdout)
    return list(shown["upstream"]["stocks"]["main"]["stores"])


def crash(project: Project, spec: str) -> None:
    killed = subprocess.run(
        [sys.executable, "-m", "tests.support.crashing_cli", spec, "--no-color", "apply", "--auto-approve"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr


def test_1200_stores_are_associated_in_batches_of_200_then_a_no_op_and_10_removed_is_one_call(
    project: Project,
) -> None:
    use(project, IDS)
    planned = project.run("plan", check=True)
    assert "stocks.main.stores" in planned.stdout and "1,200 stores: 100000001, 100000002, 100000003, …" in (
        planned.stdout
    ), planned.stdout
    assert "product.stock.associate_stores stock main ×6" in planned.stdout
    assert "product.stock.associate_stores 6" in planned.stdout  # the calls line of the summary
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    done = batches(project, ASSOCIATE)
    assert [c["stores"] for c in done] == [200] * 6 and [c["effect"] for c in done] == [200] * 6
    assert stored_stores(project) == IDS

    again = project.run("plan", "--detailed-exitcode")
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr
    assert project.run("drift").returncode == 0

    use(project, IDS[:500] + IDS[510:])  # 10 ids removed
    changed = project.run("plan", "--detailed-exitcode")
    assert changed.returncode == 2, changed.stdout + changed.stderr
    assert "-10 (100000501, 100000502, 100000503, …)" in changed.stdout, changed.stdout
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert [c["effect"] for c in batches(project, DISASSOCIATE)] == [10]
    assert batches(project, ASSOCIATE) == []
    assert stored_stores(project) == IDS[:500] + IDS[510:]
    assert project.run("plan", "--detailed-exitcode").returncode == 0


@pytest.mark.parametrize("spec", ["after_commit:3", "after_call:3", "after_intent:3"])
def test_a_crash_in_the_middle_resumes_without_repeating_a_batch(project: Project, spec: str) -> None:
    """Killed around the 2nd batch (the create is the 1st journalled call): the next apply sends only the batches
    that did not take effect; every store was associated by exactly one call that had an effect."""
    use(project, IDS)
    project.sandbox.clear_calls()
    crash(project, spec)
    resumed = project.run("apply", "--auto-approve")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    done = batches(project, ASSOCIATE)
    effective = [c for c in done if c["effect"]]
    assert [c["effect"] for c in effective] == [200] * 6, done  # each batch once with effect
    # after_call: the 2nd batch landed but was not recorded; settle reads the stock's stores back, finds the batch
    # there and records it without sending it again (the API takes no request number). No batch is sent twice.
    assert len(done) == 6, done
    assert stored_stores(project) == IDS
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_stores_changed_in_the_console_are_drift_and_the_next_apply_restores_them(project: Project) -> None:
    ids = IDS[:250]
    use(project, ids)
    project.run("apply", "--auto-approve", check=True)
    shown = json.loads(project.run("state", "show", ADDRESS, check=True).stdout)
    stock_id = shown["upstream"]["stocks"]["main"]["stock_id"]
    project.sandbox._admin("POST", f"stocks/{stock_id}/stores", {"store_ids": [*ids[5:], "999999999"]})
    drift = project.run("drift")
    assert drift.returncode == 2, drift.stdout + drift.stderr
    assert "stocks.main.stores" in drift.stdout and "+1 (999999999); -5 (100000001, 100000002, 100000003, …)" in (
        drift.stdout
    ), drift.stdout
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)  # a refreshing plan: back to the manifest's stores
    assert [c["effect"] for c in batches(project, ASSOCIATE)] == [5]
    assert [c["effect"] for c in batches(project, DISASSOCIATE)] == [1]
    assert stored_stores(project) == ids
    assert project.run("drift").returncode == 0


def test_import_generate_writes_the_stores_and_plans_no_change(project: Project) -> None:
    use(project, IDS[:250])
    project.run("apply", "--auto-approve", check=True)
    pid = json.loads(project.run("state", "show", ADDRESS, check=True).stdout)["upstream_id"]
    project.run("state", "rm", ADDRESS, check=True)
    shutil.rmtree(project.manifests)
    project.manifests.mkdir()
    generated = project.run("import", "--generate", "manifests/imported", "--product-id", pid)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert project.run("validate", "manifests").returncode == 0
    project.sandbox.clear_calls()
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert project.mutating_calls() == []
