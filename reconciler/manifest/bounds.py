"""The bounds every manifest file must stay within, checked before any YAML parser builds a value from it.

A YAML file can ask a parser for far more work than its size suggests: nine levels of aliases, each repeating the
one before nine times, make a 485-byte file expand to 387 million nodes (a "billion laughs"); thousands of nested
levels crash a recursive parser; a 200 MB file read whole costs a gigabyte of memory. A manifest never needs any of
that, so these limits (our own defaults, documented in docs/configuration.md "Limits of a manifest file") refuse such a
file with one located message, in time proportional to the bytes read before the offending spot:

- `MAX_FILE_BYTES`: a larger file is refused from its size on disk, before it is read.
- `MAX_DEPTH`: nesting of mappings and sequences, counting what aliases bring in.
- `MAX_DOCUMENTS`: documents (`---`) in one file.
- `MAX_ALIAS_NODES`: the nodes that aliases (`*name`, including `<<: *name` merges) repeat in one file, summed; a
  larger file may repeat as many nodes as it writes out itself, so aliases at most double the work of reading it.

`check(text)` is exact: it streams PyYAML's event parser (libyaml when available), which never expands an alias, and
stops at the first limit crossed. It costs about twice a parse, so the loader runs it only when `needs_check(text)`
(a few substring counts) sees something that could cross a limit: an anchor, many document markers, deep indentation
or deep flow nesting. Without those, nesting is bounded by the indentation and by yaml_rs's own flow-depth
limit, and nothing can be repeated.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 10 * 1024 * 1024  # 10 MiB: 10,000 realistic coupons take about 8.6 MB spread over 100 files
MAX_DEPTH = 64  # a manifest nests about 8 levels deep
MAX_DOCUMENTS = 10_000  # documents in one file
MAX_ALIAS_NODES = 100_000  # nodes repeated by aliases in one file, or as many as the file writes out, if more

# Deep block nesting needs deep indentation: each level moves at least one column right (`- - -` two). Searched
# from a newline (a literal prefix: the regex engine skips to each newline at C speed), the first line apart.
_DEEP_INDENT = re.compile(rf"\n[ \t?:-]{{{MAX_DEPTH // 2}}}")
_DEEP_FIRST_LINE = re.compile(rf"[ \t?:-]{{{MAX_DEPTH // 2}}}")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


@dataclass(frozen=True, slots=True)
class BoundsError:
    """The first limit a file crosses: where (1-based line and column) and what to tell the user."""

    line: int
    col: int
    message: str


class FileTooLarge(Exception):
    """A manifest file over MAX_FILE_BYTES; the message says so (str(exc))."""


def read_limited(path: Path) -> bytes:
    """The bytes of `path`, refusing (FileTooLarge) a file over MAX_FILE_BYTES from its size, before reading it.
    Reads at most one byte more than the limit, so a file that grows meanwhile (or a device) is refused too."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        raw = b"" if size > MAX_FILE_BYTES else handle.read(MAX_FILE_BYTES + 1)
    if size > MAX_FILE_BYTES or len(raw) > MAX_FILE_BYTES:
        shown = f"{size:,} bytes" if size > MAX_FILE_BYTES else f"more than {MAX_FILE_BYTES:,} bytes"
        raise FileTooLarge(
            f"file too large: {shown}, over the limit of {MAX_FILE_BYTES:,} bytes per manifest "
            "file (MAX_FILE_BYTES); split it into several files"
        )
    return raw


def problem(text: str, raw: bytes | None = None) -> BoundsError | None:
    """The first limit `text` crosses, or None; the exact check runs only when `needs_check` says it could."""
    return check(text) if needs_check(text, raw) else None


def needs_check(text: str, raw: bytes | None = None) -> bool:
    """Whether `text` (whose UTF-8 bytes are `raw`, when the caller has them) could cross a limit other than the
    file size. Cheap (about 1 ms per 100 KB); false for ordinary manifests."""
    if "&" in text:  # an anchor: only anchored nodes can be repeated by an alias
        return True
    if text.count("---") + text.count("...") >= MAX_DOCUMENTS:
        return True
    if _DEEP_INDENT.search(text) is not None or _DEEP_FIRST_LINE.match(text) is not None:
        return True
    if text.count("[") + text.count("{") <= MAX_DEPTH // 2:
        return False
    # Flow nesting: keep only the brackets, then strip innermost pairs level by level (at C speed). Brackets in
    # strings or comments can only make this say "check" when no check was needed; what they hide from it stays
    # within yaml_rs's own flow limit (255 levels), which refuses the file as a syntax error.
    brackets = (raw if raw is not None else text.encode("utf-8", "surrogatepass")).translate(None, _NOT_BRACKETS)
    for _ in range(MAX_DEPTH // 2):
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if shorter == brackets:
            break
        brackets = shorter
    return brackets != b""


@dataclass(slots=True)
class _Frame:
    anchor: str | None
    nodes: int = 1  # this collection and everything in it, aliases expanded
    height: int = 1  # levels of nesting from this collection down, aliases expanded


def check(text: str) -> BoundsError | None:
    """The first limit `text` crosses, or None. A YAML syntax error is not reported here (the parser reports it
    with its own position): the scan stops there and returns None."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, height) of the node it names
    stack: list[_Frame] = []
    written = repeated = documents = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                anchors.clear()  # anchors never reach across documents
                if documents > MAX_DOCUMENTS:
                    return _at(
                        event,
                        f"too many documents: more than {MAX_DOCUMENTS:,} in one file; split it into several files",
                    )
                continue
            if isinstance(event, yaml.CollectionStartEvent):
                written += 1
                stack.append(_Frame(event.anchor))
                if len(stack) > MAX_DEPTH:
                    return _at(event, _too_deep())
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                frame = stack.pop()
                if frame.anchor is not None:
                    anchors[frame.anchor] = (frame.nodes, frame.height)
                _add_child(stack, frame.nodes, frame.height)
                continue
            if isinstance(event, yaml.ScalarEvent):
                written += 1
                if event.anchor is not None:
                    anchors[event.anchor] = (1, 0)
                _add_child(stack, 1, 0)
            elif isinstance(event, yaml.AliasEvent):
                nodes, height = anchors.get(event.anchor or "", (1, 0))
                repeated += nodes
                if len(stack) + height > MAX_DEPTH:
                    return _at(event, f"alias *{event.anchor} nests the document more than {MAX_DEPTH} levels deep")
                if repeated > max(MAX_ALIAS_NODES, written):
                    return _at(
                        event,
                        f"alias *{event.anchor} repeats too much: aliases in this file expand to more "
                        f"than {max(MAX_ALIAS_NODES, written):,} nodes (an alias bomb?); "
                        "write the repeated values out or use fewer levels of aliases",
                    )
                _add_child(stack, nodes, height)
    except yaml.MarkedYAMLError as exc:  # libyaml stops at 1,000 levels on its own, before we see the 65th
        if "nesting depth" in str(exc.problem) and exc.problem_mark is not None:
            mark = exc.problem_mark
            return BoundsError(mark.line + 1, mark.column + 1, _too_deep())
        return None
    except yaml.YAMLError:
        return None
    return None


def _too_deep() -> str:
    return f"nested too deeply: more than {MAX_DEPTH} levels of mappings and sequences"


def _add_child(stack: list[_Frame], nodes: int, height: int) -> None:
    if stack:
        parent = stack[-1]
        parent.nodes += nodes
        parent.height = max(parent.height, height + 1)


def _at(event: Any, message: str) -> BoundsError:
    mark = event.start_mark
    return BoundsError(mark.line + 1, mark.column + 1, message)
