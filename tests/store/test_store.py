"""The state store's contract (api.StateStore), run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest

from reconciler.errors import StateError
from reconciler.resources import ResourceState
from reconciler.store import SqlStateStore, display_url, open_store
from reconciler.store.api import CallRecord, StateStore

SHOP_UPSTREAM: dict[str, Any] = {
    "out_coupon_id": "d11-store-100-off-20",
    "type": 102,
    "promote_type": 4,
    "status": 2,
    "coupon_info": {
        "name": "双11满100减20",
        "promote_info": {"promote_type": 4, "finder": {"nickname": "视频号昵称"}},
        "discount_info": {"discount_condition": {"product_price": 10000}, "discount_fee": 2000},
        "receive_info": {"start_time": 1794412800, "end_time": 1794499200, "total_num": 10000},
        "valid_info": {"valid_type": 2, "valid_day_num": 3},
        "tags": ["满减", None, True, 1.5],
    },
}


def shop(name: str, **changes: Any) -> ResourceState:
    upstream = {**SHOP_UPSTREAM, "out_coupon_id": name, **changes}
    return ResourceState(
        address=f"shop_coupon.{name}", kind="ShopCoupon", upstream_id=name, upstream=upstream, desired_digest="d" * 64
    )


def product(name: str, state: str = "EFFECTIVE") -> ResourceState:
    return ResourceState(
        address=f"product_coupon.{name}",
        kind="ProductCoupon",
        upstream_id=f"PC{name}",
        upstream={"product_coupon_id": f"PC{name}", "state": state, "display_info": {"title": "咖啡套餐"}},
        desired_digest="e" * 64,
        protect=True,
        brand_id="120344",
        extra={"ignore_drift": [["display_info.title", "edited in the console"]]},
    )


def test_store_satisfies_the_protocol(store: SqlStateStore) -> None:
    """SqlStateStore is usable wherever the applier expects an api.StateStore."""
    as_protocol: StateStore = store
    assert as_protocol.serial == 0


def test_lineage_is_fixed_at_creation_and_stable_across_reopen(store_url: str) -> None:
    """The lineage is a UUID chosen when the state is created, before any write, and never changes."""
    first = open_store(store_url)
    lineage = first.lineage
    first.close()
    assert uuid.UUID(lineage)
    again = open_store(store_url)
    assert again.lineage == lineage
    assert again.serial == 0
    again.close()


def test_each_resource_write_increments_the_serial(store: SqlStateStore) -> None:
    """put, remove, move and close_intent each bump the serial by one; history bookkeeping does not."""
    assert store.put(shop("a")) == 1
    assert store.put(shop("a", status=4)) == 2
    assert store.move("shop_coupon.a", "shop_coupon.b") == 3
    assert store.remove("shop_coupon.b") == 4
    run = store.begin_run("apply", actor="ci")
    store.record_call(run, CallRecord(address="shop_coupon.x", operation="shop.get", outcome="ok"))
    intent = store.open_intent(
        run,
        address="shop_coupon.c",
        operation="shop.add",
        target=None,
        out_request_no=None,
        payload={},
        payload_digest="p",
    )
    assert store.serial == 4
    assert store.close_intent(intent, call=CallRecord("shop_coupon.c", "shop.add", "ok"), put=shop("c")) == 5
    store.end_run(run, "ok", {})
    assert store.serial == 5


def test_put_get_round_trips_every_field(store: SqlStateStore) -> None:
    """What put stores, get returns: nested JSON with Chinese text, protect, brand, extra, timestamps."""
    store.put(product("coffee"))
    got = store.get("product_coupon.coffee")
    assert got is not None
    want = product("coffee")
    assert (got.kind, got.upstream_id, got.upstream, got.desired_digest) == (
        want.kind,
        want.upstream_id,
        want.upstream,
        want.desired_digest,
    )
    assert got.protect is True
    assert got.brand_id == "120344"
    assert got.extra == want.extra
    assert got.status == "EFFECTIVE"
    assert got.created_at.endswith("Z")
    assert got.updated_at == got.created_at
    assert store.get("product_coupon.nope") is None


def test_put_replaces_but_keeps_created_at(store: SqlStateStore) -> None:
    """Replacing a resource keeps when it was first recorded and moves updated_at."""
    store.put(shop("a"))
    first = store.get("shop_coupon.a")
    store.put(shop("a", status=4))
    second = store.get("shop_coupon.a")
    assert first is not None and second is not None
    assert second.upstream["status"] == 4
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at


def test_put_uses_the_callers_timestamps_when_given(store: SqlStateStore) -> None:
    """Timestamps set by the caller's clock are stored as given; created_at stays the first one on replace."""
    first = replace(shop("a"), created_at="2026-11-11T00:00:00.000000Z", updated_at="2026-11-11T00:00:00.000000Z")
    store.put(first)
    store.put(replace(first, created_at="2026-11-12T00:00:00.000000Z", updated_at="2026-11-12T00:00:00.000000Z"))
    got = store.get("shop_coupon.a")
    assert got is not None
    assert (got.created_at, got.updated_at) == ("2026-11-11T00:00:00.000000Z", "2026-11-12T00:00:00.000000Z")


def test_resources_round_trips_nested_json_with_chinese_text(store: SqlStateStore) -> None:
    """resources() returns every resource by address, values equal to what was put."""
    wanted = [shop(f"s{i}") for i in range(5)] + [product("coffee")]
    for r in wanted:
        store.put(r)
    got = store.resources()
    assert sorted(got) == sorted(r.address for r in wanted)
    assert got["shop_coupon.s3"].upstream == {**SHOP_UPSTREAM, "out_coupon_id": "s3"}
    assert got["shop_coupon.s3"].upstream["coupon_info"]["name"] == "双11满100减20"
    assert got["product_coupon.coffee"].extra == product("coffee").extra


def test_put_refuses_a_kind_that_does_not_match_the_address(store: SqlStateStore) -> None:
    """A ProductCoupon cannot be stored under a shop_coupon address."""
    bad = ResourceState(address="shop_coupon.x", kind="ProductCoupon", upstream_id="1", upstream={}, desired_digest="")
    with pytest.raises(StateError, match="does not match the address"):
        store.put(bad)
    assert store.serial == 0


def test_remove_refuses_an_unknown_address(store: SqlStateStore) -> None:
    """Removing what state does not hold is an error, and nothing is written."""
    with pytest.raises(StateError, match=r"no resource shop_coupon\.ghost in state"):
        store.remove("shop_coupon.ghost")
    assert store.serial == 0


def test_move_renames_and_keeps_the_values(store: SqlStateStore) -> None:
    """move changes only the address."""
    store.put(shop("old"))
    store.move("shop_coupon.old", "shop_coupon.new")
    assert store.get("shop_coupon.old") is None
    moved = store.get("shop_coupon.new")
    assert moved is not None and moved.upstream_id == "old"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("shop_coupon.a", "product_coupon.a", "the kind would change"),
        ("shop_coupon.a", "shop_coupon.b", "shop_coupon.b already exists"),
        ("shop_coupon.ghost", "shop_coupon.c", "no resource shop_coupon.ghost"),
        ("shop_coupon.a", "coupon.c", "invalid address"),
        ("shop_coupon.a", "shop_coupon.a", "onto itself"),
    ],
)
def test_move_refuses_what_it_cannot_do_safely(store: SqlStateStore, old: str, new: str, message: str) -> None:
    """move refuses a kind change, an existing destination, an unknown source, a malformed address, a no-op."""
    store.put(shop("a"))
    store.put(shop("b"))
    before = store.resources()
    with pytest.raises(StateError, match=message):
        store.move(old, new)
    assert store.resources() == before
    assert store.serial == 2


def test_rm_and_mv_refuse_while_an_intent_is_open(store: SqlStateStore) -> None:
    """An address with an open intent cannot be removed or moved until apply settles it."""
    store.put(shop("a"))
    run = store.begin_run("apply", actor="ci")
    store.open_intent(
        run,
        address="shop_coupon.a",
        operation="shop.update",
        target="a",
        out_request_no=None,
        payload={},
        payload_digest="p",
    )
    with pytest.raises(StateError, match=r"open intent.*couponctl apply"):
        store.remove("shop_coupon.a")
    with pytest.raises(StateError, match="open intent"):
        store.move("shop_coupon.a", "shop_coupon.b")
    assert store.get("shop_coupon.a") is not None


def test_intent_journal_round_trip(store: SqlStateStore) -> None:
    """An open intent keeps its exact payload until closed; closing writes resource and call, removes the intent."""
    run = store.begin_run("apply", actor="ci", git_commit="abc123", plan_digest="f" * 64)
    payload = {"out_request_no": "REQ-123456", "display_info": {"title": "咖啡"}, "stock": [1, 2]}
    intent_id = store.open_intent(
        run,
        address="product_coupon.coffee",
        operation="product.create",
        target=None,
        out_request_no="REQ-123456",
        payload=payload,
        payload_digest="p" * 64,
    )
    (intent,) = store.open_intents()
    assert intent.intent_id == intent_id
    assert intent.run_id == run
    assert intent.payload == payload
    assert (intent.operation, intent.target, intent.out_request_no) == ("product.create", None, "REQ-123456")
    call = CallRecord(
        address="product_coupon.coffee",
        operation="product.create",
        outcome="ok",
        out_request_no="REQ-123456",
        request_id="08F4A1B2C3",
        http_status=200,
    )
    store.close_intent(intent_id, call=call, put=product("coffee"))
    assert store.open_intents() == []
    assert store.get("product_coupon.coffee") == store.resources()["product_coupon.coffee"]
    (recorded,) = store.calls(run)
    assert recorded.request_id == "08F4A1B2C3"
    assert recorded.at.endswith("Z")


def test_close_intent_with_remove_forgets_the_resource(store: SqlStateStore) -> None:
    """close_intent(remove=...) deletes the resource in the same transaction."""
    store.put(shop("gone"))
    run = store.begin_run("apply", actor="ci")
    intent = store.open_intent(
        run,
        address="shop_coupon.gone",
        operation="shop.update_status",
        target="gone",
        out_request_no=None,
        payload={"status": 4},
        payload_digest="p",
    )
    call = CallRecord("shop_coupon.gone", "shop.update_status", "ok")
    store.close_intent(intent, call=call, remove="shop_coupon.gone")
    assert store.get("shop_coupon.gone") is None


def test_close_intent_is_atomic(store: SqlStateStore) -> None:
    """When close_intent fails midway (the resource write violates a constraint), nothing of it is kept."""
    store.put(shop("a"))
    run = store.begin_run("apply", actor="ci")
    intent = store.open_intent(
        run,
        address="shop_coupon.a",
        operation="shop.update",
        target="a",
        out_request_no=None,
        payload={"x": 1},
        payload_digest="p",
    )
    # upstream_id is NOT NULL: the database refuses the resource row after the intent row was deleted and the
    # call row inserted in the same transaction.
    bogus = ResourceState(
        address="shop_coupon.a", kind="ShopCoupon", upstream_id=cast(str, None), upstream={}, desired_digest="d"
    )
    with pytest.raises(StateError, match="state write failed"):
        store.close_intent(intent, call=CallRecord("shop_coupon.a", "shop.update", "ok"), put=bogus)
    with pytest.raises(StateError, match="no resource"):
        store.close_intent(intent, call=CallRecord("shop_coupon.a", "shop.update", "ok"), remove="shop_coupon.ghost")
    assert [i.intent_id for i in store.open_intents()] == [intent]
    assert store.calls(run) == []
    assert store.get("shop_coupon.a") == shop_state_of(store, "shop_coupon.a")
    assert store.serial == 1


def shop_state_of(store: SqlStateStore, address: str) -> ResourceState:
    return store.resources()[address]


def test_close_intent_refuses_an_unknown_intent(store: SqlStateStore) -> None:
    """Closing an intent twice is an error, and the second call records nothing."""
    run = store.begin_run("apply", actor="ci")
    intent = store.open_intent(
        run,
        address="shop_coupon.a",
        operation="shop.add",
        target=None,
        out_request_no=None,
        payload={},
        payload_digest="p",
    )
    store.close_intent(intent, call=CallRecord("shop_coupon.a", "shop.add", "ok"), put=shop("a"))
    with pytest.raises(StateError, match=f"no open intent {intent}"):
        store.close_intent(intent, call=CallRecord("shop_coupon.a", "shop.add", "ok"), put=shop("a"))
    assert len(store.calls(run)) == 1


def test_history_keeps_runs_and_calls(store: SqlStateStore) -> None:
    """Runs are listed newest first with actor, commit, plan digest, outcome, summary; calls in order."""
    first = store.begin_run("apply", actor="alice", git_commit="0123abc", plan_digest="a" * 64)
    store.record_call(first, CallRecord("shop_coupon.a", "shop.add", "ok", request_id="R1"))
    store.record_call(
        first, CallRecord("shop_coupon.b", "shop.add", "error", http_status=200, code="9401020", message="无效")
    )
    store.end_run(first, "partial", {"applied": 1, "failed": 1})
    second = store.begin_run("state rm", actor="bob")
    runs = store.runs()
    assert [r.run_id for r in runs] == [second, first]
    assert runs[0].outcome is None and runs[0].finished_at is None
    done = runs[1]
    assert (done.command, done.actor, done.git_commit, done.plan_digest, done.outcome) == (
        "apply",
        "alice",
        "0123abc",
        "a" * 64,
        "partial",
    )
    assert done.summary == {"applied": 1, "failed": 1}
    assert [c.request_id for c in store.calls(first)] == ["R1", None]
    assert store.calls(first)[1].message == "无效"
    assert store.call_counts([first, second]) == {first: 2}
    assert store.run(first) == done
    assert store.runs(limit=1) == [runs[0]]


def test_end_run_refuses_an_unknown_run(store: SqlStateStore) -> None:
    """Ending a run that was never begun is an error."""
    with pytest.raises(StateError, match="no run 999"):
        store.end_run(999, "ok", {})


def test_url_for_display_hides_the_password() -> None:
    """A password in a PostgreSQL URL never shows in url_for_display."""
    shown = display_url("postgresql+psycopg://ci:s3cr3t@db.internal:5432/couponctl")
    assert "s3cr3t" not in shown
    assert "db.internal" in shown


def test_an_unreachable_database_is_a_clear_error_without_the_password() -> None:
    """Failing to connect names the URL (password hidden) and is a StateError."""
    with pytest.raises(StateError) as err:
        open_store("postgresql+psycopg://ci:s3cr3t@127.0.0.1:1/couponctl")
    assert "s3cr3t" not in str(err.value)
    assert "cannot open state at postgresql+psycopg://ci:***@127.0.0.1:1/couponctl" in str(err.value)


def test_open_without_create_refuses_a_missing_state(tmp_path: Path) -> None:
    """create=False does not invent a state."""
    with pytest.raises(StateError, match="no state at"):
        open_store(f"sqlite:///{tmp_path}/missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_sqlite_state_is_in_wal_mode(tmp_path: Path) -> None:
    """The SQLite file uses write-ahead logging."""
    store = open_store(f"sqlite:///{tmp_path}/s/c.db")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()
    assert (tmp_path / "s" / "c.db").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://ci@db/couponctl", "unsupported state URL mysql://ci@db/couponctl"),
        ("postgresql+psycopg2://ci:pw@db/couponctl", "unsupported PostgreSQL driver in postgresql+psycopg2://ci:***@"),
        ("not a url", "invalid state URL"),
    ],
)
def test_unsupported_urls_are_refused_clearly(url: str, message: str) -> None:
    """Only SQLite and PostgreSQL through psycopg 3 are accepted, and the refusal hides any password."""
    with pytest.raises(StateError, match=re.escape(message)):
        open_store(url)


def test_in_memory_sqlite_state_works_for_tests() -> None:
    """`sqlite://` is one private in-memory state (handy for other packages' tests), lock included."""
    store = open_store("sqlite://")
    try:
        store.put(shop("a"))
        with store.lock("apply") as info:
            assert store.current_lock() == info
        assert list(store.resources()) == ["shop_coupon.a"]
    finally:
        store.close()
