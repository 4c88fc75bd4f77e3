"""Display images from files in git (issue 17 item 1, decision D33): `image_url: {file: images/banner.png}`.

A product coupon's display image fields (`display_info.image_url`, `background_url`, `detail_image_url_list[i]`,
`combo_package_list[i].choice_list[j].image_url`) take an https URL from the upload API (reference B.3) or a file
named relative to the manifest. The file is checked offline here and replaced in the normalised body by
`{"$file": {"path": <path relative to the project root, POSIX>, "sha256": ..., "size": ...}}`; the planner turns that
into the uploaded URL or an upload call (`reconciler.plan.images`).

Checks (reference B.3; nothing is sent upstream on bad input): the file exists inside the project root (a symlink
that leads out of it is refused), is PNG or JPEG by its magic bytes, is at most 2 MB, and has the documented shape:
`image_url` square, `background_url` 65:77. The 65:77 check allows the nearest whole pixel (|65·h − 77·w| ≤ 77, i.e.
the height within one pixel of width × 77 / 65): most widths have no exact 65:77 height, and upstream states the
ratio, not a pixel rule [INF]. The image's dimensions are read from its header (PNG IHDR, JPEG SOFn), not decoded.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from reconciler.manifest.base import StrictModel
from reconciler.manifest.issues import Issue, Loc

MAX_IMAGE_BYTES = 2 * 1024 * 1024  # reference B.3: images up to 2 MB
BACKGROUND_RATIO = (65, 77)  # reference B.3: background_url is 65:77 (width:height)
FILE_KEY = "$file"  # the normalised form of a file reference (decision D33)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
ALLOWED = "a PNG or JPEG file of at most 2 MB inside the project, or an https:// URL from the upload API (B.3)"


# The two spellings of a display image, as tags of the union the models use: a mapping is a file, anything else a URL,
# so a bad value gets the one message of its own form. The tags are dropped from error locations (pydantic_errors).
URL_FORM = "<url>"
FILE_FORM = "<file>"
IMAGE_FORMS = frozenset({URL_FORM, FILE_FORM})


def image_form(value: Any) -> str:
    return FILE_FORM if isinstance(value, dict | ImageFile) else URL_FORM


class ImageFile(StrictModel):
    """A display image read from a file in the repository, uploaded by apply (decision D33)."""

    file: str = Field(
        min_length=1, description="path of a PNG or JPEG (≤ 2 MB) relative to this manifest, inside the project"
    )


def image_slots(body: dict[str, Any]) -> Iterator[tuple[Loc, dict[str, Any], str | int, str]]:
    """Every display image slot of a product body: (field path, container, key, rule) with rule "square",
    "background" or "any"."""
    display = body.get("display_info")
    if not isinstance(display, dict):
        return
    base: Loc = ("display_info",)
    for key, rule in (("image_url", "square"), ("background_url", "background")):
        if key in display:
            yield (*base, key), display, key, rule
    details = display.get("detail_image_url_list")
    if isinstance(details, list):
        for i in range(len(details)):
            yield (*base, "detail_image_url_list", i), details, i, "any"  # type: ignore[misc]
    packages = display.get("combo_package_list")
    if isinstance(packages, list):
        for p, package in enumerate(packages):
            choices = package.get("choice_list") if isinstance(package, dict) else None
            for c, choice in enumerate(choices if isinstance(choices, list) else ()):
                if isinstance(choice, dict) and "image_url" in choice:
                    loc: Loc = (*base, "combo_package_list", p, "choice_list", c, "image_url")
                    yield loc, choice, "image_url", "any"


def dimensions(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) from a PNG or JPEG header, or None when it is neither (or the header is cut)."""
    if data.startswith(PNG_MAGIC):
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        width, height = struct.unpack(">II", data[16:24])
        return "PNG", width, height
    if data.startswith(JPEG_MAGIC):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # SOFn: the frame header
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return "JPEG", width, height
            i += 2 + length
        return None
    return None


def check_image(data: bytes, rule: str) -> str | None:
    """What is wrong with these image bytes for a slot with `rule`, or None."""
    if len(data) > MAX_IMAGE_BYTES:
        return f"is {len(data):,} bytes, over the limit of {MAX_IMAGE_BYTES:,} bytes (2 MB, reference B.3)"
    found = dimensions(data)
    if found is None:
        return "is not a PNG or JPEG image (by its first bytes); the upload API takes PNG and JPEG (reference B.3)"
    kind, width, height = found
    if width == 0 or height == 0:
        return f"is a {kind} image of {width}×{height} pixels: empty"
    if rule == "square" and width != height:
        return f"is {width}×{height} pixels; image_url must be square (1:1, reference B.3)"
    if rule == "background":
        w, h = BACKGROUND_RATIO
        if abs(w * height - h * width) > h:
            near = round(width * h / w)
            return (
                f"is {width}×{height} pixels; background_url must be 65:77 (reference B.3), "
                f"e.g. {width}×{near} (the height within one pixel of width × 77 / 65)"
            )
    return None


def resolve_image_files(body: dict[str, Any], folder: Path, root: Path, files: dict[str, bytes]) -> list[Issue]:
    """Replace, in place, every `{file: ...}` image of `body` by its `$file` reference; the problems as issues
    located at the field (`spec.display_info.image_url.file`). `folder` is the manifest's folder, `root` the
    project root. The bytes read are recorded in `files` by the name as written (the loader's record of a file's
    extra inputs, like a coupon set's CSV), so the manifest cache and the plan's digest follow the image's content."""
    issues: list[Issue] = []
    resolved: Path | None = None  # the root, resolved only once a file is named: not per coupon
    for loc, container, key, rule in list(image_slots(body)):
        value = container[key]  # type: ignore[index]
        if not (isinstance(value, dict) and "file" in value):
            continue
        if resolved is None:
            resolved = root.resolve()
        where: Loc = ("spec", *loc, "file")
        name = str(value["file"])
        shown = f"image file {name!r}"
        path = (folder / name).resolve()
        if not path.is_relative_to(resolved):
            outside = f"{shown} lies outside the project root {resolved} (symlinks included); {ALLOWED}"
            issues.append(Issue(where, outside))
            continue
        try:
            if not path.is_file():
                raise FileNotFoundError(name)
            with path.open("rb") as handle:
                data = handle.read(MAX_IMAGE_BYTES + 1)  # one byte over is enough to refuse it
            files[name] = data
        except OSError:
            issues.append(Issue(where, f"{shown} does not exist (relative to the manifest's folder); {ALLOWED}"))
            continue
        problem = check_image(data, rule)
        if problem is not None:
            issues.append(Issue(where, f"{shown} {problem}"))
            continue
        container[key] = {  # type: ignore[index]
            FILE_KEY: {
                "path": path.relative_to(resolved).as_posix(),
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
            }
        }
    return issues


REFERENCE_DOC = """
## Images from files (decision D33)

A product coupon's display images (`display_info.image_url`, `background_url`, each `detail_image_url_list` item and
each combo `choice_list[].image_url`) take either an https URL from the upload API (reference B.3) or a file in the
repository, named relative to the manifest:

```yaml
  display_info:
    name: 双11咖啡券
    image_url: {file: ../images/d11-logo.png}        # uploaded by apply, then sent as its URL
    background_url: {file: ../images/d11-banner.jpg}
```

`validate` checks the file offline, reporting `file:line:col` and the field: it must lie inside the project root (a
symlink leading out of it is refused), be PNG or JPEG by its first bytes, at most 2 MB, `image_url` square and
`background_url` 65:77 (the height within one pixel of width × 77 / 65: most widths have no exact 65:77 height).
The plan shows `~ display_info.image_url = "https://…" -> "upload of images/d11-logo.png (182 KiB, sha256 3f2a9c…)"`
and one `product.media.upload` call per distinct image in the whole plan, before the create or PATCH that needs it.
Apply uploads it, records sha256 → URL in state (the same bytes are never uploaded twice), then creates or PATCHes
with the URL; the next plan finds the URL and is a no-op. Changing the file's bytes plans one upload and one PATCH.
A file changed between plan and apply is refused at apply ("re-run plan").
"""
