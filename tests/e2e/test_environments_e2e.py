"""Issue 19 item 1: environments (decision D26), the real CLI against one sandbox served over HTTP with two brands.

The habit: one repository, one couponctl.toml with `[env.staging]` and `[env.prod]`, the same manifests applied to
both, staging with a smaller `total_num` through its overlay. What a user must see: staging's overlay in staging's
coupons only, a staging plan file refused by `apply --env prod` (nothing sent), request numbers that never meet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Project

PARTNER_BRAND = "120344"  # the extra brand the served sandbox authorises (conftest), staging's default brand
STAGING_TOTAL = 7


def _environments(project: Project) -> None:
    """Append the two environments to the project's real-mode couponctl.toml (one served sandbox: one shop)."""
    state = project.root / "state"
    text = (project.root / "couponctl.toml").read_text(encoding="utf-8")
    text += f"""
[env.staging]
out_coupon_id_prefix = "stg-"

[env.staging.state]
url = "sqlite:///{state / "staging.db"}"

[env.staging.wechatpay]
brand_id = "{PARTNER_BRAND}"

[env.staging.overlay."shop_coupon.*"]
coupon_info.receive_info.total_num = {STAGING_TOTAL}

[env.prod.state]
url = "sqlite:///{state / "prod.db"}"
"""
    (project.root / "couponctl.toml").write_text(text, encoding="utf-8")


def _state(project: Project, env: str) -> dict[str, dict[str, Any]]:
    listed = json.loads(project.run("--env", env, "state", "list", "--format", "json", check=True).stdout)
    return {
        r["address"]: json.loads(project.run("--env", env, "state", "show", r["address"], check=True).stdout)
        for r in listed
    }


def _request_numbers(project: Project, env: str) -> set[str]:
    runs = json.loads(project.run("--env", env, "history", "--format", "json", check=True).stdout)
    numbers: set[str] = set()
    for run in runs:
        shown = project.run("--env", env, "history", "--run", str(run["run_id"]), "--format", "json", check=True)
        detail = json.loads(shown.stdout)
        numbers |= {c["out_request_no"] for c in detail["call_records"] if c["out_request_no"]}
    return numbers


def test_two_environments_over_one_sandbox(project: Project, tmp_path: Path) -> None:
    """Same manifests, two environments: overlay only in staging, a staging plan refused in prod, no shared number."""
    _environments(project)

    listed = [line.split() for line in project.run("--env", "staging", "env", "list", check=True).stdout.splitlines()]
    assert listed[1] == ["*", "staging", f"sqlite:///{project.root / 'state' / 'staging.db'}", PARTNER_BRAND, "wechat"]
    assert listed[2][:1] == ["prod"] and listed[2][-1] == "wechat"

    # Without --env, nothing that touches a state runs: whose state would it be?
    refused = project.run("plan")
    assert refused.returncode == 1
    assert "declares the environments staging, prod: choose one with --env NAME or COUPONCTL_ENV" in refused.stderr

    plan_file = tmp_path / "staging.plan"
    made = project.run("--env", "staging", "plan", "--out", str(plan_file), check=True)
    assert made.stdout.startswith("Environment: staging")
    assert json.loads(plan_file.read_text(encoding="utf-8"))["plan"]["environment"] == "staging"

    # The staging plan applied to prod: refused before any call, naming both environments.
    calls_before = len(project.mutating_calls())
    wrong = project.run("--env", "prod", "apply", str(plan_file))
    assert wrong.returncode == 1, wrong.stdout
    assert "made for environment 'staging', but apply runs in environment 'prod'; nothing was applied" in wrong.stderr
    assert len(project.mutating_calls()) == calls_before
    assert not (project.root / "state" / "prod.db").exists() or _state(project, "prod") == {}

    project.run("--env", "staging", "apply", str(plan_file), check=True)
    project.run("--env", "prod", "apply", "--auto-approve", check=True)

    staging, prod = _state(project, "staging"), _state(project, "prod")
    assert set(staging) == set(prod) and staging  # the same manifests, the same addresses, in two states
    shop = [a for a in staging if a.startswith("shop_coupon.")]
    assert shop
    for address in shop:
        assert staging[address]["upstream"]["coupon_info"]["receive_info"]["total_num"] == STAGING_TOTAL
        assert prod[address]["upstream"]["coupon_info"]["receive_info"]["total_num"] != STAGING_TOTAL
        assert staging[address]["upstream_id"] == "stg-" + prod[address]["upstream_id"]
    products = [a for a in staging if a.startswith("product_coupon.")]
    for address in products:  # two coupons upstream, never one shared
        assert staging[address]["upstream_id"] != prod[address]["upstream_id"]
    upstream_ids = {c["out_coupon_id"] for c in project.shop_coupons()}
    assert {staging[a]["upstream_id"] for a in shop} | {prod[a]["upstream_id"] for a in shop} <= upstream_ids

    staging_numbers, prod_numbers = _request_numbers(project, "staging"), _request_numbers(project, "prod")
    assert staging_numbers and prod_numbers
    assert not staging_numbers & prod_numbers

    history = json.loads(project.run("--env", "prod", "history", "--format", "json", check=True).stdout)
    assert history and all(run["summary"].get("environment") == "prod" for run in history)

    # Each environment is in sync with the manifests as it declares them, and the other environment's shop
    # coupons on the shared shop are expected, not drift.
    for env in ("staging", "prod"):
        again = project.run("--env", env, "plan", "--detailed-exitcode")
        assert again.returncode == 0, (env, again.stdout, again.stderr)
        drift = project.run("--env", env, "drift", "--format", "json")
        assert drift.returncode == 0, (env, drift.stdout, drift.stderr)
        expected = json.loads(drift.stdout)["expected_unmanaged"]
        other = "prod" if env == "staging" else "staging"
        assert len(expected) == len(shop) and all(f"environment {other}'s" in e["reason"] for e in expected)
