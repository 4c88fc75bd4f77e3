"""`couponctl fmt`: the canonical layout of a manifest (or policy) file, text in, text out, comments kept.

Canonical means: keys in the order of the models (the order docs/manifests.md lists them; unknown keys keep their
place after the known ones, validate reports them), two-space indentation, list items indented under their key,
and one quoting rule for strings: plain when YAML reads the plain text back as the same string, double quotes
otherwise (`"120344"`, `"{threshold}"`, `"yes"`). Everything else stays as written: comments, flow or block style,
blank lines, how a time is spelt. ruamel.yaml's round-trip mode does the parsing and the writing (it keeps
comments attached to their keys, which a line-based approach would have to re-invent); it is imported only here.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from typing import Any

from pydantic import BaseModel

from reconciler.manifest.bounds import problem
from reconciler.manifest.document import DOCUMENT_MODELS, model_class
from reconciler.manifest.sets import SET_FIELDS, SET_KIND

# Other YAML files couponctl reads (policies.yaml, issue 18) get the same indentation and quoting, their keys in
# the order written: add their name here with a function that orders a document once their model settles.
KEY_ORDERS: dict[str, Callable[[Any], None]] = {}
# Non-manifest YAML files couponctl reads from the manifest folders (a folder walk for manifests skips them).
OTHER_FILES = frozenset({"policies.yaml", "policies.yml"})


class FormatError(ValueError):
    """The file cannot be formatted (not YAML, or beyond the manifest bounds): left untouched."""


def format_text(text: str, *, file_name: str = "") -> str:
    """The canonical text of one manifest or policy file. Idempotent: format_text(format_text(t)) == format_text(t)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    over = problem(text)
    if over is not None:
        raise FormatError(f"{over.line}:{over.col}: {over.message}")
    yaml = _yaml(YAML)
    try:
        documents = list(yaml.load_all(text))
    except YAMLError as exc:
        raise FormatError(f"YAML syntax error: {str(exc).splitlines()[-1].strip() if str(exc) else exc}") from exc
    if all(document is None for document in documents):
        return text  # only comments (or nothing): ruamel would drop them with the empty documents
    order = KEY_ORDERS.get(file_name.rsplit("/", 1)[-1], _order_document)
    for document in documents:
        order(document)
        _quote(document)
    out = io.StringIO()
    yaml.dump_all(documents, out)
    result = out.getvalue()
    if text.startswith("---") and not result.startswith("---"):
        result = "---\n" + result
    return result


def _yaml(factory: Any) -> Any:
    yaml = factory()  # round-trip
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never re-wrap a long line (an image URL) or a comment
    yaml.preserve_quotes = False
    yaml.allow_duplicate_keys = False
    return yaml


def _order_document(document: Any) -> None:
    if not isinstance(document, dict):
        return
    kind = document.get("kind")
    if kind == SET_KIND:
        _reorder(document, list(SET_FIELDS))
        template = document.get("template")
        if isinstance(template, dict) and template.get("kind") in DOCUMENT_MODELS:
            _order_model(template, DOCUMENT_MODELS[template["kind"]])
    elif isinstance(kind, str) and kind in DOCUMENT_MODELS:
        _order_model(document, DOCUMENT_MODELS[kind])


@cache
def _fields(model: type[BaseModel]) -> tuple[tuple[str, type[BaseModel] | None], ...]:
    return tuple((info.alias or name, model_class(info.annotation)) for name, info in model.model_fields.items())


def _order_model(mapping: Any, model: type[BaseModel]) -> None:
    if not isinstance(mapping, dict):
        return
    fields = _fields(model)
    _reorder(mapping, [key for key, _ in fields])
    for key, inner in fields:
        if inner is None or key not in mapping:
            continue
        value = mapping[key]
        for item in value if isinstance(value, list) else [value]:
            _order_model(item, inner)


def _reorder(mapping: Any, order: list[str]) -> None:
    """Known keys in `order`, then the others as written; ruamel keeps each key's comments with the key."""
    rank = {key: i for i, key in enumerate(order)}
    keys = list(mapping.keys())
    wanted = sorted(keys, key=lambda k: (0, rank[k]) if k in rank else (1, keys.index(k)))
    if wanted == keys:
        return
    for key in wanted:
        mapping.move_to_end(key)


def _quote(value: Any) -> None:
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, FoldedScalarString, LiteralScalarString

    if isinstance(value, dict):
        items: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return
    for key, item in items:
        if isinstance(item, LiteralScalarString | FoldedScalarString):
            continue  # a block scalar (`|`, `>`) is a deliberate layout for long text: kept
        if isinstance(item, str):
            text = str(item)  # drops the original quoting style; the emitter writes a plain str plainly
            value[key] = DoubleQuotedScalarString(text) if _needs_quotes(text) else text
        else:
            _quote(item)


_RESERVED_START = tuple("{[]}&*!|>'\"%@`#,?:-")
# Words YAML 1.1 readers (PyYAML, many editors) take for booleans or null although YAML 1.2 reads them as text.
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})


def _needs_quotes(text: str) -> bool:
    """Whether plain `text` would be read back as something else than this string (or cannot be written plain)."""
    if not text or text != text.strip() or text.startswith(_RESERVED_START) or "\n" in text:
        return True
    if ": " in text or " #" in text or text.endswith(":") or text.lower() in _YAML11_WORDS:
        return True
    from ruamel.yaml.nodes import ScalarNode

    tag = _resolver().resolve(ScalarNode, text, (True, False))
    return not str(getattr(tag, "value", tag)).endswith(":str")


@cache
def _resolver() -> Any:
    from ruamel.yaml.resolver import VersionedResolver

    return VersionedResolver()
