"""The commands that read upstream, through the real CLI in-process on the embedded sandbox: progress goes to
stderr (stdout stays a clean JSON document), `--quiet` leaves stderr empty, and what was skipped is said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.commands.conftest import write_project
from tests.inprocess import couponctl


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COUPONCTL_ACTOR", "tester")
    write_project(tmp_path)
    applied = couponctl("apply", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    return tmp_path


def test_drift_json_stays_clean_and_progress_goes_to_stderr(project: Path) -> None:
    result = couponctl("drift", "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["checked"], report["calls"], report["skipped"]) == (2, 1, {})
    assert result.stderr.splitlines() == [
        "reading upstream: 0/1 calls, about 0 s left at the rate limits",
        "reading upstream: 1/1 calls",
    ]


@pytest.mark.parametrize("command", [("drift",), ("refresh",), ("plan", "--format", "json")])
def test_quiet_prints_nothing_on_stderr(project: Path, command: tuple[str, ...]) -> None:
    result = couponctl(*command, "--quiet", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout


def test_errors_still_reach_stderr_with_quiet(project: Path) -> None:
    (project / "manifests" / "broken.yaml").write_text("kind: ShopCoupon\nname: [\n", encoding="utf-8")
    result = couponctl("plan", "--quiet", cwd=project)
    assert result.returncode == 1
    assert "broken.yaml" in result.stderr


def test_a_voided_campaign_is_skipped_and_said(project: Path) -> None:
    """Both shop coupons voided (declared so, applied): drift and refresh read nothing and say why; --all reads."""
    manifest = project / "manifests" / "shop.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("status: active", "status: voided").replace("status: draft", "status: voided"))
    applied = couponctl("apply", "--auto-approve", "--quiet", cwd=project)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    drift = couponctl("drift", cwd=project)
    assert drift.returncode == 0, drift.stdout
    assert drift.stdout.splitlines()[-2:] == [
        "No drift. Upstream matches state (0 coupon(s) checked, 0 reads).",
        "Skipped 2 coupons that can no longer change: 2 voided; unmanaged shop coupons were not looked for "
        "(--all reads them).",
    ]
    assert drift.stderr == ""  # nothing was read: no progress to show
    refreshed = couponctl("refresh", cwd=project)
    assert refreshed.stdout.splitlines() == [
        "Refreshed 0 coupon(s) from upstream: 0 updated in state.",
        "Skipped 2 coupons that can no longer change: 2 voided; unmanaged shop coupons were not looked for "
        "(--all reads them); their state is kept.",
    ]
    everything = json.loads(couponctl("drift", "--all", "--format", "json", "--quiet", cwd=project).stdout)
    assert (everything["checked"], everything["calls"], everything["skipped"]) == (2, 1, {})
