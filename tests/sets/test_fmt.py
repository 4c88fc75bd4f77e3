"""`couponctl fmt` (issue 19, item 3): canonical key order and quoting, comments kept, idempotent; `--check` for CI."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from reconciler.manifest import load_manifests
from reconciler.manifest.fmt import FormatError, format_text
from tests.inprocess import couponctl

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = sorted(
    p for top in (REPO / "manifests", REPO / "tests") for p in top.rglob("*") if p.suffix in (".yaml", ".yml")
)
COMMENT = re.compile(r"#\s*(.*)$", re.MULTILINE)


def _readable(path: Path) -> str | None:
    try:
        text = path.read_bytes().decode("utf-8-sig")
        format_text(text, file_name=path.name)
    except (UnicodeDecodeError, FormatError):
        return None  # not UTF-8, not YAML or beyond the bounds: fmt leaves it untouched (tested below)
    return text


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(REPO)))
def test_fmt_is_idempotent_and_keeps_every_comment(path: Path) -> None:
    """Every manifest of the repository: formatting twice equals formatting once, and every comment survives."""
    text = _readable(path)
    if text is None:
        return
    once = format_text(text, file_name=path.name)
    assert format_text(once, file_name=path.name) == once
    assert set(COMMENT.findall(text)) <= set(COMMENT.findall(once))


def test_fmt_keeps_what_the_loader_reads(tmp_path: Path) -> None:
    """Formatting the example campaign changes no coupon: the same addresses and bodies load from the result."""
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    before = load_manifests([tmp_path / "manifests"]).coupons
    for path in (tmp_path / "manifests").rglob("*.yaml"):
        path.write_text(format_text(path.read_text(encoding="utf-8")), encoding="utf-8")
    after = load_manifests([tmp_path / "manifests"]).coupons
    assert [(c.address, c.body, c.status) for c in after] == [(c.address, c.body, c.status) for c in before]


UNFORMATTED = """\
# a coupon written in a hurry
spec:   # the upstream object
  coupon_info:
    valid_info: {valid_type: 2, valid_day_num: 3}
    receive_info:
      total_num: 10000
      limit_num_one_person: 1
      end_time: 2028-11-12T00:00:00+08:00
      start_time: 2028-11-10T20:00:00+08:00
    discount_info:
      discount_fee: 2000
      discount_condition: {product_price: 10000}
    promote_info: {finder: {nickname: '咖啡实验室'}, promote_type: 4}
    name: "满100减20"
  promote_type: 4
  type: 102     # 店铺满减券
name: store-100-off-20
kind: ShopCoupon
"""


def test_fmt_orders_keys_as_documented_and_check_exits_1(tmp_path: Path) -> None:
    """`fmt --check` lists an unformatted file and exits 1 without writing; `fmt` rewrites it in the documented
    order with comments in place; then `--check` exits 0."""
    path = tmp_path / "coupon.yaml"
    path.write_text(UNFORMATTED, encoding="utf-8")
    check = couponctl("fmt", "--check", ".", cwd=tmp_path)
    assert (check.returncode, check.stdout) == (1, "would reformat coupon.yaml\n")
    assert path.read_text(encoding="utf-8") == UNFORMATTED
    done = couponctl("fmt", "coupon.yaml", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "reformatted coupon.yaml\n")
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[:5] == [
        "# a coupon written in a hurry",
        "kind: ShopCoupon",
        "name: store-100-off-20",
        "spec:   # the upstream object",
        "  type: 102     # 店铺满减券",
    ]
    assert "    name: 满100减20\n    promote_info: {promote_type: 4, finder: {nickname: 咖啡实验室}}\n" in text
    assert "start_time: 2028-11-10T20:00:00+08:00\n      end_time:" in text
    assert couponctl("fmt", "--check", ".", cwd=tmp_path).returncode == 0
    assert load_manifests([path]).coupons[0].name == "store-100-off-20"


def test_fmt_quotes_what_would_read_back_as_another_type(tmp_path: Path) -> None:
    """A brand_id of digits and a set's placeholder stay strings: double-quoted; plain text loses its quotes."""
    text = "kind: ProductCoupon\nname: 'x'\nbrand_id: '120344'\nspec: {remark: \"{store}\", flag: 'yes'}\n"
    out = format_text(text)
    assert out == 'kind: ProductCoupon\nname: x\nbrand_id: "120344"\nspec: {remark: "{store}", flag: "yes"}\n'


def test_fmt_leaves_a_broken_file_alone_and_says_so(tmp_path: Path) -> None:
    """A file that is not valid YAML is reported and left byte for byte; the run exits 1."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: ShopCoupon\nname: [unclosed\n", encoding="utf-8")
    done = couponctl("fmt", ".", cwd=tmp_path)
    assert done.returncode == 1 and "broken.yaml" in done.stderr and "left unchanged" in done.stderr
    assert broken.read_text(encoding="utf-8") == "kind: ShopCoupon\nname: [unclosed\n"


def test_fmt_of_a_folder_also_formats_its_policy_file_keeping_its_key_order(tmp_path: Path) -> None:
    """policies.yaml beside the manifests gets the same quoting and indentation; its keys stay in written order."""
    (tmp_path / "policies.yaml").write_text(
        "# guardrails\nrules:\n- {kind: 'max_discount', max: 5000}\n", encoding="utf-8"
    )
    done = couponctl("fmt", ".", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "reformatted policies.yaml\n")
    assert (tmp_path / "policies.yaml").read_text(encoding="utf-8") == (
        "# guardrails\nrules:\n  - {kind: max_discount, max: 5000}\n"
    )
