"""Coupon sets (`kind: CouponSet`, decision D27): one template expanded over a matrix and/or
rows into ordinary ShopCoupon / ProductCoupon documents.

Expansion is pure and deterministic: the same set (and CSV bytes) always gives the same documents in the same
order. Rows come first (inline `rows:` or a `csv:` file beside the manifest), each crossed with every combination
of the `matrix:` axes in the order they are written. A placeholder is `{var}` or `{var*N}` (N a literal integer:
yuan in a name, fen in a field); a string that is exactly one placeholder takes the value itself (an integer stays
an integer), anywhere else the value is written into the text. Nothing else is an expression: a set is data, not a
program. Every expanded document is then validated by the loader exactly like a hand-written one.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.manifest.issues import Issue, Loc
from reconciler.resources import NAME_PATTERN

SET_KIND = "CouponSet"
MAX_SET_SIZE = 10_000  # coupons one set may expand to: a typo in a matrix must not become a million documents
VARIABLE = re.compile(r"[a-z_][a-z0-9_]*")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?:\*([0-9]{1,9}))?\}")
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
SET_FIELDS = ("kind", "name", "matrix", "rows", "csv", "template")  # the canonical order (fmt)
_LABEL_VALUES = 4  # values shown in a row's label before "…"

Scalar = str | int | bool
ReadFile = Callable[[str], bytes]  # a path relative to the manifest's folder -> bytes (raises OSError)


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a set: its 1-based number in expansion order and its values."""

    number: int
    values: Mapping[str, Scalar]

    @property
    def label(self) -> str:
        shown = [f"{k}={v}" for k, v in list(self.values.items())[:_LABEL_VALUES]]
        more = ", …" if len(self.values) > _LABEL_VALUES else ""
        return f"row {self.number} ({', '.join(shown)}{more})"


@dataclass(frozen=True, slots=True)
class Expansion:
    """What a set declares: its name, the expanded documents with their rows, and problems of the set itself."""

    name: str | None
    documents: list[tuple[Row, dict[str, Any]]]
    issues: list[Issue]
    row_issues: list[tuple[Row, Issue]]  # placeholders a row cannot fill


def is_set(document: Any) -> bool:
    return isinstance(document, dict) and document.get("kind") == SET_KIND


def expand(document: Mapping[str, Any], read_file: ReadFile) -> Expansion:
    """Expand one `kind: CouponSet` document (already parsed). Problems of the set envelope, its rows or its
    placeholders are issues located in the set document; the expanded documents are validated by the caller."""
    issues: list[Issue] = []
    name = document.get("name")
    set_name = name if isinstance(name, str) and NAME_PATTERN.fullmatch(name) else None
    if name is None:
        issues.append(Issue(("name",), "required field is missing: the set's name (plans group by it)"))
    elif set_name is None:
        issues.append(
            Issue(("name",), "must be 1–64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit")
        )
    for key in document:
        if key not in SET_FIELDS:
            issues.append(
                Issue((key,), f"unknown field in a {SET_KIND} (expected one of {', '.join(SET_FIELDS)})", at_key=True)
            )
    template = document.get("template")
    if not isinstance(template, dict):
        issues.append(Issue(("template",), "required: a ShopCoupon or ProductCoupon document with {placeholders}"))
    rows = _rows(document, read_file, issues)
    axes = _matrix(document.get("matrix"), issues)
    if rows is None and axes is None and not any(i.loc[:1] in (("rows",), ("csv",), ("matrix",)) for i in issues):
        issues.append(Issue((), f"a {SET_KIND} needs matrix, rows or csv"))
    if issues or not isinstance(template, dict):
        return Expansion(set_name, [], issues, [])
    size = len(rows or [{}])
    for axis in (axes or {}).values():
        size *= len(axis)
    if size > MAX_SET_SIZE:
        return Expansion(
            set_name,
            [],
            [Issue((), f"the set expands to {size:,} coupons, more than {MAX_SET_SIZE:,}; split it into several sets")],
            [],
        )
    documents: list[tuple[Row, dict[str, Any]]] = []
    reported: set[tuple[Loc, str]] = set()
    row_issues: list[tuple[Row, Issue]] = []
    for number, values in enumerate(_combinations(rows or [{}], axes or {}), start=1):
        row = Row(number, values)
        missing: list[tuple[Loc, str]] = []
        expanded = _substitute(template, values, ("template",), missing)
        for loc, message in missing:
            if (loc, message) not in reported:  # once per template field, not once per row
                reported.add((loc, message))
                row_issues.append((row, Issue(loc, message)))
        if not missing:
            documents.append((row, expanded))
    return Expansion(set_name, documents if not row_issues else [], issues, row_issues)


def _rows(document: Mapping[str, Any], read_file: ReadFile, issues: list[Issue]) -> list[dict[str, Scalar]] | None:
    inline, path = document.get("rows"), document.get("csv")
    if inline is not None and path is not None:
        issues.append(Issue(("csv",), "use rows or csv, not both"))
        return None
    if path is not None:
        if not isinstance(path, str) or not path:
            issues.append(Issue(("csv",), "expected a file name relative to this manifest, e.g. stores.csv"))
            return None
        return _csv_rows(path, read_file, issues)
    if inline is None:
        return None
    if not isinstance(inline, list) or not inline:
        issues.append(Issue(("rows",), "expected a non-empty list of mappings (one per coupon)"))
        return None
    out: list[dict[str, Scalar]] = []
    for i, item in enumerate(inline):
        if not isinstance(item, dict) or not item:
            issues.append(Issue(("rows", i), "expected a mapping of placeholder values, e.g. {threshold: 100}"))
            continue
        out.append(_values(item, ("rows", i), issues))
    return out


def _csv_rows(path: str, read_file: ReadFile, issues: list[Issue]) -> list[dict[str, Scalar]] | None:
    try:
        text = read_file(path).decode("utf-8-sig")
    except OSError as exc:
        issues.append(Issue(("csv",), f"cannot read {path}: {exc.strerror or exc}"))
        return None
    except UnicodeDecodeError as exc:
        issues.append(Issue(("csv",), f"{path} is not UTF-8 text (byte {exc.start})"))
        return None
    reader = csv.reader(io.StringIO(text))
    lines = [line for line in reader if any(cell.strip() for cell in line)]
    if len(lines) < 2:
        issues.append(Issue(("csv",), f"{path}: expected a header line and at least one row"))
        return None
    header = [cell.strip() for cell in lines[0]]
    bad = [h for h in header if not VARIABLE.fullmatch(h)]
    if bad or len(set(header)) != len(header):
        issues.append(
            Issue(
                ("csv",),
                f"{path}: header names must be distinct lower-case identifiers "
                f"(a-z, 0-9, _), got {', '.join(map(repr, bad or header))}",
            )
        )
        return None
    out: list[dict[str, Scalar]] = []
    for number, line in enumerate(lines[1:], start=2):
        if len(line) != len(header):
            issues.append(Issue(("csv",), f"{path}: line {number} has {len(line)} cells, the header has {len(header)}"))
            continue
        # A cell that is a plain integer is an integer (money, counts); everything else is text.
        out.append({h: int(c) if _INTEGER.fullmatch(c.strip()) else c for h, c in zip(header, line, strict=True)})
    return out if not any(i.loc == ("csv",) for i in issues) else None


def _matrix(matrix: Any, issues: list[Issue]) -> dict[str, list[dict[str, Scalar]]] | None:
    if matrix is None:
        return None
    if not isinstance(matrix, dict) or not matrix:
        issues.append(
            Issue(
                ("matrix",),
                "expected a mapping of axis name to a list of values, e.g. {threshold: [100, 200], discount: [10, 20]}",
            )
        )
        return None
    axes: dict[str, list[dict[str, Scalar]]] = {}
    for axis, items in matrix.items():
        if not isinstance(axis, str) or not VARIABLE.fullmatch(axis):
            issues.append(Issue(("matrix", axis), "an axis name is a lower-case identifier (a-z, 0-9, _)", at_key=True))
            continue
        if not isinstance(items, list) or not items:
            issues.append(Issue(("matrix", axis), "expected a non-empty list of values"))
            continue
        values: list[dict[str, Scalar]] = []
        for i, item in enumerate(items):
            # A mapping item sets several placeholders at once (a ladder rung: {threshold: 100, discount: 20}).
            values.append(_values(item if isinstance(item, dict) else {axis: item}, ("matrix", axis, i), issues))
        axes[axis] = values
    return axes


def _values(item: Mapping[Any, Any], loc: Loc, issues: list[Issue]) -> dict[str, Scalar]:
    out: dict[str, Scalar] = {}
    for key, value in item.items():
        if not isinstance(key, str) or not VARIABLE.fullmatch(key):
            issues.append(
                Issue((*loc, str(key)), "a placeholder name is a lower-case identifier (a-z, 0-9, _)", at_key=True)
            )
        elif not isinstance(value, str | int | bool) or isinstance(value, float):
            issues.append(Issue((*loc, key), "a placeholder value is a string, an integer or true/false"))
        else:
            out[key] = value
    return out


def _combinations(
    rows: list[dict[str, Scalar]], axes: Mapping[str, list[dict[str, Scalar]]]
) -> Iterator[dict[str, Scalar]]:
    for row in rows:
        for combo in itertools.product(*axes.values()):
            values = dict(row)
            for part in combo:
                values.update(part)
            yield values


def _substitute(value: Any, values: Mapping[str, Scalar], loc: Loc, missing: list[tuple[Loc, str]]) -> Any:
    if isinstance(value, str):
        if "{" not in value:
            return value
        whole = PLACEHOLDER.fullmatch(value)
        if whole is not None:
            return _value(whole, values, loc, missing, text=False)
        return PLACEHOLDER.sub(lambda m: str(_value(m, values, loc, missing, text=True)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, values, (*loc, k), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values, (*loc, i), missing) for i, v in enumerate(value)]
    return value


def _value(
    match: re.Match[str], values: Mapping[str, Scalar], loc: Loc, missing: list[tuple[Loc, str]], *, text: bool
) -> Scalar:
    var, factor = match.group(1), match.group(2)
    if var not in values:
        missing.append((loc, f"unknown placeholder {{{var}}} (this row defines {', '.join(values) or 'nothing'})"))
        return match.group(0)
    value = values[var]
    if factor is not None:
        if isinstance(value, bool) or not isinstance(value, int):
            missing.append((loc, f"{{{var}*{factor}}} needs an integer, got {value!r}"))
            return match.group(0)
        value = value * int(factor)
    if text and isinstance(value, bool):
        return "true" if value else "false"
    return value
