"""The image upload of WeChat Pay product coupons (reference B.1 "upload an image", C.1; decision D33).

`POST /v3/marketing/partner/product-coupon/media/upload-image` takes `multipart/form-data`: a `meta` part, the JSON
`{"filename", "sha256"}`, and a `file` part with the bytes; the request signature covers the `meta` JSON, not the
multipart body (C.1). The answer is `{"image_url": ...}` [3P: SKIT `UploadMarketingPartnerProductCouponMediaImage
Request/Response`].

The planned call holds a reference to the file (project-root-relative path, sha256, size), never the bytes. The bytes
are read here, at send time, and refused when their sha256 is not the one the plan was made with: the plan showed
other bytes, so the user must plan again.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import UpstreamError
from reconciler.plan.model import Call
from reconciler.providers.base import CallResult
from reconciler.providers.planned_files import read_planned_file

if TYPE_CHECKING:
    from reconciler.providers.wechatpay import WechatPayProvider

UPLOAD = "product.media.upload"
UPLOAD_PATH = "/v3/marketing/partner/product-coupon/media/upload-image"  # reference B.1, F.11
MAX_IMAGE_BYTES = 2 * 1024 * 1024  # reference B.3
_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}


def planned_bytes(root: Path, payload: Mapping[str, Any]) -> bytes:
    """The bytes of the planned file, checked against the plan's sha256 (UpstreamError naming the file if not)."""
    name = str(payload["file"])
    data = read_planned_file(root, name, max_bytes=MAX_IMAGE_BYTES, call=UPLOAD, what="image")
    digest = hashlib.sha256(data).hexdigest()
    if digest != payload["sha256"]:
        raise UpstreamError(
            call=UPLOAD,
            message=f"image {name} changed since the plan (sha256 {digest[:12]}… now, {str(payload['sha256'])[:12]}… "
            "planned): re-run plan",
        )
    return data


def multipart(meta: bytes, filename: str, data: bytes) -> tuple[bytes, str]:
    """The multipart/form-data body of the upload and its Content-Type (C.1: `meta` first, then `file`)."""
    boundary = secrets.token_hex(16)
    extension = filename.rsplit(".", 1)[-1].lower()
    content_type = _CONTENT_TYPES.get(extension, "application/octet-stream")
    safe_name = json.dumps(filename, ensure_ascii=False)  # a quoted name; never breaks the header
    body = b"".join(
        [
            f"--{boundary}\r\n".encode(),
            b'Content-Disposition: form-data; name="meta"\r\nContent-Type: application/json\r\n\r\n',
            meta,
            f"\r\n--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="file"; filename={safe_name}\r\n'.encode(),
            f"Content-Type: {content_type}\r\n\r\n".encode(),
            data,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return body, f"multipart/form-data; boundary={boundary}"


async def upload_image(provider: WechatPayProvider, call: Call) -> CallResult:
    """Upload the planned file; the answer's `image_url` is the entity."""
    from reconciler.providers.wechatpay import encode_body

    data = planned_bytes(provider.files_root, call.payload)
    filename = str(call.payload["filename"])
    meta = encode_body({"filename": filename, "sha256": call.payload["sha256"]})
    body, content_type = multipart(meta, filename, data)
    response = await provider._send(  # the provider's one signed, verified send
        UPLOAD, "POST", UPLOAD_PATH, content=body, content_type=content_type, signed_body=meta
    )
    entity = provider._entity(UPLOAD, response) or {}
    url = entity.get("image_url")
    request_id = response.headers.get("Request-ID")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise UpstreamError(
            call=UPLOAD, message="the upload answered no https image_url", request_id=request_id, http_status=200
        )
    return CallResult(
        operation=UPLOAD,
        upstream_id=None,
        entity={"image_url": url},
        request_id=request_id,
        http_status=response.status_code,
        raw=entity,
    )
