"""Which files are manifests: the given paths, folders searched recursively, sorted and deduplicated.

Symbolic links are never skipped silently, because a manifest that is not loaded looks removed and its coupons get
planned for deactivation. Our rule (docs/configuration.md "Limits of a manifest file"):

- a link to a manifest file is read like the file;
- a dangling link inside a manifest folder is an error naming it (its manifest is missing);
- a link to a folder inside a manifest folder is an error naming it: couponctl does not follow it (it could load the
  same coupons twice or loop); give the folder it points to as a path of its own.

Hidden entries (.git, .venv, .cache, ...) are never manifests and are not looked into.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import Diagnostic

MANIFEST_SUFFIXES = (".yaml", ".yml")
# The policy file (issue 18) lives beside the manifests but is not one: a folder walk skips it.
POLICY_FILES = frozenset({"policies.yaml", "policies.yml"})


def discover(paths: Sequence[str | Path], diagnostics: list[Diagnostic]) -> list[tuple[str, Path]]:
    """Expand the given paths into (display path, path) pairs; problems with links or paths go to `diagnostics`."""
    found: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    for given in paths:
        given_text = str(given)
        path = Path(given)
        if path.is_dir():
            matches, links = _walk(path)
            for link, message in links:
                display = os.path.normpath(os.path.join(given_text, link.relative_to(path)))
                diagnostics.append(Diagnostic(display, 1, 1, message))
            if not matches and not links:
                diagnostics.append(Diagnostic(given_text, 1, 1, "no manifest files (*.yaml, *.yml) in this directory"))
            for match in matches:
                display = os.path.normpath(os.path.join(given_text, match.relative_to(path)))
                _add(found, seen, display, match)
        elif path.is_file():
            _add(found, seen, given_text, path)
        elif path.is_symlink():
            diagnostics.append(Diagnostic(given_text, 1, 1, _dangling(path)))
        else:
            diagnostics.append(Diagnostic(given_text, 1, 1, "no such file or directory"))
    return found


def _walk(top: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Manifest files under `top` (sorted) and the links found there that are reported instead of followed."""
    matches: list[Path] = []
    links: list[tuple[Path, str]] = []
    for folder, dirnames, filenames in os.walk(top, followlinks=False):
        base = Path(folder)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in list(dirnames):
            if (base / name).is_symlink():
                dirnames.remove(name)
                links.append(
                    (
                        base / name,
                        f"a link to a folder ({os.readlink(base / name)}): couponctl does not "
                        "follow linked folders; give the folder it points to as a path of its own",
                    )
                )
        for name in filenames:
            if name.startswith(".") or name in POLICY_FILES:
                continue
            entry = base / name
            if entry.is_symlink() and not entry.exists():
                links.append((entry, _dangling(entry)))
            elif entry.suffix in MANIFEST_SUFFIXES and entry.is_file():
                matches.append(entry)
    return sorted(matches), sorted(links)


def _dangling(link: Path) -> str:
    return (
        f"a dangling link: its target {os.readlink(link)} does not exist, so the manifest it pointed at is "
        "missing; restore the target or remove the link"
    )


def _add(found: list[tuple[str, Path]], seen: set[Path], display: str, path: Path) -> None:
    resolved = path.resolve()
    if resolved not in seen:
        seen.add(resolved)
        found.append((display, path))
