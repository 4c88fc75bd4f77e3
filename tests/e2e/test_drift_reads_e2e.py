"""Issue 20 goals 3 and 4 against the served sandbox: drift reads only what can still change (decision D31), says
what it skipped, and shows retries on stderr while JSON on stdout stays clean."""

from __future__ import annotations

import json
import re
import shutil

from tests.e2e import coupons
from tests.e2e.conftest import Project


def use_docs(project: Project, docs: list[dict[str, object]]) -> None:
    shutil.rmtree(project.manifests)
    coupons.write(project.manifests / "campaign.yaml", docs)


def upstream_id(project: Project, address: str) -> str:
    return str(json.loads(project.run("state", "show", address, check=True).stdout)["upstream_id"])


def test_an_ended_campaign_costs_no_read_and_says_what_it_skipped(project: Project) -> None:
    """Two shop coupons voided through couponctl and a product coupon deactivated in the console (accepted by
    refresh): drift and refresh make no call at all (the sandbox's call log stays empty) and name the skipped
    coupons and the reason; `--all` reads them again."""
    appid = project.sandbox.credentials.appid
    use_docs(
        project,
        [
            coupons.shop_doc("e2e-void-a", status="voided"),
            coupons.shop_doc("e2e-void-b", status="voided"),
            coupons.product_all(appid),
        ],
    )
    project.run("apply", "--auto-approve", check=True)
    project.sandbox.patch_product(upstream_id(project, "product_coupon.e2e-coffee"), {"state": "DEACTIVATED"})
    first = project.run("refresh", check=True)  # the product coupon is still EFFECTIVE in state: it is read
    assert first.stdout.startswith("Refreshed 3 coupon(s) from upstream: 1 updated in state.")

    project.sandbox.clear_calls()
    drift = project.run("drift", "--no-manifests", "--format", "json")
    refresh = project.run("refresh")
    assert project.sandbox.calls() == []
    report = json.loads(drift.stdout)
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert (report["checked"], report["reads"], report["calls"]) == (0, 0, 0)
    assert report["skipped"] == {"deactivated": 1, "voided": 2}
    assert report["unmanaged_listed"] is False
    assert drift.stderr == ""
    assert refresh.stdout.splitlines()[-1] == (
        "Skipped 3 coupons that can no longer change: 1 deactivated, 2 voided; unmanaged shop coupons were not "
        "looked for (--all reads them); their state is kept."
    )

    text = project.run("drift", "--no-manifests").stdout
    assert "Skipped 3 coupons that can no longer change: 1 deactivated, 2 voided" in text
    project.sandbox.clear_calls()
    everything = json.loads(project.run("drift", "--no-manifests", "--all", "--format", "json").stdout)
    operations = {c["operation"] for c in project.sandbox.calls()}
    assert {"product.get", "shop.get_list"} <= operations
    assert (everything["checked"], everything["skipped"]) == (3, {})


def test_a_429_on_a_read_is_retried_and_shown(project: Project) -> None:
    """One injected 429 on product.get: drift retries it, says so on stderr naming the coupon and the attempt, and
    its JSON on stdout is the same document as without the fault."""
    appid = project.sandbox.credentials.appid
    use_docs(project, [coupons.product_all(appid)])
    project.run("apply", "--auto-approve", check=True)
    project.sandbox.set_faults([{"operation": "product.get", "kind": "http_status", "value": 429, "count": 1}])
    drift = project.run("drift", "--format", "json")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert json.loads(drift.stdout)["drift"] == []
    assert "retrying product.get for product_coupon.e2e-coffee after 429 (attempt 2/8, in " in drift.stderr
    assert re.fullmatch(r"reading upstream: (\d+)/\1 calls, 1 retried", drift.stderr.splitlines()[-1])

    project.sandbox.set_faults([{"operation": "product.get", "kind": "http_status", "value": 429, "count": 1}])
    quiet = project.run("drift", "--format", "json", "--quiet")
    assert (quiet.returncode, quiet.stderr) == (0, "")
