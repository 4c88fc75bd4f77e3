"""Plan-time window rules apply to coupons about to be created, not to live ones (contract §1.2)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.commands.plan import build_plan
from reconciler.commands.upstream import default_brand_id
from reconciler.config import load_settings
from reconciler.errors import ManifestError
from reconciler.store import open_store

REPO = Path(__file__).resolve().parents[2]
AFTER_CAMPAIGN = datetime(2030, 1, 1, tzinfo=UTC)  # the example campaign's windows are in November 2028


def cli(cwd: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_ended_window_is_an_error_for_new_coupons_only(tmp_path: Path) -> None:
    """Planning new coupons whose claim windows ended is an error; once they are live, it is not."""
    (tmp_path / "couponctl.toml").write_text('[upstream]\nmode = "sandbox"\nsandbox_brand_ids = ["120344"]\n')
    manifests = [str(REPO / "manifests")]
    settings = load_settings(cwd=tmp_path)
    store = open_store(settings.state_url)
    try:
        with pytest.raises(ManifestError, match="ended"):
            build_plan(
                settings,
                store,
                paths=manifests,
                targets=(),
                now=AFTER_CAMPAIGN,
                default_brand_id=default_brand_id(settings),
            )
    finally:
        store.close()
    cli(tmp_path, "plan", "--out", "plan.bin", *manifests)
    cli(tmp_path, "apply", "plan.bin")
    store = open_store(settings.state_url)
    try:
        later = build_plan(
            settings,
            store,
            paths=manifests,
            targets=(),
            now=AFTER_CAMPAIGN,
            default_brand_id=default_brand_id(settings),
        )
        assert not later.plan.has_changes
    finally:
        store.close()
