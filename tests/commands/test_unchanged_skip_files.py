"""Decision D36 against files a manifest names: a codes file, a stores file or an image whose bytes change while the
YAML does not is planned (never skipped as unchanged), the same with and without the skip, the manifest cache on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.commands.apply import apply
from reconciler.commands.converged import SKIP_ENV
from reconciler.commands.plan import plan
from reconciler.commands.upstream import sandbox_credentials
from reconciler.config import Settings
from reconciler.plan.planfile import save_plan
from tests.commands.conftest import fixed_clock
from tests.commands.test_plan_apply import Hooks
from tests.commands.test_unchanged_skip import _decoded, _use
from tests.e2e.coupons import product_doc
from tests.manifest.image_files import png


def _files(root: Path, *, codes: int, stores: int, salt: int) -> None:
    for relative, data in (
        ("codes/c.txt", "".join(f"Code{i:05d}\n" for i in range(codes)).encode()),
        ("stores/s.txt", "".join(f"{100_000_000 + i}\n" for i in range(stores)).encode()),
        ("images/i.png", png(64, 64, salt=salt)),
    ):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)


def _plans(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes, int]:
    shown = []
    for skip in ("1", "0"):
        monkeypatch.setenv(SKIP_ENV, skip)
        made = plan(settings, refresh=False, clock=fixed_clock).plan
        shown.append((save_plan(made), len(made.actions)))
    monkeypatch.delenv(SKIP_ENV)
    return shown[0][0], shown[1][0], shown[0][1]


@pytest.mark.parametrize(
    "change",
    [
        lambda root: _files(root, codes=30, stores=3, salt=0),
        lambda root: _files(root, codes=20, stores=4, salt=0),
        lambda root: _files(root, codes=20, stores=2, salt=0),
        lambda root: _files(root, codes=20, stores=3, salt=7),
    ],
    ids=["codes-appended", "store-added", "store-removed", "image-bytes"],
)
def test_a_file_whose_bytes_change_under_unchanged_yaml_is_planned(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Callable[[Path], None]
) -> None:
    appid = sandbox_credentials(settings).appid
    coded, stored = product_doc("coded", appid, "券码咖啡券"), product_doc("stored", appid, "门店咖啡券")
    coded["spec"]["stock"].update(coupon_code_mode="UPLOAD", codes_file="../codes/c.txt")
    stored["spec"]["stock"].update(store_scope="SPECIFIC", stores_file="../stores/s.txt")
    stored["spec"]["display_info"]["image_url"] = {"file": "../images/i.png"}
    _use(tmp_path, {"p.yaml": [coded, stored]})
    _files(tmp_path, codes=20, stores=3, salt=0)
    assert apply(settings, Hooks(), clock=fixed_clock).report is not None
    with_skip, without, actions = _plans(settings, monkeypatch)
    assert with_skip == without and actions == 0
    assert _decoded(settings)[0] == 0  # apply recorded both markers: the no-op plan decodes no row
    change(tmp_path)
    with_skip, without, actions = _plans(settings, monkeypatch)
    assert with_skip == without and actions == 1  # the changed file's coupon, never "No changes"
    assert _decoded(settings)[0] == 1
