"""Store association through WechatPayProvider against the in-process sandbox (decision D34; reference B.1, B.4):
real signatures both ways; the sandbox's rules (200 per call, SPECIFIC stocks only, idempotent, paged read)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.errors import TransientUpstreamError, UpstreamError
from reconciler.plan.model import Call, Operation
from reconciler.sandbox import SandboxConfig
from tests.providers.test_stocks_against_sandbox import World, run
from tests.sandbox.stock_support import CREDS, stock_body

IDS = [str(200_000_000 + i) for i in range(450)]


def batch(operation: Operation, pid: str, sid: str, ids: list[str]) -> Call:
    payload = {"brand_id": CREDS.brand_id, "store_list": [{"store_id": s} for s in ids]}
    return Call(operation, payload, target=pid, out_request_no="journal-only", stock_name="main", stock_id=sid)


async def specific_stock(w: World, scope: str = "SPECIFIC") -> tuple[str, str]:
    pid = await w.coupon()
    added = await w.product.execute(
        w.call("product.stock.add", {"stock": {**stock_body(), "store_scope": scope}}, target=pid, stock_name="s")
    )
    assert added.entity is not None
    return pid, str(added.entity["stock_id"])


def test_associate_read_paged_disassociate_and_an_idempotent_resend() -> None:
    async def scenario(w: World) -> dict[str, Any]:
        pid, sid = await specific_stock(w)
        first = await w.product.execute(batch("product.stock.associate_stores", pid, sid, IDS[:200]))
        again = await w.product.execute(batch("product.stock.associate_stores", pid, sid, IDS[:200]))
        await w.product.execute(batch("product.stock.associate_stores", pid, sid, IDS[200:400]))
        await w.product.execute(batch("product.stock.associate_stores", pid, sid, IDS[400:]))
        read = await w.product.read_stores(pid, sid)
        await w.product.execute(batch("product.stock.disassociate_stores", pid, sid, IDS[:10]))
        after = await w.product.read_stores(pid, sid)
        log = await w.calls("product.stocks.associate_stores")
        pages = await w.calls("product.stocks.associated_stores")
        return {"first": first, "again": again, "read": read, "after": after, "log": log, "pages": pages}

    out = run(scenario)
    assert out["first"].entity["total_count"] == 200 and len(out["first"].entity["success_store_list"]) == 200
    assert out["read"] == sorted(IDS) and out["after"] == sorted(IDS[10:])
    assert [c["effect"] for c in out["log"]] == [200, 0, 200, 50]  # the re-send changed nothing
    assert len(out["pages"]) == 3 + 3  # 450 then 440 ids, 200 per page


def test_more_than_200_ids_and_a_stock_that_is_not_specific_are_refused() -> None:
    async def scenario(w: World) -> list[str]:
        pid, sid = await specific_stock(w)
        errors = []
        with pytest.raises(UpstreamError) as caught:
            await w.product.execute(batch("product.stock.associate_stores", pid, sid, IDS[:201]))
        errors.append(str(caught.value))
        pid2, sid2 = await specific_stock(w, scope="ALL")
        with pytest.raises(UpstreamError) as caught:
            await w.product.execute(batch("product.stock.associate_stores", pid2, sid2, IDS[:1]))
        errors.append(str(caught.value))
        return errors

    too_many, not_specific = run(scenario)
    assert "PARAM_ERROR" in too_many and "200" in too_many, too_many
    assert "SPECIFIC" in not_specific, not_specific


def test_a_batch_with_a_failed_store_is_a_refusal_naming_it() -> None:
    async def scenario(w: World) -> str:
        await w.admin.put("/_sandbox/switches", json={"unknown_store_ids": ["200000003"]})
        pid, sid = await specific_stock(w)
        with pytest.raises(UpstreamError) as caught:
            await w.product.execute(batch("product.stock.associate_stores", pid, sid, IDS[:5]))
        return str(caught.value)

    message = run(scenario)
    assert "1 of the batch's stores failed (200000003: STORE_NOT_FOUND" in message, message


def test_the_config_switch_exists() -> None:
    assert SandboxConfig().unknown_store_ids == ()


def test_store_calls_are_rate_limited_and_refused_on_an_ended_stock() -> None:
    async def scenario(w: World) -> tuple[str, str]:
        pid, sid = await specific_stock(w)
        limits = {"rate_limits": {"product.stocks.associate_stores": 1.0}}
        (await w.admin.put("/_sandbox/limits", json=limits)).raise_for_status()
        await w.product.execute(batch("product.stock.associate_stores", pid, sid, IDS[:1]))
        with pytest.raises(TransientUpstreamError) as limited:  # the clock does not move: the bucket is empty
            await w.product.execute(batch("product.stock.associate_stores", pid, sid, IDS[1:2]))
        (await w.admin.post(f"/_sandbox/stocks/{sid}/stop")).raise_for_status()
        with pytest.raises(UpstreamError) as ended:
            await w.product.execute(batch("product.stock.disassociate_stores", pid, sid, IDS[:1]))
        return str(limited.value), str(ended.value)

    limited, ended = run(scenario)
    assert "429" in limited or "RATELIMIT" in limited, limited
    assert "STOPPED" in ended, ended
