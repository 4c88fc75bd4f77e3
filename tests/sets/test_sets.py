"""Coupon sets (issue 19, item 2) as a campaign team uses them: a ladder declared once, expanded, validated per row,
planned and rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.commands.apply import apply
from reconciler.commands.plan import plan
from reconciler.config import Settings
from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from reconciler.manifest.cache import ManifestCache
from reconciler.plan.model import ActionType
from reconciler.render.text import render_text
from tests.commands.conftest import fixed_clock, settings  # noqa: F401 (the project fixture)
from tests.commands.test_plan_apply import Hooks
from tests.inprocess import couponctl

TEMPLATE = """\
template:
  kind: ShopCoupon
  name: d11-{threshold}-off-{discount}
  spec:
    type: 102                       # 店铺满减券
    promote_type: 4
    coupon_info:
      name: 满{threshold}减{discount}
      promote_info: {promote_type: 4, finder: {nickname: 咖啡实验室}}
      discount_info:
        discount_condition: {product_price: "{threshold*100}"}
        discount_fee: "{discount*100}"
      receive_info:
        start_time: 2028-11-11T00:00:00+08:00
        end_time: 2028-11-12T00:00:00+08:00
        limit_num_one_person: 1
        total_num: 1000
      valid_info: {valid_type: 2, valid_day_num: 3}
"""


def matrix_set(thresholds: str = "[100, 200, 300]", discounts: str = "[10, 15, 20, 25]") -> str:
    return (
        f"# the Double 11 ladder\nkind: CouponSet\nname: d11-ladder\nmatrix:\n  threshold: {thresholds}\n"
        f"  discount: {discounts}\n{TEMPLATE}"
    )


def rows_set(rows: list[tuple[int, int]]) -> str:
    lines = "".join(f"  - {{threshold: {t}, discount: {d}}}\n" for t, d in rows)
    return f"kind: CouponSet\nname: d11-ladder\nrows:\n{lines}{TEMPLATE}"


def test_a_3_by_4_set_expands_to_12_ordinary_coupons(tmp_path: Path) -> None:
    """A 3 x 4 matrix declares 12 coupons named from the pattern, in row order, with integer money in fen."""
    (tmp_path / "ladder.yaml").write_text(matrix_set(), encoding="utf-8")
    coupons = load_manifests([tmp_path]).coupons
    assert len(coupons) == 12
    by_name = {c.name: c for c in coupons}
    c = by_name["d11-300-off-25"]
    assert c.address == "shop_coupon.d11-300-off-25" and c.body["out_coupon_id"] == "d11-300-off-25"
    assert c.body["coupon_info"]["discount_info"] == {
        "discount_condition": {"product_price": 30000},
        "discount_fee": 2500,
    }
    assert c.body["coupon_info"]["name"] == "满300减25"
    assert c.source.set_name == "d11-ladder" and c.source.line == 2
    assert load_manifests([tmp_path]).coupons == coupons  # deterministic


def test_an_invalid_row_names_the_template_line_and_the_row(tmp_path: Path) -> None:
    """Row 7 of the matrix breaks a rule: the error points at the template's field and names the row's values."""
    (tmp_path / "ladder.yaml").write_text(matrix_set(discounts="[10, 15, 190, 25]"), encoding="utf-8")
    done = couponctl("validate", ".", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.removeprefix("Error: ").splitlines()
    # 满100减190 and 满200减190 leave under 2折 to pay (rows 3 and 7); 满300减190 (row 11) is valid.
    field = "spec.coupon_info.discount_info.discount_fee"
    assert sorted(line.split(": must")[0] for line in lines[:-1]) == [
        f"ladder.yaml:18:23: set d11-ladder: row 3 (threshold=100, discount=190): {field}",
        f"ladder.yaml:18:23: set d11-ladder: row 7 (threshold=200, discount=190): {field}",
    ]
    assert f"row 7 (threshold=200, discount=190): {field}: must be at most 16000 fen, got 19000" in done.stderr
    assert lines[-1] == "2 errors in manifests; nothing was sent upstream."


def test_an_unknown_placeholder_is_reported_once_at_its_field(tmp_path: Path) -> None:
    """A placeholder no row defines is one error at the template field, naming what the rows do define."""
    text = matrix_set().replace("nickname: 咖啡实验室", 'nickname: "{shop}"')
    (tmp_path / "ladder.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifests([tmp_path])
    [only] = caught.value.diagnostics
    assert str(only).endswith(
        ": set d11-ladder: row 1 (threshold=100, discount=10): "
        "template.spec.coupon_info.promote_info.finder.nickname: unknown placeholder {shop} "
        "(this row defines threshold, discount)"
    )
    assert only.line == 15  # the template's nickname line


def test_rows_from_a_csv_beside_the_manifest_and_the_cache_sees_a_changed_csv(tmp_path: Path) -> None:
    """`csv:` reads rows relative to the manifest; editing only the CSV changes the coupons even with the cache."""
    folder = tmp_path / "campaign"
    folder.mkdir()
    text = matrix_set().replace(
        "matrix:\n  threshold: [100, 200, 300]\n  discount: [10, 15, 20, 25]\n", "csv: ladder.csv\n"
    )
    (folder / "ladder.yaml").write_text(text, encoding="utf-8")
    (folder / "ladder.csv").write_text("threshold,discount\n100,10\n200,25\n", encoding="utf-8")
    cache = ManifestCache(tmp_path / "cache")
    first = load_manifests([folder], cache=cache)
    assert [c.name for c in first.coupons] == ["d11-100-off-10", "d11-200-off-25"]
    again = load_manifests([folder], cache=cache)
    assert cache.hits == 1 and again.coupons == first.coupons and again.digest == first.digest
    (folder / "ladder.csv").write_text("threshold,discount\n100,10\n", encoding="utf-8")
    changed = load_manifests([folder], cache=cache)
    assert [c.name for c in changed.coupons] == ["d11-100-off-10"]
    assert changed.digest != first.digest  # a saved plan made from the old CSV is stale


def test_render_prints_the_expanded_manifests_which_validate_on_their_own(tmp_path: Path) -> None:
    """`couponctl render` prints 12 plain documents; that output, saved, validates to the same 12 coupons."""
    (tmp_path / "ladder.yaml").write_text(matrix_set(), encoding="utf-8")
    done = couponctl("render", "ladder.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n---\n") + done.stdout.startswith("---\n") == 12
    assert "# ladder.yaml:2: set d11-ladder: row 7 (threshold=200, discount=20)" in done.stdout
    assert "CouponSet" not in done.stdout
    out = tmp_path / "rendered"
    out.mkdir()
    (out / "all.yaml").write_text(done.stdout, encoding="utf-8")
    rendered = load_manifests([out]).coupons
    original = load_manifests([tmp_path / "ladder.yaml"]).coupons
    assert [(c.address, c.body) for c in rendered] == [(c.address, c.body) for c in original]


def test_removing_one_row_plans_exactly_that_coupons_removal(settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    """After applying a 3-row set, deleting one row plans one deactivation (that coupon) and nothing else;
    the plan text groups the set's coupons under the set."""
    rows = [(100, 10), (200, 25), (300, 40)]
    for old in (tmp_path / "manifests").iterdir():
        old.unlink()
    ladder = tmp_path / "manifests" / "ladder.yaml"
    ladder.write_text(rows_set(rows), encoding="utf-8")
    first = plan(settings, clock=fixed_clock).plan
    assert sorted(a.address for a in first.actions) == [f"shop_coupon.d11-{t}-off-{d}" for t, d in rows]
    assert all(a.source is not None and a.source.set_name == "d11-ladder" for a in first.actions)
    assert "set d11-ladder: 3 to add" in render_text(first, color=False)
    applied = apply(settings, Hooks(), clock=fixed_clock)
    assert applied.report is not None and applied.report.ok

    ladder.write_text(rows_set([rows[0], rows[2]]), encoding="utf-8")
    after = plan(settings, clock=fixed_clock).plan
    assert [(a.address, a.type) for a in after.actions] == [("shop_coupon.d11-200-off-25", ActionType.DEACTIVATE)]
