"""`moved: {from: NAME}` in manifests: loaded onto the coupon, and every misuse refused as FILE:LINE:COL errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests

SHOP = """\
kind: ShopCoupon
name: {name}
{moved}
spec:
  out_coupon_id: {out_id}
  type: 104
  promote_type: 4
  coupon_info:
    name: 立减5元
    promote_info: {{promote_type: 4, finder: {{nickname: 咖啡实验室}}}}
    discount_info: {{discount_fee: 500}}
    receive_info:
      start_time: 2028-11-10T20:00:00+08:00
      end_time: 2028-11-12T00:00:00+08:00
      limit_num_one_person: 1
      total_num: 100
    valid_info: {{valid_type: 2, valid_day_num: 3}}
"""


def _write(root: Path, file: str, name: str, moved: str = "", out_id: str | None = None) -> None:
    (root / file).write_text(SHOP.format(name=name, moved=moved, out_id=out_id or name), encoding="utf-8")


def _errors(root: Path) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_manifests([root], root=root)
    return [str(d).replace(str(root) + "/", "") for d in caught.value.diagnostics]


def test_moved_from_is_loaded_onto_the_coupon(tmp_path: Path) -> None:
    """A valid declaration loads; the coupon carries its earlier name (out_coupon_id pinned to it)."""
    _write(tmp_path, "a.yaml", "new-name", "moved: {from: old-name}", out_id="old-name")
    (coupon,) = load_manifests([tmp_path], root=tmp_path).coupons
    assert (coupon.address, coupon.moved_from, coupon.upstream_key) == ("shop_coupon.new-name", "old-name", "old-name")


def test_moved_from_a_name_still_declared_is_an_error(tmp_path: Path) -> None:
    """Old and new both declared: an error at moved.from naming where the old one is."""
    _write(tmp_path, "a.yaml", "new-name", "moved: {from: old-name}", out_id="old-name")
    _write(tmp_path, "b.yaml", "old-name", out_id="other-id")
    (error,) = _errors(tmp_path)
    assert error.startswith("a.yaml:3:15: shop_coupon.new-name: moved.from: shop_coupon.old-name is still declared at ")
    assert "b.yaml:1:1" in error


@pytest.mark.parametrize(
    ("moved", "expected"),
    [
        ("moved: {from: n1}", "a.yaml:3:15: shop_coupon.n1: moved.from: 'n1' is this coupon's own name"),
        ("moved: old-name", "a.yaml:3:8: shop_coupon.n1: moved: expected a mapping: moved: {from: old-name}"),
        ("moved: {fromm: old}", "a.yaml:3:9: shop_coupon.n1: moved.fromm: unknown field (did you mean 'from'?)"),
        ("moved: {from: Old Name}", "a.yaml:3:15: shop_coupon.n1: moved.from: must be 1–64 characters of a-z"),
        ("moved: {}", "a.yaml:3:8: shop_coupon.n1: moved.from: required field is missing"),
    ],
)
def test_malformed_moved_is_refused_with_its_position(tmp_path: Path, moved: str, expected: str) -> None:
    """Each misuse is a located error saying what is allowed."""
    _write(tmp_path, "a.yaml", "n1", moved)
    assert any(error.startswith(expected) for error in _errors(tmp_path))


def test_two_documents_moved_from_one_name_is_an_error(tmp_path: Path) -> None:
    """One old name has one new name."""
    _write(tmp_path, "a.yaml", "n1", "moved: {from: old-name}", out_id="x1")
    _write(tmp_path, "b.yaml", "n2", "moved: {from: old-name}", out_id="x2")
    (error,) = _errors(tmp_path)
    assert "moved.from: shop_coupon.old-name is already moved to shop_coupon.n1" in error


def test_validate_exits_1_on_a_bad_moved(tmp_path: Path) -> None:
    """`couponctl validate` prints the located error and exits 1."""
    from tests.inprocess import couponctl

    _write(tmp_path, "a.yaml", "n1", "moved: {from: n1}")
    result = couponctl("validate", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "a.yaml:3:15: shop_coupon.n1: moved.from: 'n1' is this coupon's own name" in result.stderr
