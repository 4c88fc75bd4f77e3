"""The manifest cache (reconciler.manifest.cache) never changes a result: cached and uncached loads and plans are
identical, edits and code changes are misses, broken entries are misses, and diagnostics are always fresh."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.generate import generate_campaign
from reconciler.config import Settings, load_settings
from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from reconciler.manifest.cache import ManifestCache, cache_for
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


def _settings(root: Path, toml: str) -> Settings:
    (root / "couponctl.toml").write_text(toml, encoding="utf-8")
    return load_settings(root / "couponctl.toml")


def test_cache_dir_is_used_with_any_state_backend(tmp_path: Path) -> None:
    """`[manifests] cache_dir` puts the cache where CI can restore it, with PostgreSQL state too; without it the
    cache sits beside a SQLite state and there is none with PostgreSQL; COUPONCTL_MANIFEST_CACHE=0 wins."""
    pg = '[state]\nurl = "postgresql+psycopg://couponctl@db.invalid/coupons"\n'
    configured = cache_for(_settings(tmp_path, pg + '[manifests]\ncache_dir = ".couponctl-cache"\n'))
    assert configured is not None and configured.directory == tmp_path / ".couponctl-cache"
    assert cache_for(_settings(tmp_path, pg)) is None
    sqlite = cache_for(_settings(tmp_path, ""))
    assert sqlite is not None and sqlite.directory == tmp_path / "state" / "cache" / "manifests"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COUPONCTL_MANIFEST_CACHE", "0")
        assert cache_for(_settings(tmp_path, pg + '[manifests]\ncache_dir = "c"\n')) is None


def test_same_size_and_time_but_other_bytes_is_a_miss(campaign: Path, tmp_path: Path) -> None:
    """Entries are keyed by the file's bytes, never its size or modification time: an edit that keeps both (a
    restored CI cache, a checkout that resets times) is validated again and its new content is what loads."""
    cache = ManifestCache(tmp_path / "cache")
    load_manifests([campaign], cache=cache)
    edited = campaign / "bench" / "campaign-0001.yaml"
    stat = edited.stat()
    text = edited.read_text(encoding="utf-8")
    assert "limit_num_one_person: 1" in text
    edited.write_text(text.replace("limit_num_one_person: 1", "limit_num_one_person: 2", 1), encoding="utf-8")
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert edited.stat().st_size == stat.st_size and edited.stat().st_mtime_ns == stat.st_mtime_ns
    cache.hits = cache.misses = 0
    result = load_manifests([campaign], cache=cache)
    assert cache.misses == 1
    assert result.coupons == load_manifests([campaign]).coupons


def _fill(directory: str, campaign: str, rounds: int) -> None:
    for _ in range(rounds):
        load_manifests([campaign], cache=ManifestCache(Path(directory)))


def test_two_processes_filling_one_cache_leave_whole_entries(campaign: Path, tmp_path: Path) -> None:
    """Two processes writing the same entries at once (two CI jobs sharing a restored folder): every entry is whole
    (written to a temporary file, then renamed), no temporary file is left, and a third load hits every file."""
    import multiprocessing

    directory = tmp_path / "shared"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_fill, args=(str(directory), str(campaign), 3)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    entries = list(directory.rglob("*.json"))
    assert entries and not list(directory.rglob(".tmp-*"))
    for entry in entries:
        json.loads(entry.read_bytes())
    cache = ManifestCache(directory)
    expected = load_manifests([campaign]).coupons
    assert load_manifests([campaign], cache=cache).coupons == expected
    assert cache.misses == 0 and cache.hits == len(entries)


def test_a_validate_with_postgresql_state_uses_the_configured_cache(tmp_path: Path) -> None:
    """validate with PostgreSQL state and `[manifests] cache_dir` (no database is opened by validate): the second run
    is served from the folder and imports no pydantic, as a CI job that restored the folder would be."""
    import subprocess
    import sys

    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    (tmp_path / "couponctl.toml").write_text(
        '[manifests]\npaths = ["manifests"]\ncache_dir = ".couponctl-cache"\n'
        '[state]\nurl = "postgresql+psycopg://couponctl@db.invalid/coupons"\n',
        encoding="utf-8",
    )
    code = (
        "import sys\n"
        "from reconciler.cli import main\n"
        "sys.argv = ['couponctl', 'validate']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONCTL_")}
    run = [sys.executable, "-c", code]
    first = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=True, env=env)
    assert "pydantic" in first.stdout
    assert list((tmp_path / ".couponctl-cache").rglob("*.json"))
    again = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=True, env=env)
    assert again.stdout.strip().splitlines()[-1] == "[]", again.stdout
