"""Property tests: any valid shop coupon round-trips to its API body; any millisecond time is refused with the hint."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from reconciler.manifest.shop import REQUIRED_BY_TYPE, SHOP_TYPES

TIMES = st.integers(min_value=1_600_000_000, max_value=2_000_000_000)
IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)


@st.composite
def shop_specs(draw: st.DrawFn) -> dict[str, Any]:
    coupon_type = draw(st.sampled_from(sorted(SHOP_TYPES)))
    needs = REQUIRED_BY_TYPE[coupon_type]
    condition: dict[str, Any] = {}
    discount: dict[str, Any] = {}
    if "out_product_ids" in needs:
        condition["out_product_ids"] = draw(st.lists(IDS, min_size=1, max_size=5, unique=True))
    if "product_cnt" in needs:
        condition["product_cnt"] = draw(st.integers(1, 10))
    price = draw(st.integers(200, 10**7))
    if "product_price" in needs:
        condition["product_price"] = price
    if "tradein_info" in needs:
        condition["tradein_info"] = {"out_product_id": draw(IDS), "price": draw(st.integers(0, 10**6))}
    if "buyget_info" in needs:
        condition["buyget_info"] = {
            "buy_out_product_id": draw(IDS),
            "buy_product_cnt": draw(st.integers(1, 9)),
            "get_out_product_id": draw(IDS),
            "get_product_cnt": draw(st.integers(1, 9)),
        }
    if "discount_num" in needs:
        discount["discount_num"] = draw(st.integers(20, 100)) * 100  # no deeper than 2折 (A.5)
    if "discount_fee" in needs:  # at most 200 元, and a 满减 leaves at least 2折 of its threshold (A.5)
        most = min(20000, price * 4 // 5) if "product_price" in needs else 20000
        discount["discount_fee"] = draw(st.integers(1, most))
    if condition:
        discount["discount_condition"] = condition
    start = draw(TIMES)
    end = start + draw(st.integers(1, 10**7))
    total = draw(st.integers(1, 10**6))
    valid_type = draw(st.sampled_from((1, 2, 3)))
    valid: dict[str, Any] = {"valid_type": valid_type}
    if valid_type == 1:
        valid["start_time"] = start
        valid["end_time"] = end + draw(st.integers(0, 10**6))
    elif valid_type == 2:
        valid["valid_day_num"] = draw(st.integers(1, 365))
    else:
        valid["valid_second"] = draw(st.integers(1, 10**7))
    return {
        "out_coupon_id": draw(IDS),
        "type": coupon_type,
        "promote_type": 4,
        "coupon_info": {
            "name": draw(st.text(alphabet="满减折券双十一ABC0123", min_size=1, max_size=10)),
            "promote_info": {
                "promote_type": 4,
                "finder": {
                    "nickname": draw(
                        st.text(min_size=1, max_size=8).filter(lambda s: s.isprintable() and s.strip() == s and s != "")
                    )
                },
            },
            "discount_info": discount,
            "receive_info": {
                "start_time": start,
                "end_time": end,
                "limit_num_one_person": draw(st.integers(1, total)),
                "total_num": total,
            },
            "valid_info": valid,
        },
    }


def _load(text: str) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(text, encoding="utf-8")
        return load_manifests([path])


@settings(max_examples=60, deadline=None)
@given(shop_specs())
def test_valid_shop_spec_round_trips_to_its_body(spec: dict[str, Any]) -> None:
    """A spec that follows A.4–A.7, written as JSON-flavoured YAML, loads to a body equal to the spec."""
    text = "kind: ShopCoupon\nname: generated\nspec: " + json.dumps(spec, ensure_ascii=False) + "\n"
    (coupon,) = _load(text).coupons
    assert dict(coupon.body) == spec


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=10**12, max_value=10**13 - 1))
def test_millisecond_times_are_refused_with_the_hint(value: int) -> None:
    """Any 13-digit claim start time is refused, naming milliseconds."""
    text = (
        (Path(__file__).resolve().parents[2] / "tests/bad_manifests/shop-timestamp-milliseconds/coupons.yaml")
        .read_text(encoding="utf-8")
        .replace("1857470400000", str(value))
    )
    with pytest.raises(ManifestError) as caught:
        _load(text)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message == f"expected Unix seconds, got {value} (milliseconds? WeChat wants seconds)"
    assert (diagnostic.line, diagnostic.col) == (13, 19)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**14), 10**14)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
BASES = [
    Path(__file__).resolve().parents[2] / "tests/good_manifests/doc_examples/product-coupon-create.yaml",
    Path(__file__).resolve().parents[2] / "tests/good_manifests/progressive-bundle.yaml",
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(BASES), st.data(), JSON_VALUES)
def test_any_mangled_document_gives_diagnostics_never_a_crash(base: Path, data: st.DataObject, junk: Any) -> None:
    """Replacing any subtree of a valid manifest with arbitrary data yields located diagnostics, never another error."""
    import yaml_rs

    document = yaml_rs.loads(base.read_text(encoding="utf-8"), parse_datetime=False)
    path = data.draw(st.sampled_from(_paths(document)))
    if not path:
        document = junk
    else:
        holder = document
        for part in path[:-1]:
            holder = holder[part]
        holder[path[-1]] = junk
    text = json.dumps(document, ensure_ascii=False, indent=1)
    try:
        result = _load(text)
    except ManifestError as err:
        assert err.diagnostics
        for diagnostic in err.diagnostics:
            assert diagnostic.line >= 1 and diagnostic.col >= 1 and diagnostic.message
    else:
        assert len(result.coupons) == 1


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(BASES), st.data(), st.text(alphabet=" \t\n:-[]{}#&*!|>'\"%@`,?abc1", min_size=1, max_size=6))
def test_any_text_corruption_gives_diagnostics_never_a_crash(base: Path, data: st.DataObject, junk: str) -> None:
    """Splicing YAML punctuation anywhere into a valid manifest yields located diagnostics or a valid load."""
    text = base.read_text(encoding="utf-8")
    at = data.draw(st.integers(0, len(text)))
    try:
        _load(text[:at] + junk + text[at:])
    except ManifestError as err:
        assert all(d.line >= 1 and d.col >= 1 and d.message for d in err.diagnostics)
