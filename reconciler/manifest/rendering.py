"""`couponctl render`: manifests with every coupon set expanded, as plain YAML documents for review and debugging.

The output is itself a valid manifest (the same coupons, without the sets), so `couponctl render > all.yaml &&
couponctl validate all.yaml` holds. Each document is preceded by a comment naming where it was declared and, for a
set, which row produced it. Files are read after `load_manifests` accepted them: this module never reports a
problem, the loader does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml_rs

from reconciler.manifest import bounds
from reconciler.manifest.discovery import discover
from reconciler.manifest.merge_keys import merge_keys
from reconciler.manifest.positions import document_lines
from reconciler.manifest.sets import expand, is_set


def expanded_documents(paths: Sequence[str | Path]) -> list[tuple[str, dict[str, Any]]]:
    """Every coupon document under `paths` with sets expanded: (a comment naming its origin, the document)."""
    out: list[tuple[str, dict[str, Any]]] = []
    for display, path in discover(paths, []):
        text = bounds.read_limited(path).decode("utf-8-sig")
        parsed = yaml_rs.loads(text, parse_datetime=False)
        if "<<" in text:
            parsed = merge_keys(parsed)
        lines = document_lines(text)
        documents = parsed if isinstance(parsed, list) and len(lines) > 1 else [parsed]
        if len(documents) != len(lines):
            lines = [1] * len(documents)
        for line, document in zip(lines, documents, strict=True):
            if not isinstance(document, dict):
                continue
            where = f"{display}:{line}"
            if is_set(document):
                expansion = expand(document, _reader(path.parent))
                for row, expanded in expansion.documents:
                    out.append((f"{where}: set {expansion.name}: {row.label}", expanded))
            else:
                out.append((where, document))
    return out


def _reader(folder: Path) -> Callable[[str], bytes]:
    return lambda name: bounds.read_limited(folder / name)


def render_yaml(paths: Sequence[str | Path]) -> str:
    """The expanded manifests as one multi-document YAML text."""
    import yaml

    chunks: list[str] = []
    for origin, document in expanded_documents(paths):
        body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=4096, default_flow_style=False)
        chunks.append(f"---\n# {origin}\n{body}")
    return "".join(chunks)
