"""Read `policies.yaml`: YAML with positions like manifests; every problem as `file:line:col: field.path: message`
(a ManifestError, exit 1). Reads one file; the rest of the engine is pure."""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

import yaml_rs
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from reconciler.errors import Diagnostic, ManifestError
from reconciler.manifest import bounds
from reconciler.manifest.base import Loc
from reconciler.manifest.document import model_at
from reconciler.manifest.positions import compose, format_loc, locate, syntax_error
from reconciler.policy.document import PolicyDocument
from reconciler.policy.model import Freeze, Policy, Rule, Scope

POLICY_FILE = "policies.yaml"


def load_policy(path: Path, display: str) -> Policy:
    """The policy in `path` (shown as `display`), or ManifestError with every problem located."""
    try:
        raw = bounds.read_limited(path)
    except bounds.FileTooLarge as exc:
        raise ManifestError([Diagnostic(display, 1, 1, str(exc))]) from None
    except OSError as exc:
        raise ManifestError([Diagnostic(display, 1, 1, f"cannot read the policy file: {exc.strerror}")]) from None
    text = raw.decode("utf-8-sig", errors="replace")
    over = bounds.problem(text, raw)
    if over is not None:
        raise ManifestError([Diagnostic(display, over.line, over.col, over.message)])
    try:
        data = yaml_rs.loads(text, parse_datetime=False)
    except yaml_rs.YAMLDecodeError as exc:
        (line, col), message = syntax_error(text, str(exc))
        raise ManifestError([Diagnostic(display, line, col, message)]) from None
    if data is None:
        data = {}
    try:
        document = PolicyDocument.model_validate(data)
    except ValidationError as exc:
        nodes = compose(text)
        diagnostics = []
        for err in exc.errors(include_url=False):
            loc, message, at_key = _translate(err)
            line, col = locate(nodes[0], loc, at_key) if nodes else (1, 1)
            diagnostics.append(Diagnostic(display, line, col, message, field=format_loc(loc) or None))
        raise ManifestError(diagnostics) from None
    nodes = compose(text)
    rules = tuple(
        Rule(
            id=r.id,
            kind=r.kind,
            message=r.message,
            severity=r.severity,
            limit=tuple(r.brand_ids)
            if r.brand_ids is not None
            else next(
                (getattr(r, p) for p in ("max_fen", "max_percent", "max", "days") if getattr(r, p) is not None), None
            ),
            scope=Scope(tuple(r.scope.kinds or ()) if r.scope else (), tuple(r.scope.files or ()) if r.scope else ()),
            line=locate(nodes[0], ("rules", i), False)[0] if nodes else 1,
        )
        for i, r in enumerate(document.rules)
    )
    freezes = tuple(Freeze(f.name, f.start, f.end, tuple(f.allow), f.reason or "") for f in document.freezes)
    return Policy(display, rules, freezes, hashlib.sha256(raw).hexdigest())


def _translate(err: ErrorDetails) -> tuple[Loc, str, bool]:
    """(where, message, point at the key) for one pydantic error, worded like the manifest loader's."""
    loc: Loc = tuple(err["loc"])
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    value = err.get("input")
    if kind == "missing":
        return loc, "required field is missing", False
    if kind == "extra_forbidden":
        model = model_at(PolicyDocument, loc[:-1])
        known = list(model.model_fields) if model is not None else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return loc, f"unknown field {loc[-1]!r}{hint}; known: {', '.join(known)}", True
    if kind == "literal_error":
        return loc, f"must be one of {ctx.get('expected')}, got {value!r}", False
    if kind == "int_type":
        return loc, f"expected an integer, got {value!r}", False
    if kind == "string_type":
        return loc, f"expected a string, got {value!r}", False
    if kind in ("list_type",):
        return loc, f"expected a list, got {value!r}", False
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return loc, f"expected a mapping, got {value!r}", False
    if kind == "greater_than_equal":
        return loc, f"must be at least {ctx['ge']}, got {value!r}", False
    if kind == "less_than_equal":
        return loc, f"must be at most {ctx['le']}, got {value!r}", False
    if kind == "string_pattern_mismatch":
        return loc, f"{value!r} does not match {ctx.get('pattern')}", False
    if kind == "string_too_short":
        return loc, "must not be empty", False
    # Model-level checks (a rule's parameter, a freeze's order): the message is ours already.
    return tuple(p for p in loc if p != "function-after"), err["msg"].removeprefix("Value error, "), False
