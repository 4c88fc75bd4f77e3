"""YAML 1.1 merge keys (`<<: *base`) over parsed manifest documents: yaml_rs (YAML 1.2) keeps `<<` as a literal key.

Shared by the loader and `couponctl render`, so a rendered manifest says what the loader read."""

from __future__ import annotations

from typing import Any


def merge_keys(value: Any) -> Any:
    """Resolve YAML 1.1 merge keys (`<<: *base`), which yaml_rs (YAML 1.2) keeps as a literal `<<` key.

    Teams DRY up similar coupons with anchors; explicit keys win over merged ones, as in YAML 1.1.
    """
    if isinstance(value, list):
        return [merge_keys(item) for item in value]
    if not isinstance(value, dict):
        return value
    merged: dict[Any, Any] = {}
    sources = value.get("<<")
    if isinstance(sources, dict | list):
        for source in sources if isinstance(sources, list) else [sources]:
            if isinstance(source, dict):
                for key, item in merge_keys(source).items():
                    merged.setdefault(key, item)
    for key, item in value.items():
        if key == "<<" and isinstance(sources, dict | list):
            continue
        merged[key] = merge_keys(item)
    return {**{k: v for k, v in merged.items() if k not in value}, **{k: merged[k] for k in value if k in merged}}
