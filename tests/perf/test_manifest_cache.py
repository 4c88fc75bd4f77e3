"""The manifest cache (reconciler.manifest.cache) never changes a result: cached and uncached loads and plans are
identical, edits and code changes are misses, broken entries are misses, and diagnostics are always fresh."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.generate import generate_campaign
from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from reconciler.manifest.cache import ManifestCache
from reconciler.plan.planfile import plan_to_data
from reconciler.plan.planner import make_plan
from reconciler.resources import DesiredCoupon

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _plan_data(coupons: list[DesiredCoupon]) -> dict[str, object]:
    plan = make_plan(
        coupons, {}, lineage="l", serial=0, manifest_digest="d", now=NOW, tool_version="t",
        default_brand_id="120344",
    )  # fmt: skip
    return plan_to_data(plan)


@pytest.fixture
def campaign(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    directory = tmp_path / "manifests"
    generate_campaign(directory / "bench", 300)
    shutil.copytree(REPO / "manifests" / "double11-2028", directory / "double11-2028")
    return directory


def test_cached_load_and_plan_equal_uncached(campaign: Path, tmp_path: Path) -> None:
    """A second load served from the cache yields the same coupons, digest and plan as a load without a cache."""
    cache = ManifestCache(tmp_path / "cache")
    plain = load_manifests([campaign])
    first = load_manifests([campaign], cache=cache)
    assert cache.hits == 0
    second = load_manifests([campaign], cache=cache)
    assert cache.hits == len(plain.files)
    for result in (first, second):
        assert result.coupons == plain.coupons
        assert result.digest == plain.digest
        assert result.files == plain.files
        assert result.warnings == plain.warnings
    assert _plan_data(second.coupons) == _plan_data(plain.coupons)


def test_an_edited_file_is_reloaded_and_only_it(campaign: Path, tmp_path: Path) -> None:
    """Editing one file re-validates that file alone, and the result reflects the edit."""
    cache = ManifestCache(tmp_path / "cache")
    load_manifests([campaign], cache=cache)
    edited = campaign / "bench" / "campaign-0000.yaml"
    edited.write_text(edited.read_text(encoding="utf-8").replace("name: 压测券", "name: 改版压测券"), encoding="utf-8")
    cache.hits = cache.misses = 0
    result = load_manifests([campaign], cache=cache)
    assert cache.misses == 1
    assert result.coupons == load_manifests([campaign]).coupons
    assert any(c.body.get("coupon_info", {}).get("name", "").startswith("改版") for c in result.coupons)


def test_broken_entries_are_misses(campaign: Path, tmp_path: Path) -> None:
    """A truncated or foreign cache file is ignored and the manifests are loaded afresh."""
    cache = ManifestCache(tmp_path / "cache")
    expected = load_manifests([campaign], cache=cache).coupons
    for entry in (tmp_path / "cache").rglob("*.json"):
        entry.write_text('[[0, "ShopCoupon"', encoding="utf-8")
    assert load_manifests([campaign], cache=cache).coupons == expected


def test_diagnostics_are_never_cached(campaign: Path, tmp_path: Path) -> None:
    """A cross-file duplicate is reported with its position even when both files come from the cache (the copy
    loads cleanly on its own, so the first failing run caches it too)."""
    cache = ManifestCache(tmp_path / "cache")
    load_manifests([campaign], cache=cache)
    source = campaign / "bench" / "campaign-0000.yaml"
    shutil.copy(source, campaign / "bench" / "copy.yaml")
    with pytest.raises(ManifestError) as first:
        load_manifests([campaign], cache=cache)
    with pytest.raises(ManifestError) as second:
        load_manifests([campaign], cache=cache)
    assert "duplicate address" in str(first.value)
    assert str(first.value) == str(second.value)
    assert "copy.yaml:2:7: shop_coupon.bench-shop-000000" in str(second.value)


def test_a_cached_validate_imports_no_pydantic(tmp_path: Path) -> None:
    """The manifest cache exists so an unchanged repository never pays for the models (~0.2 s of pydantic imports):
    a second `validate` of the example campaign (which uses a coupon set) loads no pydantic module."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "manifests", tmp_path / "manifests")
    (tmp_path / "couponctl.toml").write_text('[manifests]\npaths = ["manifests"]\n', encoding="utf-8")
    code = (
        "import sys\n"
        "from reconciler.cli import main\n"
        "sys.argv = ['couponctl', 'validate']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))\n"
    )
    first = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "pydantic" in first.stdout  # the first run validates (and fills the cache)
    again = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert again.stdout.strip().splitlines()[-1] == "[]", again.stdout
