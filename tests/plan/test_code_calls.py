"""The code upload batches of the planner (decision D35): `$codes` references in, one product.stock.upload_codes per
batch not yet landed out, with deterministic numbers; a changed upload blocked; drift of the uploaded count."""

from __future__ import annotations

from typing import Any

from reconciler.apply.code_outcome import after_code_batch
from reconciler.manifest.codes import batch_digest, reference
from reconciler.plan.actions import Subject
from reconciler.plan.code_calls import codes_drift, split_codes, upload_request_no, with_code_uploads
from reconciler.plan.model import Action, ActionType, Call
from reconciler.resources import DesiredCoupon, ResourceState, SourceRef

ADDRESS = "product_coupon.d11"
BRAND = "120344"


def codes(n: int, prefix: str = "C") -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(n)]


def ref(listed: list[str]) -> dict[str, Any]:
    return reference("codes/d11.txt", "\n".join(listed).encode(), listed)


def state(extra: dict[str, Any] | None = None, stock_state: str = "SENDING") -> ResourceState:
    stock = {"coupon_code_mode": "UPLOAD", "stock_id": "S1", "state": stock_state}
    return ResourceState(ADDRESS, "ProductCoupon", "P1", {"stocks": {"main": stock}}, "", extra=extra or {})


def subject(have: ResourceState | None) -> Subject:
    after = {"stocks": {"main": {"coupon_code_mode": "UPLOAD"}}}
    before = have.upstream if have else None
    return Subject(ADDRESS, "ProductCoupon", before, after, have.upstream_id if have else None, None, None, False)


def plan(listed: list[str], have: ResourceState | None, action: Action | None = None) -> Action | None:
    return with_code_uploads(subject(have), action, {"main": ref(listed)["$codes"]}, have, BRAND, None)


def landed(have: ResourceState, action: Action) -> ResourceState:
    for call in action.calls:
        have = after_code_batch(call, have, "2026-11-11T00:00:00Z")
    return have


def test_split_codes_takes_the_reference_out_of_the_body() -> None:
    body = {"stocks": {"main": {"coupon_code_mode": "UPLOAD", "codes_file": ref(codes(3))}, "other": {"x": 1}}}
    want = DesiredCoupon("ProductCoupon", "d11", "active", body, SourceRef("f.yaml", 1))
    stripped, found = split_codes(want)
    assert stripped.body["stocks"] == {"main": {"coupon_code_mode": "UPLOAD"}, "other": {"x": 1}}
    assert found["main"]["count"] == 3


def test_450_codes_on_an_existing_stock_are_three_batches_then_nothing() -> None:
    listed = codes(450)
    action = plan(listed, state())
    assert action is not None and action.type is ActionType.UPDATE
    assert [c.operation for c in action.calls] == ["product.stock.upload_codes"] * 3
    first = action.calls[0]
    assert (first.target, first.stock_id, first.stock_name) == ("P1", "S1", "main")
    assert first.payload["file"] == "codes/d11.txt" and first.payload["sha256"] == batch_digest(listed[:200])
    assert [c.payload["count"] for c in action.calls] == [200, 200, 50]
    assert "C000000" not in repr(action)
    [change] = action.changes
    assert change.after.startswith("450 codes in 3 batches (sha256 ")
    done = landed(state(), action)
    assert done.extra["codes"]["main"]["count"] == 450
    assert plan(listed, done) is None


def test_appended_codes_upload_the_completed_batch_and_new_ones_only() -> None:
    listed = codes(450)
    done = landed(state(), plan(listed, state()))  # type: ignore[arg-type]
    action = plan(codes(650), done)
    assert action is not None
    assert [c.payload["batch"] for c in action.calls] == [2, 3]
    assert action.calls[0].payload["uploaded"] == {"count": 50, "sha256": batch_digest(listed[400:])}


def test_changed_uploaded_codes_are_blocked_with_a_remedy() -> None:
    done = landed(state(), plan(codes(450), state()))  # type: ignore[arg-type]
    action = plan(codes(450, prefix="D"), done)
    assert action is not None and action.type is ActionType.BLOCKED
    assert "changed after it was uploaded" in str(action.reason) and "new stock name" in str(action.remedy)
    shorter = plan(codes(100), done)
    assert shorter is not None and shorter.type is ActionType.BLOCKED


def test_a_stock_created_by_the_action_gets_all_batches_after_its_add_before_deactivations() -> None:
    add = Call("product.stock.add", {"out_request_no": "ccadd"}, "P1", "ccadd", stock_name="main")
    old = Call("product.stock.deactivate", {}, "P1", "ccdeact", role="old", stock_name="main", stock_id="S1")
    base = Action(ADDRESS, "ProductCoupon", ActionType.UPDATE, None, None, calls=(add, old))
    done = landed(state(), plan(codes(300), state()))  # type: ignore[arg-type]
    action = plan(codes(300), done, base)  # the stock is replaced: its new one has no codes yet
    assert action is not None
    assert [c.operation for c in action.calls] == [
        "product.stock.add", "product.stock.upload_codes", "product.stock.upload_codes", "product.stock.deactivate",
    ]  # fmt: skip
    assert all(c.stock_id is None for c in action.calls[1:3])


def test_numbers_depend_on_stock_batch_and_digest_not_the_state() -> None:
    one = upload_request_no(BRAND, ADDRESS, "main", "S1", 0, "a" * 64, None)
    assert one == upload_request_no(BRAND, ADDRESS, "main", "S1", 0, "a" * 64, None)
    assert 6 <= len(one) <= 40
    others = {
        upload_request_no(BRAND, ADDRESS, "main", "S1", 1, "a" * 64, None),
        upload_request_no(BRAND, ADDRESS, "main", "S1", 0, "b" * 64, None),
        upload_request_no(BRAND, ADDRESS, "main", "S2", 0, "a" * 64, None),
        upload_request_no(BRAND, ADDRESS, "main", "S1", 0, "a" * 64, "prod"),
    }
    assert one not in others and len(others) == 4


def test_an_ended_stock_takes_no_upload_and_a_deferred_action_waits() -> None:
    assert plan(codes(10), state(stock_state="DEACTIVATED")) is None
    deferred = Action(ADDRESS, "ProductCoupon", ActionType.DEFERRED, None, None)
    assert plan(codes(10), state(), deferred) is deferred


def test_drift_compares_the_uploaded_count_with_coupon_code_count_info() -> None:
    done = landed(state(), plan(codes(450), state()))  # type: ignore[arg-type]
    live = {"stock_id": "S1", "coupon_code_count_info": {"total_count": 450, "available_count": 10}}
    assert codes_drift(done, "main", live) == []
    [change] = codes_drift(done, "main", {**live, "coupon_code_count_info": {"total_count": 500}})
    assert change.path == "stocks.main.codes" and change.after == "500 codes upstream"
    assert codes_drift(done, "main", {**live, "stock_id": "S9"}) == []
