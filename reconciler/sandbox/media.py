"""Image upload for product-coupon display images (reference B.1 "Image upload", C.1, E Family-2 item 7).

`POST /v3/marketing/partner/product-coupon/media/upload-image` (the path is unsure, F.11: `media/image-upload` is
accepted too) takes `multipart/form-data` with a `meta` part `{"filename", "sha256"}` and a `file` part. The request
signature covers the `meta` JSON, not the multipart payload (C.1). The answer is `{"image_url": ...}` under the first
configured image prefix, so the URL passes the display_info image rule.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.messages import PayError, param_error
from reconciler.sandbox.messages import Request as HttpRequest

UPLOAD_PATHS = (
    "/v3/marketing/partner/product-coupon/media/upload-image",
    "/v3/marketing/partner/product-coupon/media/image-upload",
)
MAX_IMAGE_BYTES = 2 * 1024 * 1024  # B.3: images up to 2 MB
IMAGE_TOO_LARGE = 270087680  # B.11: 图片超过大小
EXTENSIONS = (".png", ".jpg", ".jpeg")
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')


def split_multipart(request: HttpRequest) -> dict[str, bytes]:
    """The parts of a multipart/form-data body by name, byte for byte (no re-encoding)."""
    match = _BOUNDARY.search(request.headers.get("content-type", ""))
    if not request.headers.get("content-type", "").startswith("multipart/form-data") or match is None:
        raise PayError("PARAM_ERROR", "图片上传需要 multipart/form-data", field="Content-Type", issue="not multipart",
                       location="header")  # fmt: skip
    delimiter = b"--" + match.group(1).encode("latin-1")
    parts: dict[str, bytes] = {}
    for chunk in request.body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        name = re.search(rb'name="([^"]*)"', head)
        if name is not None:
            parts[name.group(1).decode("latin-1")] = content.removesuffix(b"\r\n")
    return parts


def signed_meta(request: HttpRequest) -> bytes:
    """The bytes the request signature covers: the `meta` part (C.1)."""
    meta = split_multipart(request).get("meta")
    if meta is None:
        raise param_error("meta", "is required", location="body")
    return meta


def upload_image(request: HttpRequest, config: SandboxConfig) -> dict[str, Any]:
    """Check meta against the file (sha256, size, type) and answer an image URL the sandbox accepts."""
    parts = split_multipart(request)
    try:
        meta = json.loads(parts.get("meta", b""))
    except (ValueError, UnicodeDecodeError):
        raise param_error("meta", "must be JSON {filename, sha256}") from None
    if not isinstance(meta, dict):
        raise param_error("meta", "must be JSON {filename, sha256}")
    filename, digest = meta.get("filename"), meta.get("sha256")
    if not isinstance(filename, str) or not filename.lower().endswith(EXTENSIONS):
        raise param_error("meta.filename", f"must end with {', '.join(EXTENSIONS)}", filename)
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
        raise param_error("meta.sha256", "must be the hex SHA-256 of the file", digest)
    content = parts.get("file")
    if not content:
        raise param_error("file", "is required")
    if len(content) > MAX_IMAGE_BYTES:
        raise PayError("INVALID_REQUEST", "图片超过大小限制（2MB）", business_code=IMAGE_TOO_LARGE)
    if hashlib.sha256(content).hexdigest() != digest.lower():
        raise param_error("meta.sha256", "does not match the file")
    extension = filename.lower().rsplit(".", 1)[1]
    return {"image_url": f"{config.image_url_prefixes[0]}sandbox/{digest.lower()}.{extension}"}
