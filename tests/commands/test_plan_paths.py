"""`plan PATH` reads each manifest file once: the files under PATH for the plan, the other configured files only
to know what is declared elsewhere (issue 14), never PATH's files a second time."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reconciler.commands.apply import apply
from reconciler.commands.plan import plan
from reconciler.config import Settings
from reconciler.manifest import bounds
from tests.commands.conftest import fixed_clock
from tests.commands.test_plan_apply import Hooks
from tests.commands.test_team_habits import use
from tests.e2e.coupons import shop_doc


def reads_of(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every manifest file the loader reads from now on (the real read, counted)."""
    counted: Counter[str] = Counter()
    real = bounds.read_limited

    def read(path: Path) -> bytes:
        counted[Path(path).resolve().as_posix()] += 1
        return real(path)

    monkeypatch.setattr(bounds, "read_limited", read)
    return counted


def test_plan_of_a_folder_reads_every_configured_manifest_once(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(
        tmp_path,
        {
            "double11/shop.yaml": [shop_doc("d11-store-100-off-20")],
            "spring/shop.yaml": [shop_doc("spring-100-off-10", fee=1000)],
        },
    )
    assert apply(settings, Hooks(), clock=fixed_clock).report is not None
    reads = reads_of(monkeypatch)
    narrowed = plan(settings, paths=["manifests/double11"], refresh=False, clock=fixed_clock).plan
    assert narrowed.actions == () and narrowed.left_alone == 1
    manifests = (tmp_path / "manifests").resolve()
    assert reads == {(manifests / "double11/shop.yaml").as_posix(): 1, (manifests / "spring/shop.yaml").as_posix(): 1}

    reads.clear()  # a removal under PATH still needs the other files once, PATH's files once
    use(tmp_path, {"double11/shop.yaml": [shop_doc("d11-other")], "spring/shop.yaml": [shop_doc("spring-100-off-10")]})
    removal = plan(settings, paths=["manifests/double11/shop.yaml"], refresh=False, clock=fixed_clock).plan
    assert {a.address for a in removal.actions} == {"shop_coupon.d11-store-100-off-20", "shop_coupon.d11-other"}
    assert set(reads.values()) == {1} and len(reads) == 2
