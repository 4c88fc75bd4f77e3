"""`couponctl fmt`: rewrite manifest (and policy) files in their canonical layout, or with `check` only list them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.config import Settings


@dataclass(slots=True)
class FmtResult:
    """Files that changed (or would change with `check`) and files left alone because they cannot be read."""

    changed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    checked: int = 0


def fmt(settings: Settings | None, paths: Sequence[str] = (), *, check: bool = False) -> FmtResult:
    """Format every *.yaml / *.yml under `paths` (default: the configured manifest paths). With `check`, nothing
    is written. A file is replaced atomically, and only when its text changes."""
    from reconciler.commands.validate import configured_paths
    from reconciler.errors import Diagnostic
    from reconciler.manifest import bounds
    from reconciler.manifest.discovery import discover
    from reconciler.manifest.fmt import FormatError, format_text

    result = FmtResult()
    diagnostics: list[Diagnostic] = []
    chosen = list(paths) or configured_paths(settings)
    files = discover(chosen, diagnostics)
    others = [f for f in _other_files(chosen) if f not in files]
    files += others
    # A folder holding only a policy file is not "a folder without manifests" for fmt.
    result.failed.extend(
        (d.file, d.message)
        for d in diagnostics
        if d.severity == "error" and not (others and d.message.startswith("no manifest files"))
    )
    for display, path in files:
        result.checked += 1
        try:
            raw = bounds.read_limited(path)
            text = raw.decode("utf-8-sig")
            formatted = format_text(text, file_name=path.name)
        except (OSError, bounds.FileTooLarge, UnicodeDecodeError, FormatError) as exc:
            result.failed.append((display, str(exc)))
            continue
        if formatted == text:
            continue
        result.changed.append(display)
        if not check:
            _replace(path, formatted)
    return result


def _other_files(paths: Sequence[str]) -> list[tuple[str, Path]]:
    """The policy files under the given folders, which the manifest walk skips but fmt formats too."""
    from reconciler.manifest.fmt import OTHER_FILES

    found: list[tuple[str, Path]] = []
    for given in paths:
        if not Path(given).is_dir():
            continue
        for folder, dirnames, filenames in os.walk(given):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            found += [
                (os.path.normpath(os.path.join(folder, n)), Path(folder) / n)
                for n in sorted(filenames)
                if n in OTHER_FILES
            ]
    return found


def _replace(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)  # a reader sees the old file or the new one, never half of it
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
