"""`import --generate` paces its stock reads like drift (issue 20): each list-stocks page and each associated-stores
page waits for its operation's slot in the configured rate limits and is retried on its own, so a sandbox that
allows 2 calls a second with no burst to spare answers no 429 of its own, and an injected one is retried."""

from __future__ import annotations

import json
import shutil

from tests.e2e import coupons
from tests.e2e.conftest import Project

NAMES = ("latte", "mocha", "flat-white")
RATE = 2  # calls per second of list-stocks and of associated-stores, on both sides


def test_import_generate_paces_and_retries_its_stock_and_store_reads(project: Project) -> None:
    appid = project.sandbox.credentials.appid
    docs = []
    for i, name in enumerate(NAMES):
        doc = coupons.product_doc(name, appid, f"咖啡券{i}", bg=name)
        doc["spec"]["stock"].update(store_scope="SPECIFIC", stores=[f"10000000{i}{n}" for n in range(3)])
        docs.append(doc)
    shutil.rmtree(project.manifests)
    coupons.write(project.manifests / "campaign.yaml", docs)
    project.run("apply", "--auto-approve", check=True)
    ids = []
    for name in NAMES:
        ids.append(json.loads(project.run("state", "show", f"product_coupon.{name}", check=True).stdout)["upstream_id"])
        project.run("state", "rm", f"product_coupon.{name}", check=True)
    shutil.rmtree(project.manifests)
    project.manifests.mkdir()

    toml = project.root / "couponctl.toml"
    limits = f'rate_limits = {{ "product.stock.list" = {RATE}, "product.stock.associated_stores" = {RATE} }}'
    toml.write_text(toml.read_text(encoding="utf-8").replace("[apply]\n", f"[apply]\n{limits}\n", 1), "utf-8")
    # one token per bucket (2/s × 0.5 s): two pages sent back to back would be the second one refused
    project.sandbox.set_limits({"product.stocks.list": RATE, "product.stocks.associated_stores": RATE}, burst_s=0.5)
    project.sandbox.set_faults([{"operation": "product.stocks.list", "kind": "http_status", "value": 429, "count": 1}])
    project.sandbox.clear_calls()
    generated = project.run(
        "import", "--generate", "manifests/imported", *[a for i in ids for a in ("--product-id", i)]
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "retrying product.stock.list for product coupon" in generated.stderr

    calls = project.sandbox.calls()
    lists = [c["http_status"] for c in calls if c["operation"] == "product.stocks.list"]
    stores = [c["http_status"] for c in calls if c["operation"] == "product.stocks.associated_stores"]
    assert sorted(lists) == [200, 200, 200, 429]  # the injected 429, retried; none of the sandbox's own
    assert stores == [200, 200, 200]
    for i, pid in enumerate(ids):  # what was read is what was written: each coupon's stores
        text = (project.manifests / "imported" / f"product-{pid}.yaml").read_text(encoding="utf-8")
        assert all(f"10000000{i}{n}" in text for n in range(3))
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
