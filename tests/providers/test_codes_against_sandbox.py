"""Coupon code upload through WechatPayProvider against the in-process sandbox (decision D35; reference B.1, B.4):
real signatures both ways; the batch read from the file at send time and checked; counts only in the result; the
sandbox's rules (UPLOAD stocks only, 200 per call, existing codes reported, idempotent by out_request_no)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import UpstreamError
from reconciler.manifest.codes import batch_digest
from reconciler.plan.model import Call
from reconciler.providers.wechatpay_codes import masked
from tests.providers.test_stocks_against_sandbox import World, run
from tests.sandbox.stock_support import CREDS, stock_body

SECRET = "SecretCode"
CODES = [f"{SECRET}{i:05d}" for i in range(450)]


def write(root: Path, codes: list[str]) -> None:
    (root / "codes").mkdir(exist_ok=True)
    (root / "codes" / "d11.txt").write_text("\n".join(codes) + "\n", encoding="utf-8")


def batch(pid: str, sid: str, index: int, codes: list[str], number: str | None = None) -> Call:
    part = codes[index * 200 : (index + 1) * 200]
    out_request_no = number or f"codes-test-{index:04d}"
    payload: dict[str, Any] = {
        "out_request_no": out_request_no,
        "brand_id": CREDS.brand_id,
        "file": "codes/d11.txt",
        "batch": index,
        "batch_size": 200,
        "sha256": batch_digest(part),
        "count": len(part),
    }
    return Call("product.stock.upload_codes", payload, pid, out_request_no, stock_name="main", stock_id=sid)


async def upload_stock(w: World, mode: str = "UPLOAD") -> tuple[str, str]:
    pid = await w.coupon()
    added = await w.product.execute(
        w.call("product.stock.add", {"stock": {**stock_body(), "coupon_code_mode": mode}}, target=pid, stock_name="c")
    )
    assert added.entity is not None
    return pid, str(added.entity["stock_id"])


def test_three_batches_land_counts_only_and_a_resend_is_a_replay(tmp_path: Path) -> None:
    write(tmp_path, CODES)

    async def scenario(w: World) -> dict[str, Any]:
        w.product.files_root = tmp_path
        pid, sid = await upload_stock(w)
        results = [await w.product.execute(batch(pid, sid, i, CODES)) for i in range(3)]
        again = await w.product.execute(batch(pid, sid, 0, CODES))
        other_number = await w.product.execute(batch(pid, sid, 1, CODES, number="codes-test-other"))
        stocks = await w.product.read_stocks(pid)
        return {"results": results, "again": again, "other": other_number, "stocks": stocks,
                "log": await w.calls("product.stocks.upload_codes")}  # fmt: skip

    out = run(scenario)
    assert [r.entity["success_count"] for r in out["results"]] == [200, 200, 50]
    assert out["again"].entity["success_count"] == 200  # the replayed first answer
    assert out["other"].entity["already_exist_count"] == 200 and out["other"].entity["success_count"] == 0
    [stock] = [s for s in out["stocks"] if s.get("coupon_code_mode") == "UPLOAD"]
    assert stock["coupon_code_count_info"] == {"total_count": 450, "available_count": 450}
    assert SECRET not in repr([r.entity for r in out["results"]]) + repr([r.raw for r in out["results"]])
    assert len(out["log"]) == 5 and SECRET not in repr(out["log"])


def test_a_changed_file_is_refused_before_sending_and_a_wechatpay_stock_is_refused(tmp_path: Path) -> None:
    write(tmp_path, CODES)

    async def scenario(w: World) -> list[str]:
        w.product.files_root = tmp_path
        pid, sid = await upload_stock(w)
        planned = batch(pid, sid, 0, CODES)
        write(tmp_path, list(reversed(CODES)))
        errors = []
        with pytest.raises(UpstreamError) as caught:
            await w.product.execute(planned)
        errors.append(str(caught.value))
        errors.append(str(len(await w.calls("product.stocks.upload_codes"))))
        write(tmp_path, CODES)
        pid2, sid2 = await upload_stock(w, mode="WECHATPAY")
        with pytest.raises(UpstreamError) as caught:
            await w.product.execute(batch(pid2, sid2, 0, CODES))
        errors.append(str(caught.value))
        return errors

    changed, sent, not_upload = run(scenario)
    assert "changed since the plan: re-run plan" in changed and sent == "0"
    assert "UPLOAD" in not_upload and SECRET not in not_upload


def test_masked_hides_every_code_of_the_batch() -> None:
    assert masked(f"code {CODES[3]} exists; {CODES[30]}", CODES) == "code <code> exists; <code>"


def test_more_than_200_codes_are_refused_by_the_sandbox_naming_no_code() -> None:
    from reconciler.sandbox.codes import check_codes
    from reconciler.sandbox.messages import PayError

    with pytest.raises(PayError) as caught:
        check_codes(CODES[:201])
    assert "200" in str(caught.value)
    with pytest.raises(PayError) as caught:
        check_codes([*CODES[:3], f"{SECRET} bad"])
    assert "/code_list/3" in str(caught.value.__dict__) and SECRET not in repr(caught.value.__dict__)


def test_the_upload_is_rate_limited_like_every_stock_endpoint() -> None:
    from reconciler.sandbox.config import DEFAULT_RATE_LIMITS
    from reconciler.upstream_facts import DEFAULT_RATE_LIMITS as OUR_RATES

    assert DEFAULT_RATE_LIMITS["product.stocks.upload_codes"] == 20.0  # reference B.12 / doc 4016434668: 20/s
    assert DEFAULT_RATE_LIMITS["brand.product.stocks.upload_codes"] == 20.0
    assert OUR_RATES["product.stock.upload_codes"] == 20.0
