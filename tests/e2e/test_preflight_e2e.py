"""Issue 17 acceptance (item 4): with the sandbox's prerequisites switched on and unmet, `couponctl doctor` names each
missing one (exit 1) and `apply` refuses before any mutating call; once they are fixed (confirm called and the notify
URL set through the API by `doctor --fix`, the brands' authorisation given through the admin API), doctor exits 0
and apply proceeds. The real CLI, in real mode, against the served sandbox (decision D32)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Project, write_project
from tests.sandbox_server import ServedSandbox, served_sandbox

pytestmark = pytest.mark.slow

EXTRA_BRAND = "120344"  # the example campaign's product coupons name it (manifests/double11-2028)
NOTIFY_URL = "https://example.com/wechatpay/product-coupon-events"
# Every call that changes something upstream: coupons, and the account calls doctor --fix may send.
MUTATING_PREFIXES = (
    "shop.add",
    "shop.update",
    "product.create",
    "product.patch",
    "product.deactivate",
    "product.stock",
)


@pytest.fixture
def unmet(tmp_path: Path) -> Iterator[Project]:
    """The example campaign against a sandbox whose every prerequisite is switched on and unmet."""
    (tmp_path / "sandbox").mkdir()
    with served_sandbox(tmp_path / "sandbox", extra_brand_ids=[EXTRA_BRAND]) as served:
        brand = served.credentials.brand_id
        switch(served, confirm_required=True, notify_config_required=True, unauthorised_brand_ids=[brand, EXTRA_BRAND])
        yield write_project(tmp_path / "project", served)


def switch(sandbox: ServedSandbox, **values: Any) -> None:
    """Switch prerequisites on the running sandbox (admin API `PUT /_sandbox/switches`)."""
    httpx.put(f"{sandbox.url}/_sandbox/switches", json=values, timeout=10).raise_for_status()


def mutating(project: Project) -> list[str]:
    return [c["operation"] for c in project.sandbox.calls() if c["operation"].startswith(MUTATING_PREFIXES)]


def test_doctor_names_every_unmet_prerequisite_and_apply_sends_nothing(unmet: Project) -> None:
    project = unmet
    brand = project.sandbox.credentials.brand_id
    doctor = project.run("doctor")
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    lines = doctor.stdout.splitlines()
    failed = [line for line in lines if line.startswith("FAIL")]
    assert failed == [
        "FAIL shop.confirm: shop coupon APIs answer errcode 48001: /shop/coupon/confirm was not called",
        f"FAIL product.notify_config: no product-coupon notify URL for partner {project.sandbox.credentials.mchid}: "
        "none is set",
        f"FAIL product.brand {brand}: brand has not authorised partner {project.sandbox.credentials.mchid} "
        "(403 NO_AUTH)",
        f"FAIL product.brand {EXTRA_BRAND}: brand has not authorised partner {project.sandbox.credentials.mchid} "
        "(403 NO_AUTH)",
    ], doctor.stdout
    assert sum(1 for line in lines if line.strip().startswith("fix: ")) == 4  # each failure has its fix
    assert any(line.startswith("ok   product.signing") for line in lines)  # the round trip itself works
    assert any(line.startswith("ok   shop.token") for line in lines)
    assert project.sandbox.credentials.app_secret not in doctor.stdout + doctor.stderr
    report = json.loads(project.run("doctor", "--format", "json").stdout)
    assert report["ok"] is False
    assert [c["check"] for c in report["checks"] if not c["ok"]] == [
        "shop.confirm",
        "product.notify_config",
        "product.brand",
        "product.brand",
    ]

    planned = project.run("plan")  # plan reads the shop listing too: the same line and fix, not a raw errcode
    assert planned.returncode == 1, planned.stdout + planned.stderr
    assert "/shop/coupon/confirm was not called" in planned.stderr and "couponctl doctor --fix" in planned.stderr
    assert "Traceback" not in planned.stderr

    project.sandbox.clear_calls()
    refused = project.run("apply", "--auto-approve")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "account prerequisite is not met" in refused.stderr
    assert "/shop/coupon/confirm was not called" in refused.stderr
    assert "couponctl doctor --fix" in refused.stderr
    assert "Nothing was applied" in refused.stderr
    assert mutating(project) == []
    assert project.addresses() == []

    # The shop confirmed (doctor --fix): apply now stops at the product prerequisites, still before any call.
    fixed = project.run("doctor", "--fix")
    assert "ok   shop.confirm: confirmed now" in fixed.stdout, fixed.stdout
    assert fixed.returncode == 1  # the notify URL and the brands are still missing
    project.sandbox.clear_calls()
    refused = project.run("apply", "--auto-approve")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "no product-coupon notify URL" in refused.stderr
    assert f"product.brand {EXTRA_BRAND}: brand has not authorised" in refused.stderr
    assert "shop.confirm" not in refused.stderr
    assert mutating(project) == []
    assert project.sandbox.state()["shop_coupons"] == []  # not one shop coupon before the product refusal
    saved = project.run("plan", "--out", "plan.bin")  # a saved plan is checked the same way when applied
    assert saved.returncode == 0, saved.stdout + saved.stderr
    refused = project.run("apply", "plan.bin")
    assert refused.returncode == 1 and "no product-coupon notify URL" in refused.stderr, refused.stderr
    assert mutating(project) == []

    # The notify URL set through the API, the brands' authorisation given in the (sandbox's) brand platform.
    fixed = project.run("doctor", "--fix", "--notify-url", NOTIFY_URL)
    assert f"ok   product.notify_config: notify URL set now: {NOTIFY_URL}" in fixed.stdout, fixed.stdout
    switch(project.sandbox, unauthorised_brand_ids=[])
    ready = project.run("doctor")
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert ready.stdout.rstrip().endswith("checks passed: ready to apply.")

    project.sandbox.clear_calls()
    applied = project.run("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "product.create" in mutating(project) and "shop.add" in mutating(project)
    assert project.run("plan", "--detailed-exitcode").returncode == 0  # converged


def test_skip_preflight_sends_the_calls_and_meets_upstream_errors(unmet: Project) -> None:
    """--skip-preflight (decision D32): no checks, so the first refused call is upstream's own error."""
    project = unmet
    switch(project.sandbox, confirm_required=False)
    project.sandbox.clear_calls()
    result = project.run("apply", "--auto-approve", "--skip-preflight")
    assert result.returncode == 1
    assert "account prerequisite" not in result.stderr
    operations = [c["operation"] for c in project.sandbox.calls()]
    assert "product.notify_configs" not in operations
    assert "shop.add" in operations  # the shop coupons went ahead; the product creates were refused upstream
