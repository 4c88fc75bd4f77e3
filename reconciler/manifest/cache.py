"""A content-keyed cache of validated manifest files, so re-planning an unchanged repository skips the YAML parse
and the model validation of every file that did not change.

An entry is the list of `DesiredCoupon`s one file produced, stored as JSON (never pickle: a cache file can only
ever yield data). Its key is the sha256 of the file's bytes, its displayed path (coupons carry `file:line`) and a
fingerprint of everything validation depends on: the couponctl version, the source of `reconciler.manifest`,
`reconciler.resources` and `reconciler.times`, and the installed files of yaml_rs, pydantic and pydantic-core. Any
change to one of them is a miss; only a file that loaded with no diagnostic at all is stored, so warnings and errors
are always computed afresh. A file holding a coupon set with a `csv:` file records the sha256 of each such file in
its entry; a CSV that changed since is a miss, so a changed row is never served from the cache. Cross-file checks
(duplicate addresses and out_coupon_ids) and the plan-time claim-window check are never cached.

Where it lives (only when there is a couponctl.toml): `[manifests] cache_dir` when set, with any state backend
(PostgreSQL included), e.g. a folder a CI job restores and saves; else beside a SQLite state database
(`<state dir>/cache/manifests/`); else nowhere. Set COUPONCTL_MANIFEST_CACHE=0 to turn it off. The fingerprint
names installed packages by their versions, not their files' times, so a CI runner that reinstalls the same
versions hits the entries a previous job saved. Entries are written to a temporary file and renamed into place, so
two processes filling the same folder never leave a torn entry; an entry is only ever read under the key of the
bytes being loaded, so a changed file is never served from it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.resources import DesiredCoupon, IgnoreRule, SourceRef

if TYPE_CHECKING:
    from reconciler.config import Settings

FORMAT = 2  # bump when the entry layout changes
DISABLE_ENV = "COUPONCTL_MANIFEST_CACHE"


@functools.cache
def code_fingerprint() -> bytes:
    """sha256 over what validation depends on, computed once per process without importing pydantic: our own
    validation sources (by content), and the installed pydantic, pydantic-core and yaml_rs: the names of their
    `*.dist-info` folders (which carry the version) and the names and sizes of their files. No modification times:
    a CI runner that installs the same versions afresh must find the entries an earlier job saved."""
    import importlib.util

    from reconciler import __version__

    hasher = hashlib.sha256(f"{FORMAT}\0{__version__}\0".encode())
    package = Path(__file__).resolve().parent
    shared = [package.parent / name for name in ("resources.py", "stocks.py", "times.py")]  # the loader uses them
    for source in [*sorted(package.glob("*.py")), *shared]:
        hasher.update(source.name.encode() + b"\0" + source.read_bytes())
    for name in ("pydantic", "pydantic_core", "yaml_rs"):
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        if origin is None:
            continue
        site = origin.parent.parent
        with contextlib.suppress(OSError):
            for dist in sorted(site.glob(f"{name}-*.dist-info")):  # pydantic-2.14.4.dist-info: the version
                hasher.update(f"{dist.name}\0".encode())
        for entry in sorted(origin.parent.iterdir()):
            if entry.is_file():
                hasher.update(f"{name}/{entry.name}\0{entry.stat().st_size}\0".encode())
    return hasher.digest()


def _encode(coupon: DesiredCoupon, index: int) -> list[Any]:
    s = coupon.source
    rules = [[r.path, r.reason] for r in coupon.ignore_drift]
    return [
        index,
        coupon.kind,
        coupon.name,
        coupon.status,
        coupon.body,
        s.file,
        s.line,
        s.col,
        coupon.protect,
        coupon.brand_id,
        rules,
        coupon.moved_from,
        s.set_name,
        dict(coupon.guard),
    ]


def _decode(item: list[Any]) -> tuple[DesiredCoupon, int]:
    index, kind, name, status, body, file, line, col, protect, brand_id, rules, moved_from, set_name, guard = item
    coupon = DesiredCoupon(
        kind=kind,
        name=name,
        status=status,
        body=body,
        source=SourceRef(file, line, col, set_name),
        protect=protect,
        brand_id=brand_id,
        ignore_drift=tuple(IgnoreRule(path, reason) for path, reason in rules),
        moved_from=moved_from,
        guard=guard,
    )
    return coupon, index


class ManifestCache:
    """Validated coupons of manifest files, by content. Reads and writes never raise: a broken entry is a miss."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.hits = 0
        self.misses = 0

    def _path(self, display: str, raw: bytes) -> Path:
        hasher = hashlib.sha256(code_fingerprint())
        hasher.update(display.encode("utf-8") + b"\0" + raw)
        key = hasher.hexdigest()
        return self.directory / key[:2] / f"{key}.json"

    def get(
        self, display: str, raw: bytes, folder: Path
    ) -> tuple[list[tuple[DesiredCoupon, int]], dict[str, bytes]] | None:
        """The file's coupons and the CSV files its sets read (name as written -> bytes, read again now and
        compared with the entry's digests), or None."""
        path = self._path(display, raw)
        try:
            entry = json.loads(path.read_bytes())
            extra: dict[str, bytes] = {}
            for name, sha in entry["files"].items():
                data = (folder / name).read_bytes()
                if hashlib.sha256(data).hexdigest() != sha:
                    raise ValueError(name)
                extra[name] = data
            coupons = [_decode(item) for item in entry["coupons"]]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            self.misses += 1
            return None
        self.hits += 1
        return coupons, extra

    def put(
        self, display: str, raw: bytes, coupons: Sequence[tuple[DesiredCoupon, int]], extra: dict[str, bytes]
    ) -> None:
        path = self._path(display, raw)
        try:
            entry = {
                "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(extra.items())},
                "coupons": [_encode(c, i) for c, i in coupons],
            }
            data = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
            os.replace(tmp, path)  # atomic: a concurrent reader sees the whole entry or none
        except (OSError, TypeError, ValueError):
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)


def cache_for(settings: Settings) -> ManifestCache | None:
    """The cache of this project, when there is a couponctl.toml (never in an arbitrary working directory), unless
    COUPONCTL_MANIFEST_CACHE=0: `[manifests] cache_dir` (relative to the project root) with any state backend,
    else beside a SQLite state database, else none."""
    if os.environ.get(DISABLE_ENV, "1").strip().lower() in {"0", "false", "no", "off"}:
        return None
    if settings.config_file is None:
        return None
    if settings.manifest_cache_dir:
        return ManifestCache(settings.resolve(settings.manifest_cache_dir))
    url = settings.state_url
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite:///:memory:":
        return None
    return ManifestCache(Path(url[len(prefix) :]).parent / "cache" / "manifests")
