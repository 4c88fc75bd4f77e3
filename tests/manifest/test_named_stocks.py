"""Named stocks and stock bundles (decision D29): the manifest forms, the normalised body, the cache, the create
request, the state a create answer leaves and import's manifests.

`stock:` is exactly `stocks: {main: ...}` (and `stock_bundle:` `stock_bundles: {main: ...}`); the body keeps the map
in manifest order; the first entry is the stock the create sends.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.outcome import state_after_call
from reconciler.claim_window import claim_window, stock_claim_windows
from reconciler.commands.imports import product_manifest
from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from reconciler.manifest.cache import ManifestCache
from reconciler.manifest.schema import manifest_json_schema
from reconciler.plan import kinds
from reconciler.plan.diff import compare_view
from reconciler.plan.exposure import quantity
from reconciler.plan.model import Action, ActionType, Call
from reconciler.providers.base import CallResult
from reconciler.stocks import create_body, first_stock, normalise_stocks
from reconciler.times import parse_time

REPO = Path(__file__).resolve().parents[2]
GOOD = REPO / "tests/good_manifests"
SINGLE_FORM = (GOOD / "doc_examples/product-coupon-create.yaml").read_text(encoding="utf-8")


def _load(tmp_path: Path, text: str, name: str = "c.yaml") -> Any:
    (tmp_path / name).write_text(text, encoding="utf-8")
    (coupon,) = load_manifests([tmp_path / name]).coupons
    return coupon


def _as_map(text: str, name: str = "main") -> str:
    """The single `stock:` of a manifest rewritten as `stocks: {<name>: ...}` (the block indented one level)."""
    head, _, tail = text.partition("\n  stock:\n")
    assert tail, "the example declares `stock:`"
    lines = tail.splitlines()
    block = [line for line in lines if line.startswith("    ") or not line.strip()]
    rest = lines[len(block) :]
    indented = "\n".join(("  " + line) if line.strip() else line for line in block)
    return head + f"\n  stocks:\n    {name}:\n" + indented + ("\n" + "\n".join(rest) if rest else "") + "\n"


def test_single_stock_is_the_main_entry_of_stocks(tmp_path: Path) -> None:
    """`stock:` and `stocks: {main: ...}` load to the same body, in which only the map exists."""
    single = _load(tmp_path, SINGLE_FORM, "single.yaml")
    mapped = _load(tmp_path, _as_map(SINGLE_FORM), "map.yaml")
    assert "stock" not in single.body and list(single.body["stocks"]) == ["main"]
    assert single.body == mapped.body
    assert list(single.body) == list(mapped.body)  # `stocks` stands where `stock` was written
    assert single.digest == mapped.digest


def test_bundle_single_form_is_the_main_entry_of_stock_bundles() -> None:
    (single,) = load_manifests([GOOD / "progressive-bundle.yaml"]).coupons
    (mapped,) = load_manifests([GOOD / "named-stock-bundles.yaml"]).coupons
    assert single.body == mapped.body
    assert list(single.body["stock_bundles"]) == ["main"]


def test_manifest_order_is_kept_and_the_first_stock_is_created() -> None:
    """Two stocks: the body keeps `weekend` before `main` as written; the create request sends `weekend`."""
    (coupon,) = load_manifests([GOOD / "named-stocks.yaml"]).coupons
    assert list(coupon.body["stocks"]) == ["weekend", "main"]
    first = first_stock(coupon.body)
    assert first is not None and first[:2] == ("stocks", "weekend")
    sent = create_body(coupon.body)
    assert "stocks" not in sent and sent["stock"] == coupon.body["stocks"]["weekend"]
    assert list(sent) == [("stock" if k == "stocks" else k) for k in coupon.body]


def test_the_manifest_cache_keeps_the_order_of_stocks(tmp_path: Path) -> None:
    """A cached load gives the same body with the same stock order (the first one is the create stock)."""
    text = (GOOD / "named-stocks.yaml").read_text(encoding="utf-8")
    # `main` first would sort before `weekend`: keep a non-alphabetical order to see it survive
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    cache = ManifestCache(tmp_path / "cache")
    cold = load_manifests([path], root=tmp_path, cache=cache).coupons
    warm = load_manifests([path], root=tmp_path, cache=cache).coupons
    assert cache.hits == 1 and cache.misses == 1
    assert [list(c.body["stocks"]) for c in warm] == [["weekend", "main"]]
    assert [c.body for c in warm] == [c.body for c in cold]
    assert json.dumps(warm[0].body, ensure_ascii=False) == json.dumps(cold[0].body, ensure_ascii=False)


def test_ignore_drift_single_form_means_the_main_entry(tmp_path: Path) -> None:
    """`ignore_drift: stock.remark` is `stocks.main.remark`; `stocks.<name>.<field>` paths are checked per field."""
    text = SINGLE_FORM.replace(
        "spec:\n",
        "ignore_drift:\n  - {field: stock.remark, reason: ops}\n"
        "  - {field: stocks.weekend.stock_send_rule.max_count, reason: ops}\nspec:\n",
        1,
    )
    coupon = _load(tmp_path, text)
    assert [r.path for r in coupon.ignore_drift] == ["stocks.main.remark", "stocks.weekend.stock_send_rule.max_count"]
    bad = SINGLE_FORM.replace("spec:\n", "ignore_drift:\n  - {field: stocks.main.remakr, reason: ops}\nspec:\n", 1)
    with pytest.raises(ManifestError) as err:
        _load(tmp_path, bad, "bad.yaml")
    (diagnostic,) = err.value.diagnostics
    assert diagnostic.field == "ignore_drift[0].field"
    assert diagnostic.message == (
        "no field 'stocks.main.remakr' in a ProductCoupon spec (did you mean 'stocks.main.remark'?)"
    )


def test_json_schema_describes_the_maps() -> None:
    spec = manifest_json_schema()["$defs"]["ProductCouponSpec"]["properties"]
    for key, model in (("stocks", "Stock"), ("stock_bundles", "StockBundle")):
        prop = spec[key]
        assert prop["type"] == "object"
        assert prop["additionalProperties"] == {"$ref": f"#/$defs/{model}"}
        assert prop["propertyNames"] == {"pattern": "^[a-z0-9][a-z0-9_-]{0,31}$"}
        assert (prop["minProperties"], prop["maxProperties"]) == (1, 200)
    assert spec["stock"] == {"$ref": "#/$defs/Stock", "description": spec["stock"]["description"]}


def test_claim_window_spans_every_stock() -> None:
    """The coupon can be claimed while any stock can: from the earliest start to the latest end."""
    (coupon,) = load_manifests([GOOD / "named-stocks.yaml"]).coupons
    windows = stock_claim_windows(coupon.body)
    assert list(windows) == ["weekend", "main"]
    window = claim_window("ProductCoupon", coupon.body)
    assert window is not None
    assert window.start == parse_time("2028-11-01T00:00:00+08:00")
    assert window.end == parse_time("2028-12-31T23:59:59+08:00")
    assert window.path == "stocks.main.single_usage_rule.coupon_available_period"


def test_quantity_counts_every_stock() -> None:
    (coupon,) = load_manifests([GOOD / "named-stocks.yaml"]).coupons
    assert quantity("ProductCoupon", coupon.body) == 1500


def test_response_only_fields_of_every_stock_are_not_compared() -> None:
    """stock_id, counters and state in any named stock of state are left out of the compared view."""
    (coupon,) = load_manifests([GOOD / "named-stocks.yaml"]).coupons
    upstream = copy.deepcopy(dict(coupon.body))
    for i, stock in enumerate(upstream["stocks"].values()):
        stock.update(stock_id=f"9{i}", state="SENDING", sent_count_info={"total_sent_count": 3})
    upstream["product_coupon_id"] = "1000000013"
    assert compare_view(kinds.PRODUCT_RULES, upstream) == coupon.body
    assert compare_view(kinds.PRODUCT_RULES, coupon.body) is coupon.body  # nothing to strip: no copy


def _create_action(body: dict[str, Any]) -> Action:
    return Action("product_coupon.c", "ProductCoupon", ActionType.CREATE, None, body, desired_digest="d")


@pytest.mark.parametrize(("single", "named"), [("stock", "stocks"), ("stock_bundle", "stock_bundles")])
def test_a_create_answer_is_recorded_under_the_first_name(single: str, named: str) -> None:
    """The create answer's `stock` (`stock_bundle`) becomes the first declared name's entry, in its place."""
    desired = {"display_info": {"name": "x"}, named: {"weekend": {"remark": "a"}, "main": {"remark": "b"}}}
    call = Call("product.create", {"out_request_no": "n", **create_body(desired)}, out_request_no="n")
    entity = {"product_coupon_id": "1", "state": "AUDITING", single: {"stock_id": "11"}, "z": 0}
    put = state_after_call(_create_action(desired), call, CallResult("product.create", "1", entity), None, "t").put
    assert put is not None
    # what was sent, with what the answer added (a bundle's answer carries only its ids and steps)
    assert put.upstream[named] == {"weekend": {"remark": "a", "stock_id": "11"}}
    assert single not in put.upstream and list(put.upstream) == ["product_coupon_id", "state", named, "z"]


def test_a_create_answer_without_a_known_name_is_main() -> None:
    call = Call("product.create", {"out_request_no": "n"}, out_request_no="n")
    action = Action("product_coupon.c", "ProductCoupon", ActionType.CREATE, None, {}, desired_digest="d")
    entity = {"product_coupon_id": "1", "stock": {"stock_id": "11"}}
    put = state_after_call(action, call, CallResult("product.create", "1", entity), None, "t").put
    assert put is not None and put.upstream["stocks"] == {"main": {"stock_id": "11"}}


def test_import_writes_stock_for_one_and_stocks_for_several() -> None:
    """import --generate keeps today's `stock:` for a coupon with one stock and writes `stocks:` for several."""
    entity = {"product_coupon_id": "1", "state": "EFFECTIVE", "usage_mode": "SINGLE", "display_info": {"name": "x"}}
    one = product_manifest(entity, "p", {"main": {"remark": "a"}})
    assert one["spec"]["stock"] == {"remark": "a"} and "stocks" not in one["spec"]
    two = product_manifest(entity, "p", {"main": {"remark": "a"}, "stock-12": {"remark": "b"}})
    assert list(two["spec"]["stocks"]) == ["main", "stock-12"] and "stock" not in two["spec"]
    bundle = product_manifest({**entity, "usage_mode": "PROGRESSIVE_BUNDLE"}, "p", {"main": {"remark": "a"}})
    assert bundle["spec"]["stock_bundle"] == {"remark": "a"}


def test_normalise_stocks_keeps_key_positions() -> None:
    body = {"a": 1, "stock": {"x": 1}, "b": 2}
    assert list(normalise_stocks(body)) == ["a", "stocks", "b"]
    assert normalise_stocks(body)["stocks"] == {"main": {"x": 1}}
    assert create_body(normalise_stocks(body)) == body
