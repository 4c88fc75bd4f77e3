"""Reading, at send time, a file a plan refers to (an image to upload, a codes file): inside the project root only,
at most `max_bytes` (+1, so the caller can tell a file that grew), and an UpstreamError naming the call and the file
with "re-run plan" when it is gone or outside the root (decisions D33, D35)."""

from __future__ import annotations

from pathlib import Path

from reconciler.errors import UpstreamError


def read_planned_file(root: Path, name: str, *, max_bytes: int, call: str, what: str) -> bytes:
    """The bytes of `name` (relative to `root`), read for `call`; `what` names the file in errors ("image")."""
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise UpstreamError(call=call, message=f"{what} {name} lies outside the project root {root}: re-run plan")
    try:
        with path.open("rb") as handle:
            return handle.read(max_bytes + 1)
    except OSError as exc:
        raise UpstreamError(
            call=call, message=f"cannot read {what} {name} ({exc.strerror}); it was there at plan time: re-run plan"
        ) from None
