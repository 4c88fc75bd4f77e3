"""Issue 15 item 3 acceptance: ready for the real upstream, where the sandbox is only our best reading of the docs.

The real CLI against the served sandbox with each switch for what the docs leave open; in every case apply, drift
and refresh converge (no endless diffs, no false BLOCKED, nothing sent twice):

- status-1 shop coupons echoed with a partial or zero-filled `coupon_info` (reference A.6.4);
- another errcode for "no such coupon" (F.3), with and without the `[shop] not_found_errcodes` setting;
- PATCH / deactivate accepted outside EFFECTIVE by the sandbox, while the client keeps its conservative default;
- answers verified with platform certificates (`[wechatpay] verification = "platform_certificate"`);
- `import --generate` of a PROGRESSIVE_BUNDLE coupon.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e import coupons
from tests.e2e.conftest import REPO, Project, write_project
from tests.sandbox_server import served_sandbox

pytestmark = pytest.mark.slow

APIV3_KEY = "0123456789abcdef0123456789ABCDEF"


@contextmanager
def project_with(tmp_path: Path, **switches: Any) -> Iterator[Project]:
    (tmp_path / "sandbox").mkdir()
    with served_sandbox(tmp_path / "sandbox", extra_brand_ids=["120344"], **switches) as served:
        yield write_project(tmp_path / "project", served)


def use_docs(project: Project, docs: list[dict[str, Any]]) -> None:
    shutil.rmtree(project.manifests)
    coupons.write(project.manifests / "campaign.yaml", docs)


def set_toml(project: Project, section: str, lines: str) -> None:
    """Add `lines` at the top of `[section]` in the project's couponctl.toml."""
    path = project.root / "couponctl.toml"
    text = path.read_text(encoding="utf-8")
    assert f"[{section}]\n" in text
    path.write_text(text.replace(f"[{section}]\n", f"[{section}]\n{lines}\n", 1), encoding="utf-8")


def state_show(project: Project, address: str) -> dict[str, Any]:
    return dict(json.loads(project.run("state", "show", address, check=True).stdout))


def assert_converged(project: Project) -> None:
    """drift finds nothing, refresh changes nothing, and the next plan is a no-op that sends nothing."""
    drift = project.run("drift")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    refresh = project.run("refresh")
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr
    project.sandbox.clear_calls()
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "BLOCKED" not in plan.stdout
    applied = project.run("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert project.mutating_calls() == []


@pytest.mark.parametrize("mode", ["partial", "zero_filled"])
def test_partial_status_1_shop_bodies_converge(tmp_path: Path, mode: str) -> None:
    """With status-1 coupons echoed partially (or zero-filled), a draft converges; an edit of it is an update (not
    BLOCKED) sent once; activating it works; state keeps the whole body through refresh."""
    with project_with(tmp_path, shop_status1_body=mode) as project:
        draft = coupons.shop_draft()
        use_docs(project, [coupons.shop_active(), draft])
        project.run("apply", "--auto-approve", check=True)
        assert_converged(project)
        kept = state_show(project, "shop_coupon.e2e-draft-direct-5")["upstream"]["coupon_info"]
        assert kept["discount_info"] == {"discount_fee": 500} and kept["name"] == "直减5元"

        draft["spec"]["coupon_info"]["discount_info"]["discount_fee"] = 600
        use_docs(project, [coupons.shop_active(), draft])
        plan = project.run("plan", "--detailed-exitcode")
        assert plan.returncode == 2 and "BLOCKED" not in plan.stdout, plan.stdout
        assert "discount_fee = 500 -> 600" in plan.stdout
        project.sandbox.clear_calls()
        project.run("apply", "--auto-approve", check=True)
        assert [c["operation"] for c in project.mutating_calls()] == ["shop.update"]
        stored = {c["out_coupon_id"]: c for c in project.shop_coupons()}["e2e-draft-direct-5"]
        assert stored["coupon_info"]["discount_info"]["discount_fee"] == 600
        assert_converged(project)

        draft["status"] = "active"
        use_docs(project, [coupons.shop_active(), draft])
        project.sandbox.clear_calls()
        project.run("apply", "--auto-approve", check=True)
        assert [c["operation"] for c in project.mutating_calls()] == ["shop.update_status"]
        assert_converged(project)


def test_another_not_found_errcode_is_reported_until_configured_then_converges(tmp_path: Path) -> None:
    """The sandbox answers "no such coupon" with 1090099. A shop add that fails transiently is read back before it
    is sent again: without the setting that read is an error naming 1090099 (nothing is guessed, nothing sent
    twice); with `[shop] not_found_errcodes` listing it, the next apply settles, adds the coupon once, and apply,
    drift and refresh converge."""
    with project_with(tmp_path, shop_not_found_errcode=1090099) as project:
        use_docs(project, [coupons.shop_draft()])
        project.sandbox.set_faults([{"operation": "shop.add", "kind": "errcode", "value": -1, "count": 1}])
        failed = project.run("apply", "--auto-approve")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "1090099" in failed.stdout + failed.stderr
        assert project.shop_coupons() == []

        set_toml(project, "shop", "not_found_errcodes = [1090057, 1090099]")
        project.sandbox.clear_calls()
        project.run("apply", "--auto-approve", check=True)
        assert [c["out_coupon_id"] for c in project.shop_coupons()] == ["e2e-draft-direct-5"]
        assert [c["operation"] for c in project.mutating_calls()] == ["shop.add"]
        assert_converged(project)
        # A coupon that vanished upstream is "missing" drift, as with the default code.
        project.sandbox.delete_shop("e2e-draft-direct-5")
        drift = project.run("drift", "--format", "json")
        assert drift.returncode == 2
        assert [d["category"] for d in json.loads(drift.stdout)["drift"]] == ["missing"]


def test_lenient_patch_state_keeps_the_clients_conservative_default(tmp_path: Path) -> None:
    """The sandbox accepts PATCH outside EFFECTIVE (the PATCH doc page asks only that the coupon exists), but
    couponctl still waits for review: the display change is deferred and nothing is sent; once reviewed it is one
    PATCH, the plan says who sees it, and apply, drift and refresh converge."""
    with project_with(tmp_path, product_initial_state="AUDITING", product_patch_requires_effective=False) as project:
        doc = coupons.product_all(project.sandbox.credentials.appid)
        use_docs(project, [doc])
        project.run("apply", "--auto-approve", check=True)
        assert_converged(project)
        doc["spec"]["display_info"]["name"] = "咖啡满50减10（新）"
        use_docs(project, [doc])
        deferred = project.run("plan", "--detailed-exitcode")
        assert deferred.returncode == 2 and "deferred" in deferred.stdout, deferred.stdout
        project.sandbox.clear_calls()
        project.run("apply", "--auto-approve", check=True)
        assert project.mutating_calls() == []
        assert project.run("drift").returncode == 0

        pid = state_show(project, "product_coupon.e2e-coffee")["upstream_id"]
        project.sandbox.review(pid)
        plan = project.run("plan")
        assert "# note: display changes reach only coupons issued after the change" in plan.stdout
        project.sandbox.clear_calls()
        project.run("apply", "--auto-approve", check=True)
        assert [c["operation"] for c in project.mutating_calls()] == ["product.patch"]
        assert_converged(project)


def test_platform_certificate_mode_applies_and_converges(tmp_path: Path) -> None:
    """A merchant not yet on the WeChat Pay public key: answers are verified with the platform certificate the
    sandbox serves (encrypted with the APIv3 key); apply, drift and refresh work and converge."""
    with project_with(tmp_path, apiv3_key=APIV3_KEY) as project:
        set_toml(project, "wechatpay", 'verification = "platform_certificate"')
        project.env["COUPONCTL_WECHATPAY_APIV3_KEY"] = APIV3_KEY
        use_docs(project, [coupons.product_all(project.sandbox.credentials.appid)])
        project.run("apply", "--auto-approve", check=True)
        assert_converged(project)
        operations = [c["operation"] for c in project.sandbox.calls()]
        assert "certificates" in operations

        project.env["COUPONCTL_WECHATPAY_APIV3_KEY"] = "X" * 32  # the wrong key: nothing is trusted or recorded
        refused = project.run("drift")
        assert refused.returncode == 1 and "does not decrypt" in refused.stderr, refused.stdout + refused.stderr


def test_import_generate_of_a_progressive_bundle_validates_and_plans_no_change(tmp_path: Path) -> None:
    """The stock bundle is rebuilt from the coupon's stocks (one per step), so the generated manifest validates and
    the next plan is a no-op that sends nothing."""
    with project_with(tmp_path) as project:
        doc = yaml.safe_load((REPO / "tests/good_manifests/progressive-bundle.yaml").read_text(encoding="utf-8"))
        doc["spec"]["stock_bundle"]["notify_config"]["notify_appid"] = project.sandbox.credentials.appid
        use_docs(project, [doc])
        project.run("apply", "--auto-approve", check=True)
        pid = state_show(project, "product_coupon.coffee-ladder")["upstream_id"]
        project.run("state", "rm", "product_coupon.coffee-ladder", check=True)
        shutil.rmtree(project.manifests)
        project.manifests.mkdir()
        generated = project.run("import", "--generate", "manifests/imported", "--product-id", pid)
        assert generated.returncode == 0, generated.stdout + generated.stderr
        written = yaml.safe_load((project.manifests / "imported" / f"product-{pid}.yaml").read_text(encoding="utf-8"))
        assert "stock" not in written["spec"]
        ladder = written["spec"]["stock_bundle"]["progressive_bundle_usage_rule"]
        assert (
            ladder["normal_coupon_list"]
            == doc["spec"]["stock_bundle"]["progressive_bundle_usage_rule"]["normal_coupon_list"]
        )  # the three steps, in order
        validated = project.run("validate", "manifests")
        assert validated.returncode == 0, validated.stdout + validated.stderr
        project.sandbox.clear_calls()
        plan = project.run("plan", "--detailed-exitcode")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert project.mutating_calls() == []
