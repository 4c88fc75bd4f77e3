"""Positions in manifest text: where each YAML document starts, where a field's node is, and where a syntax error
is, as 1-based (line, column). Only a file with a problem pays for these (PyYAML's composer, C-accelerated when
available); the happy path of the loader needs `document_lines` alone, a scan with regular expressions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from reconciler.manifest.bounds import problem

if TYPE_CHECKING:
    from reconciler.manifest.base import Loc

_MARKER = re.compile(r"^(---|\.\.\.)(?=[ \t]|\r?$)(.*)$", re.MULTILINE)
_CONTENT = re.compile(r"^(?![ \t]*(?:#|\r?$))(?!%)", re.MULTILINE)
_YAML_RS_POSITION = re.compile(r"at line (\d+), column (\d+)")


def syntax_error(text: str, message: str) -> tuple[tuple[int, int], str]:
    """Position and text of a YAML syntax error reported by yaml_rs (PyYAML finds duplicate-key positions)."""
    lines = [line for line in message.splitlines() if line.strip()]
    problem = lines[-1].strip() if lines else message
    match = _YAML_RS_POSITION.search(message)
    if match:
        return (int(match.group(1)), int(match.group(2))), f"YAML syntax error: {problem}"
    duplicate = find_duplicate_key(text)
    if duplicate is not None:
        return duplicate
    return (1, 1), f"YAML syntax error: {problem}"


def find_duplicate_key(text: str) -> tuple[tuple[int, int], str] | None:
    import yaml

    if problem(text) is not None:
        return None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        nodes = list(yaml.compose_all(text, Loader=loader))
    except yaml.YAMLError:
        return None
    stack: list[Any] = list(nodes)
    found: list[tuple[tuple[int, int], str]] = []
    visited: set[int] = set()  # an alias shares its anchor's node: each node is walked once, not once per alias
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        mark = key.start_mark
                        message = f"YAML syntax error: duplicate key {key.value!r}"
                        found.append(((mark.line + 1, mark.column + 1), message))
                    seen.add(key.value)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return min(found) if found else None


def document_lines(text: str) -> list[int]:
    """The 1-based line where each document of a multi-document YAML text starts, by scanning for `---`.

    Cheap (regular expressions over the text, no parsing) and good enough for well-formed manifests;
    the loader falls back to PyYAML when the count of documents found here differs from the parser's.
    An empty document starts at its `---` line.
    """
    line, counted = 1, 0

    def line_of(pos: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, pos)
        counted = pos
        return line

    def first_content(begin: int, end: int) -> int | None:
        found = _CONTENT.search(text, begin, end)
        return found.start() if found is not None and found.start() < end else None

    markers = list(_MARKER.finditer(text))
    starts: list[int] = []
    head = first_content(0, markers[0].start() if markers else len(text))
    if head is not None:
        starts.append(line_of(head))
    for i, marker in enumerate(markers):
        end = markers[i + 1].start() if i + 1 < len(markers) else len(text)
        rest = marker.group(2).strip()
        if marker.group(1) == "---" and rest and not rest.startswith("#"):
            starts.append(line_of(marker.start()))
            continue
        content = first_content(marker.end(), end)
        if content is not None:
            starts.append(line_of(content))
        elif marker.group(1) == "---":
            starts.append(line_of(marker.start()))
    return starts or [1]


def document_lines_from_nodes(text: str, count: int) -> list[int]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if problem(text) is not None:
        return [1] * count
    try:
        lines = [node.start_mark.line + 1 for node in yaml.compose_all(text, Loader=loader)]
    except yaml.YAMLError:
        lines = []
    return (lines + [1] * count)[:count]


def compose(text: str) -> list[Any]:
    """Every document's node tree, or [] when the text has a syntax error or crosses a limit of
    `reconciler.manifest.bounds` (the loader refuses such a file before asking for positions; checked again here
    so that no caller can hand PyYAML an alias bomb)."""
    import yaml

    if problem(text) is not None:
        return []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return list(yaml.compose_all(text, Loader=loader))
    except yaml.YAMLError:
        return []


def locate(node: Any, loc: Loc, at_key: bool) -> tuple[int, int]:
    import yaml

    current = node
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(current, yaml.MappingNode) and isinstance(part, str):
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    current = key if last and at_key else value
                    break
            else:
                break  # a missing field: point at the mapping that should hold it
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            current = current.value[part]
        else:
            break
    mark = current.start_mark
    return mark.line + 1, mark.column + 1


def format_loc(loc: Loc) -> str:
    """`("spec", "stock", "x", 0, "name")` → `spec.stock.x[0].name`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
