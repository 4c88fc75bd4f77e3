"""Coupon code upload of a product coupon's UPLOAD stock (reference B.1 "upload codes", B.4; decision D35).

`POST …/product-coupons/{id}/stocks/{stock_id}/upload-coupon-codes` takes `{out_request_no, brand_id, code_list}`,
at most 200 codes per call [D doc 4016434668; 3P SKIT `UploadMarketingPartnerProductCouponStockCouponCodesRequest`];
the answer lists codes (`success_code_list`, `failed_code_list`, `already_exist_code_list`, `duplicate_code_list`,
and `total_count`) [3P SKIT `…CouponCodesResponse`].

The planned call holds a reference (`file`, `batch`, `batch_size`, `sha256`, `count`); the codes are read here, at
send time, and refused when the batch's digest is not the planned one (re-run plan). The result keeps COUNTS only:
the answer's code lists never leave this module (not in the result, the state, the history or an error), and an
error answer's message has every code of the batch masked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import UpstreamError
from reconciler.manifest.codes import MAX_CODES_FILE_BYTES, batch_digest, parse_codes
from reconciler.plan.model import Call
from reconciler.providers.base import CallResult
from reconciler.providers.planned_files import read_planned_file
from reconciler.providers.wechatpay_stocks import coupon_path

if TYPE_CHECKING:
    from reconciler.providers.wechatpay import WechatPayProvider

UPLOAD_CODES = "product.stock.upload_codes"
ANSWER_LISTS = ("success_code_list", "failed_code_list", "already_exist_code_list", "duplicate_code_list")
MASK = "<code>"


@lru_cache(maxsize=4)
def _parsed(data: bytes) -> tuple[tuple[str, ...], bool]:
    """The codes of a codes file's bytes and whether it has problems, kept for the next batches of the same file.

    The file is read again for every batch (a change since the plan must still be caught), but its bytes are parsed
    once per distinct content: parsing them per batch made an upload of n codes cost n^2/200 line checks (50,000
    codes: 12.5 million, 14 s of CPU; 0.3 s now). The key is the bytes themselves, so a changed file is parsed
    afresh; the cache lives in this process's memory only, like the bytes just read."""
    codes, problems = parse_codes(data)
    return tuple(codes), bool(problems)


def planned_batch(root: Path, payload: Mapping[str, Any]) -> list[str]:
    """The codes of the planned batch, checked against the plan's digests (UpstreamError naming the file if not)."""
    name = str(payload["file"])
    data = read_planned_file(root, name, max_bytes=MAX_CODES_FILE_BYTES, call=UPLOAD_CODES, what="codes file")
    codes, problems = _parsed(data)
    size, index = int(payload["batch_size"]), int(payload["batch"])
    batch = list(codes[index * size : (index + 1) * size])
    where = f"batch {index + 1} of codes file {name}"
    if problems or len(batch) != int(payload["count"]) or batch_digest(batch) != payload["sha256"]:
        raise UpstreamError(call=UPLOAD_CODES, message=f"{where} changed since the plan: re-run plan")
    prior = payload.get("uploaded")
    if isinstance(prior, Mapping) and batch_digest(batch[: int(prior["count"])]) != prior["sha256"]:
        raise UpstreamError(
            call=UPLOAD_CODES,
            message=f"the first {int(prior['count'])} codes of {where} were uploaded and have changed since; codes "
            "cannot be deleted upstream: restore them, or declare the new codes on a new stock name",
        )
    return batch


def counts(answer: Mapping[str, Any] | None, sent: int) -> dict[str, int]:
    """The answer with its code lists replaced by their lengths."""
    out: dict[str, int] = {"sent_count": sent}
    if not answer:
        return out
    total = answer.get("total_count")
    if isinstance(total, int) and not isinstance(total, bool):
        out["total_count"] = total
    for key in ANSWER_LISTS:
        value = answer.get(key)
        out[key.replace("_code_list", "_count")] = len(value) if isinstance(value, list) else 0
    return out


def masked(text: str, codes: Sequence[str]) -> str:
    for code in sorted(codes, key=len, reverse=True):
        text = text.replace(code, MASK)
    return text


async def upload_codes(provider: WechatPayProvider, call: Call) -> CallResult:
    """Send one batch; a batch with failed codes is a refusal naming how many (never which)."""
    from reconciler.providers.wechatpay import encode_body

    batch = planned_batch(provider.files_root, call.payload)
    if not call.stock_id:
        raise ValueError(f"{UPLOAD_CODES} of stock {call.stock_name!r} needs its upstream id as call.stock_id")
    path = f"{coupon_path(call)}/stocks/{call.stock_id}/upload-coupon-codes"
    body = {"out_request_no": call.payload["out_request_no"], "brand_id": call.payload["brand_id"], "code_list": batch}
    label = f"{UPLOAD_CODES} (stock {call.stock_name})"
    try:
        response = await provider._send(label, "POST", path, content=encode_body(body))
    except UpstreamError as exc:  # upstream's message or detail may quote codes: masked, detail dropped
        clean = type(exc)(
            call=exc.call,
            message=masked(exc.upstream_message, batch),
            http_status=exc.http_status,
            code=exc.code,
            request_id=exc.request_id,
            url=exc.url,
        )
        for key, value in vars(exc).items():
            if key not in vars(clean):  # e.g. the Retry-After a 429 carried
                setattr(clean, key, value)
        raise clean from None
    answer = provider._entity(label, response)
    result = counts(answer, len(batch))
    if result.get("failed_count"):
        raise UpstreamError(
            call=label,
            message=f"{result['failed_count']} of the {len(batch)} codes of batch {int(call.payload['batch']) + 1} "
            "were refused upstream",
            request_id=response.headers.get("Request-ID"),
            http_status=response.status_code,
        )
    return CallResult(
        operation=UPLOAD_CODES,
        upstream_id=call.target,
        entity=result,
        request_id=response.headers.get("Request-ID"),
        http_status=response.status_code,
        raw=result,
    )
