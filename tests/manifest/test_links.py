"""Links among manifests are never skipped silently (issue 14): a manifest that is not loaded looks removed, and its
coupons would be planned for deactivation. Dangling links and linked folders are errors naming the link."""

from __future__ import annotations

from pathlib import Path

from tests.inprocess import couponctl

SHOP = """kind: ShopCoupon
name: linked-coupon
spec:
  type: 102
  promote_type: 4
  coupon_info:
    name: Linked
    promote_info: {promote_type: 4, finder: {nickname: shop}}
    discount_info: {discount_condition: {product_price: 10000}, discount_fee: 2000}
    receive_info: {start_time: 2028-11-10T20:00:00+08:00, end_time: 2028-11-12T00:00:00+08:00,
                   limit_num_one_person: 1, total_num: 10000}
    valid_info: {valid_type: 2, valid_day_num: 3}
"""


def test_a_dangling_link_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "gone.yaml").symlink_to("../elsewhere/gone.yaml")
    result = couponctl("validate", "manifests", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "Error: manifests/gone.yaml:1:1: a dangling link: its target ../elsewhere/gone.yaml does not exist"
    )


def test_a_linked_folder_is_an_error_naming_it_and_its_target_loads_when_given(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "coupon.yaml").write_text(SHOP, encoding="utf-8")
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "shared").symlink_to("../shared", target_is_directory=True)
    result = couponctl("validate", "manifests", cwd=tmp_path)
    assert result.returncode == 1
    assert "manifests/shared:1:1: a link to a folder (../shared): couponctl does not follow" in result.stderr
    assert couponctl("validate", "shared", cwd=tmp_path).returncode == 0


def test_a_link_to_a_manifest_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "real.yaml").write_text(SHOP, encoding="utf-8")
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "coupon.yaml").symlink_to("../real.yaml")
    result = couponctl("validate", "manifests", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
