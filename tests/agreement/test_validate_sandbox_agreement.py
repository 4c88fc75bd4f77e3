"""One truth, two enforcers (issue 15): `validate` accepts a manifest if and only if the sandbox accepts the create
call planned for it, bar the rules where validate is deliberately stricter (`limits.STRICTER_RULES`); and when both
refuse, they name the same rule (the same field).

Every shop type and every product scope × type × usage mode is a parametrised case, and hypothesis draws the values
around each limit (just below, at and above it). The create body goes through the real planner (`make_plan`) and
the real providers to the sandbox app in-process (httpx.ASGITransport), exactly as `apply` sends it. A manifest that
validate refuses cannot be planned: its body is the one the planner would build (checked equal to the planner's
own on every accepted manifest).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from reconciler.config import Secret
from reconciler.errors import ManifestError, UpstreamError
from reconciler.manifest import load_manifests
from reconciler.manifest.limits import STRICTER_RULES
from reconciler.plan.model import Call
from reconciler.plan.planner import make_plan
from reconciler.providers.shop import ShopProvider
from reconciler.providers.wechatpay import WechatPayProvider
from reconciler.sandbox import OPERATIONS, SandboxConfig, create_app, generate_credentials
from tests.agreement.manifests import PRODUCT_TYPES, SCOPES, SHOP_TYPES, USAGE_MODES, product_manifest, shop_manifest

CREDS = generate_credentials()
APP = create_app(CREDS, SandboxConfig(rate_limits={op: 1_000_000 for op in OPERATIONS}))
NOW = datetime(2026, 11, 29, tzinfo=UTC)
_SERIAL = itertools.count(1)
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# How each stricter rule shows in validate's messages (each id must be listed in limits.STRICTER_RULES).
STRICTER_MESSAGES = {
    "not allowed for type": "shop.unused_discount_field",
    "not allowed when valid_type": "shop.unused_valid_field",
    "must not exceed total_num": "shop.limit_exceeds_total",
    "must not be before receive_info.end_time": "shop.validity_ends_before_claims",
    "duplicate product id": "shop.duplicate_product_ids",
    "duplicate value": "product.duplicates",
    "must not exceed the number of choices": "product.pick_count",
    "must lie within": "product.irregular_outside_window",
}
STRICTER_IDS = {rule.rule for rule in STRICTER_RULES}


def _path(text: str) -> str:
    """A field path in one spelling: dotted, list indices as parts, no `spec.` / `coupon.` prefix."""
    text = re.sub(r"\[(\d+)\]", r".\1", text).strip("./").replace("/", ".")
    for prefix in ("spec.", "coupon."):
        text = text.removeprefix(prefix)
    return text


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _lookup(spec: Mapping[str, Any], path: str) -> Any:
    value: Any = spec
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value.get(part)
    return value


def _validate(document: dict[str, Any]) -> tuple[list[Any], list[str], set[str]]:
    """(coupons, the fields of real refusals, the stricter rules that refused) for one manifest document."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "coupon.yaml"
        path.write_text(json.dumps(document, ensure_ascii=False) + "\n", encoding="utf-8")
        try:
            return list(load_manifests([path], root=Path(tmp)).coupons), [], set()
        except ManifestError as exc:
            diagnostics = [d for d in exc.diagnostics if d.severity == "error"]
    real: list[str] = []
    stricter: set[str] = set()
    for diagnostic in diagnostics:
        field = _path(diagnostic.field or "")
        rule = next((r for words, r in STRICTER_MESSAGES.items() if words in diagnostic.message), None)
        if rule is None and "must be after start_time" in diagnostic.message:
            window = _lookup(document["spec"], field.rsplit(".", 1)[0])
            if window["start_time"] == window["end_time"]:
                rule = "shop.zero_length_window"
        if rule is not None:
            stricter.add(rule)
        else:
            real.append(field)
    assert stricter <= STRICTER_IDS, stricter - STRICTER_IDS
    return [], real, stricter


def _create_call(document: dict[str, Any], coupons: list[Any]) -> Call:
    """The planner's create call when validate accepted; else the body the planner would build."""
    spec = document["spec"]
    if document["kind"] == "ShopCoupon":
        built = Call("shop.add", {"coupon": {"out_coupon_id": document["name"], **spec}}, target=document["name"])
    else:
        number = f"agree-{next(_SERIAL):08d}"
        built = Call(
            "product.create", {"brand_id": CREDS.brand_id, **spec, "out_request_no": number}, out_request_no=number
        )
    if not coupons:
        return built
    plan = make_plan(
        coupons,
        {},
        lineage="agreement",
        serial=next(_SERIAL),
        manifest_digest="0" * 64,
        now=NOW,
        tool_version="0.0.0",
        default_brand_id=CREDS.brand_id,
    )
    (call,) = [c for a in plan.actions for c in a.calls if c.operation == built.operation]
    planned = dict(call.payload)
    if built.operation == "product.create":
        planned.pop("out_request_no")
        assert planned == {k: v for k, v in built.payload.items() if k != "out_request_no"}
    else:
        assert planned == built.payload
    return call


async def _send(call: Call) -> UpstreamError | None:
    transport = httpx.ASGITransport(app=APP)
    base = "http://sandbox.invalid"
    if call.operation.startswith("shop."):
        provider: Any = ShopProvider(CREDS.appid, Secret(CREDS.app_secret), base, transport=transport)
    else:
        provider = WechatPayProvider(
            mchid=CREDS.mchid,
            serial_no=CREDS.merchant_serial_no,
            private_key_pem=CREDS.merchant_private_key_pem.encode(),
            public_key_id=CREDS.public_key_id,
            public_key_pem=CREDS.wechatpay_public_key_pem.encode(),
            base_url=base,
            brand_id=CREDS.brand_id,
            transport=transport,
        )
    try:
        await provider.execute(call)
        return None
    except UpstreamError as exc:
        return exc
    finally:
        await provider.aclose()


def _sandbox_field(error: UpstreamError) -> str:
    """The field a sandbox refusal names: the APIv3 detail.field pointer, or the path in the shop errmsg."""
    if isinstance(error.detail, Mapping) and error.detail.get("field"):
        return _path(str(error.detail["field"]))
    found = re.search(r"coupon\.([\w.]+)", error.upstream_message)
    assert found, f"the sandbox refusal names no field: {error}"
    return _path(found.group(1))


def check_agreement(document: dict[str, Any]) -> None:
    coupons, real, stricter = _validate(document)
    error = asyncio.run(_send(_create_call(document, coupons)))
    if error is None:
        assert not real, f"validate refuses {real} but the sandbox accepts: {json.dumps(document, ensure_ascii=False)}"
        return
    field = _sandbox_field(error)
    assert real, (
        f"the sandbox refuses {field} ({error.upstream_message}) but validate accepts"
        f"{' bar ' + str(sorted(stricter)) if stricter else ''}: {json.dumps(document, ensure_ascii=False)}"
    )
    assert any(_related(field, r) for r in real), (
        f"the sandbox refuses {field}, validate {real}: {json.dumps(document, ensure_ascii=False)}"
    )


def _shop_case(coupon_type: int) -> Any:
    @EXAMPLES
    @given(spec=shop_manifest(coupon_type))
    def run(spec: dict[str, Any]) -> None:
        name = f"agree-shop-{next(_SERIAL)}"
        check_agreement({"kind": "ShopCoupon", "name": name, "spec": spec})

    return run


def _product_case(scope: str, coupon_type: str, usage_mode: str) -> Any:
    @EXAMPLES
    @given(spec=product_manifest(scope, coupon_type, usage_mode))
    def run(spec: dict[str, Any]) -> None:
        check_agreement({"kind": "ProductCoupon", "name": f"agree-product-{next(_SERIAL)}", "spec": spec})

    return run


@pytest.mark.parametrize("coupon_type", SHOP_TYPES)
def test_shop_validate_and_sandbox_agree(coupon_type: int) -> None:
    """For each shop type (A.4.1): validate accepts iff the sandbox accepts the planned add; refusals name one field."""
    _shop_case(coupon_type)()


@pytest.mark.parametrize(
    ("scope", "coupon_type", "usage_mode"), list(itertools.product(SCOPES, PRODUCT_TYPES, USAGE_MODES))
)
def test_product_validate_and_sandbox_agree(scope: str, coupon_type: str, usage_mode: str) -> None:
    """For each scope × type × usage mode (B.2): the same agreement on the planned create."""
    _product_case(scope, coupon_type, usage_mode)()


@pytest.mark.parametrize(
    ("discount", "coupon_type", "limit_words"),
    [
        ({"discount_num": 1500}, 103, "discount_num must be at least 2000 (a discount coupon is no deeper than 2折)"),
        (
            {"discount_fee": 25000},
            104,
            "discount_fee must be at most 20000 (a 直减 / 满减 coupon takes off at most 200 元)",
        ),
        (
            {"discount_condition": {"product_price": 10000}, "discount_fee": 9000},
            102,
            "discount_fee leaves less than 2折 of the threshold product_price",
        ),
    ],
)
def test_an_upstream_refusal_at_apply_names_the_limit(
    discount: dict[str, Any], coupon_type: int, limit_words: str
) -> None:
    """Should upstream refuse a money value at apply time (validate bypassed, e.g. a hand-edited saved plan), the
    error apply prints (the UpstreamError text) names the field and the limit it breaks."""
    spec = {
        "type": coupon_type,
        "promote_type": 4,
        "coupon_info": {
            "name": "满减",
            "promote_info": {"promote_type": 4, "finder": {"nickname": "咖啡实验室"}},
            "discount_info": discount,
            "receive_info": {
                "start_time": 1_857_000_000,
                "end_time": 1_857_086_400,
                "limit_num_one_person": 1,
                "total_num": 10,
            },
            "valid_info": {"valid_type": 2, "valid_day_num": 3},
        },
    }
    name = f"agree-apply-{next(_SERIAL)}"
    error = asyncio.run(_send(Call("shop.add", {"coupon": {"out_coupon_id": name, **spec}}, target=name)))
    assert error is not None
    assert "code 40097" in str(error) and limit_words in str(error)
