"""Images from files in the plan (decision D33). Pure.

The loader normalises a display image named by file to `{"$file": {"path", "sha256", "size"}}`
(`reconciler.manifest.images`). Before a product coupon is compared, `resolve_images` replaces each such reference
with the URL the state's asset map holds for its sha256 (so a second plan finds nothing to do), or, for bytes never
uploaded, with a placeholder `$asset:sha256:<hex>`. `with_uploads` then gives the first action whose calls carry a
placeholder one `product.media.upload` call per distinct sha256 (once in the whole plan), before its create or PATCH,
and shows the field as `upload of images/x.png (182 KiB, sha256 3f2a9c…)`. The applier uploads, records the URL in
the asset map, and fills the placeholders of the calls that follow (`reconciler.apply.assets`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from reconciler.plan.actions import PlanContext
from reconciler.plan.model import Action, Call, FieldChange, Operation
from reconciler.resources import DesiredCoupon

UPLOAD: Operation = "product.media.upload"
FILE_KEY = "$file"
PLACEHOLDER_PREFIX = "$asset:sha256:"
PLACEHOLDER = re.compile(r"\$asset:sha256:([0-9a-f]{64})")
_LEAVES: frozenset[type] = frozenset({str, int, float, bool, type(None)})


def placeholder(sha256: str) -> str:
    """What a call's payload holds where the URL of these (not yet uploaded) bytes goes."""
    return PLACEHOLDER_PREFIX + sha256


def file_ref(value: Any) -> Mapping[str, Any] | None:
    """The `{"path", "sha256", "size"}` of a normalised image file reference, or None for anything else."""
    if type(value) is str:  # the common leaf, without the ABC check below
        return None
    if isinstance(value, Mapping) and len(value) == 1 and isinstance(value.get(FILE_KEY), Mapping):
        return value[FILE_KEY]  # type: ignore[no-any-return]
    return None


def _map(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """`value` with every file reference and every string passed through `leaf` (containers copied)."""
    if file_ref(value) is not None or isinstance(value, str):
        return leaf(value)
    if isinstance(value, Mapping):
        return {k: _map(v, leaf) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_map(v, leaf) for v in value]
    return value


def refs_in(value: Any) -> Iterator[Mapping[str, Any]]:
    """Every file reference under `value`."""
    if type(value) in _LEAVES:  # nothing under a plain leaf (skips the ABC checks for most nodes)
        return
    ref = file_ref(value)
    if ref is not None:
        yield ref
    elif isinstance(value, Mapping):
        for sub in value.values():
            yield from refs_in(sub)
    elif isinstance(value, list | tuple):
        for sub in value:
            yield from refs_in(sub)


def placeholders_in(value: Any) -> Iterator[str]:
    """The sha256 of every placeholder under `value`."""
    if isinstance(value, str):
        match = PLACEHOLDER.fullmatch(value)
        if match is not None:
            yield match.group(1)
    elif isinstance(value, Mapping):
        for sub in value.values():
            yield from placeholders_in(sub)
    elif isinstance(value, list | tuple):
        for sub in value:
            yield from placeholders_in(sub)


def resolve_images(
    assets: Mapping[str, str], want: DesiredCoupon
) -> tuple[DesiredCoupon, dict[str, Mapping[str, Any]]]:
    """`want` with its image files resolved (known sha256 -> URL, else a placeholder) and the references not yet
    uploaded, by sha256. `want` itself is returned when it names no file.

    Only a product coupon's `display_info` holds image slots (`reconciler.manifest.images.image_slots`), so only it
    is walked: a shop coupon, or the rest of a product body (its stocks), is never visited (issue 20: walking every
    whole body was 4 of 11 s of a 10,000-coupon no-op plan)."""
    display = want.body.get("display_info") if want.kind == "ProductCoupon" else None
    if display is None:
        return want, {}
    refs = {str(ref["sha256"]): ref for ref in refs_in(display)}
    if not refs:
        return want, {}

    def leaf(value: Any) -> Any:
        ref = file_ref(value)
        if ref is None:
            return value
        sha = str(ref["sha256"])
        return assets.get(sha) or placeholder(sha)

    body = _map(want.body, leaf)
    pending = {sha: ref for sha, ref in refs.items() if sha not in assets}
    return replace(want, body=body), pending


def describe(ref: Mapping[str, Any]) -> str:
    """`upload of images/x.png (182 KiB, sha256 3f2a9c…)`."""
    size = int(ref["size"])
    shown = f"{size:,} B" if size < 1024 else f"{round(size / 1024):,} KiB"
    return f"upload of {ref['path']} ({shown}, sha256 {str(ref['sha256'])[:6]}…)"


def upload_call(ref: Mapping[str, Any]) -> Call:
    """The upload of one file (reference B.1 "upload an image"): a reference to the bytes, never the bytes; the
    provider reads the file at send time and refuses it when its sha256 changed since the plan."""
    path = str(ref["path"])
    payload = {"file": path, "filename": path.rsplit("/", 1)[-1], "sha256": ref["sha256"], "size": ref["size"]}
    return Call(operation=UPLOAD, payload=payload)


def with_uploads(ctx: PlanContext, action: Action, pending: Mapping[str, Mapping[str, Any]]) -> Action:
    """`action` showing each pending upload by file, and, when it is the first action of the plan whose calls need
    an image, starting with that image's upload call (one per sha256 in the whole plan)."""
    if not pending:
        return action

    def shown(value: Any) -> Any:
        if isinstance(value, str):
            match = PLACEHOLDER.fullmatch(value)
            if match is not None and match.group(1) in pending:
                return describe(pending[match.group(1)])
        return value

    changes = tuple(
        FieldChange(c.path, c.change, _map(c.before, shown), _map(c.after, shown), c.effect, c.reason)
        for c in action.changes
    )
    needed = [sha for call in action.calls for sha in placeholders_in(call.payload)]
    uploads: list[Call] = []
    for sha in dict.fromkeys(needed):
        if sha in pending and sha not in ctx.uploads:
            ctx.uploads[sha] = action.address
            uploads.append(upload_call(pending[sha]))
    after = _map(action.after, shown) if action.after is not None else None
    return replace(action, changes=changes, after=after, calls=(*uploads, *action.calls))
