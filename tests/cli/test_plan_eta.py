"""The plan's ETA uses `[apply] rate_limits` when set (merged over the documented limits), in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.commands.conftest import write_project
from tests.inprocess import couponctl

SLOW_SHOP_ADD = '[apply]\nrate_limits = { "shop.add" = 0.01 }\n'  # two shop.add calls at 1 per 100 s: 200 s


def _plan(root: Path, *args: str) -> str:
    result = couponctl("plan", "--no-refresh", *args, cwd=root)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def projects(tmp_path: Path) -> tuple[Path, Path]:
    default, slow = tmp_path / "default", tmp_path / "slow"
    default.mkdir()
    slow.mkdir()
    write_project(default)
    write_project(slow, SLOW_SHOP_ADD)
    return default, slow


def test_a_configured_rate_changes_the_eta_printed_by_plan(projects: tuple[Path, Path]) -> None:
    """Same manifests, `shop.add` configured at 0.01/s: the ETA is 200 s in JSON and `3 min 20 s` in text and
    Markdown, where the documented rates give under a second."""
    default, slow = projects
    assert json.loads(_plan(default, "--format", "json"))["summary"]["eta_seconds"] < 1
    assert json.loads(_plan(slow, "--format", "json"))["summary"]["eta_seconds"] == 200.0
    assert "ETA under 1 s" in _plan(default)
    assert "ETA 3 min 20 s at the configured rate limits." in _plan(slow)
    assert "ETA 3 min 20 s" in _plan(slow, "--format", "markdown")


def test_show_of_a_saved_plan_uses_the_configured_rates(projects: tuple[Path, Path]) -> None:
    """`couponctl show` renders a saved plan's ETA at the project's configured rates."""
    _, slow = projects
    _plan(slow, "--out", "plan.bin")
    shown = couponctl("show", "plan.bin", "--format", "json", cwd=slow)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["summary"]["eta_seconds"] == 200.0
    assert "ETA 3 min 20 s" in couponctl("show", "plan.bin", cwd=slow).stdout
