"""Manifest files → documents → models → DesiredCoupon, with every problem located as FILE:LINE:COL.

Speed matters (10,000 coupons in well under 3 s), so the happy path never computes positions: files are parsed
with the Rust-based `yaml_rs`, documents are located by scanning for `---` lines, and models are validated from
plain Python objects. Only a file that has a problem is parsed again with PyYAML's composer (C-accelerated when
available), whose node marks give each field's line and column.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml_rs

from reconciler.claim_window import claim_window
from reconciler.errors import Diagnostic, ManifestError
from reconciler.manifest import bounds
from reconciler.manifest.cache import ManifestCache
from reconciler.manifest.discovery import discover
from reconciler.manifest.merge_keys import merge_keys
from reconciler.manifest.moves import moved_issues
from reconciler.manifest.positions import (
    compose,
    document_lines,
    document_lines_from_nodes,
    format_loc,
    locate,
    syntax_error,
)
from reconciler.manifest.sets import SET_KIND, expand, is_set
from reconciler.manifest.wording import did_you_mean, shown
from reconciler.resources import NAME_PATTERN, DesiredCoupon, IgnoreRule, Kind, SourceRef, make_address
from reconciler.stocks import field_pattern, ignore_path, normalise_stocks
from reconciler.times import cn_iso

if TYPE_CHECKING:
    from pydantic import ValidationError

    from reconciler.manifest.base import Issue, Loc
    from reconciler.manifest.codes import resolve_code_files
    from reconciler.manifest.document import (
        DOCUMENT_MODELS,
        ShopCouponDocument,
        field_paths,
        guard_of,
    )
    from reconciler.manifest.images import resolve_image_files
    from reconciler.manifest.product_rules import four_byte_issues, product_rules
    from reconciler.manifest.pydantic_errors import translate
    from reconciler.manifest.shop import shop_rules
    from reconciler.manifest.stores import resolve_store_files
    from reconciler.manifest.timeutil import describe


def _import_validation() -> None:
    """Bind the models and rules into this module on first use.

    They are pydantic and everything built on it (~0.2 s of imports), and a run whose files all come from the
    manifest cache never needs them. Every entry point that validates or reports calls this first; binding module
    globals once (rather than importing inside each function) keeps the per-document path free of import
    statements."""
    if "DOCUMENT_MODELS" in globals():
        return
    from pydantic import ValidationError

    from reconciler.manifest import codes, document, images, product_rules, pydantic_errors, shop, stores, timeutil
    from reconciler.manifest.base import Issue

    globals().update(
        ValidationError=ValidationError, Issue=Issue, DOCUMENT_MODELS=document.DOCUMENT_MODELS,
        guard_of=document.guard_of,
        OTHER_KIND_FIELDS=document.OTHER_KIND_FIELDS,
        ShopCouponDocument=document.ShopCouponDocument, field_paths=document.field_paths, model_at=document.model_at,
        four_byte_issues=product_rules.four_byte_issues, product_rules=product_rules.product_rules,
        shop_rules=shop.shop_rules, translate=pydantic_errors.translate, describe=timeutil.describe,
        resolve_image_files=images.resolve_image_files, resolve_store_files=stores.resolve_store_files,
        resolve_code_files=codes.resolve_code_files,
    )  # fmt: skip


_FOUR_BYTE = re.compile("[\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Everything a valid set of manifests declares."""

    coupons: list[DesiredCoupon]  # sorted by address
    warnings: list[Diagnostic]
    files: list[str]  # as displayed in diagnostics
    digest: str  # sha256 over the files' relative paths and contents


@dataclass(slots=True)
class _Pending:
    """A problem whose position is resolved only once, at the end, per file."""

    doc: int | None  # document index in the file; None = the file as a whole
    issue: Issue
    address: str | None
    prefix: Loc = ()  # where the document's fields sit in the YAML: ("template",) for a coupon set's rows


@dataclass(slots=True)
class _File:
    display: str
    path: Path
    text: str = ""
    doc_lines: list[int] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
    position: tuple[int, int] | None = None  # for file-level problems (syntax errors)
    coupons: list[tuple[DesiredCoupon, int]] = field(default_factory=list)  # with their document index
    has_four_byte: bool = False  # any character beyond U+FFFF in the file (B.11); checked per document only then
    extra_files: dict[str, bytes] = field(default_factory=dict)  # CSV files of coupon sets, by path as written
    root: Path | None = None  # the project root: image files must lie inside it (decision D33)


def load_manifests(
    paths: Sequence[str | Path], *, root: Path | None = None, cache: ManifestCache | None = None
) -> LoadResult:
    """Load, validate and normalise every manifest under `paths`; raise ManifestError with ALL problems.

    With a `cache`, a file whose bytes (and couponctl's code) are unchanged since it last loaded cleanly is not
    parsed or validated again (see `reconciler.manifest.cache`)."""
    root = (root or Path.cwd()).resolve()
    diagnostics: list[Diagnostic] = []
    files = discover(paths, diagnostics)
    coupons: list[DesiredCoupon] = []
    loaded: list[_File] = []
    digest_parts: list[tuple[str, bytes]] = []
    # The bytes of each file whose text is not kept (served from the cache, or loaded without a problem: at 100,000
    # coupons the decoded texts were ~170 MB of the peak); decoded again only for a cross-file problem's position.
    raw_of: dict[int, bytes] = {}
    for display, path in files:
        entry = _File(display=display, path=path, root=root)
        loaded.append(entry)
        try:
            raw = bounds.read_limited(path)  # a file over the size limit is refused before it is read
        except OSError as exc:
            diagnostics.append(Diagnostic(display, 1, 1, f"cannot read file: {exc.strerror}"))
            continue
        except bounds.FileTooLarge as exc:
            diagnostics.append(Diagnostic(display, 1, 1, str(exc)))
            continue
        digest_parts.append((_relative(path, root), raw))
        cached = None if cache is None else cache.get(display, raw, path.parent)
        if cached is not None:
            entry.coupons, entry.extra_files = cached
            raw_of[id(entry)] = raw
        else:
            _load_file(entry, raw)
            if not entry.pending:
                entry.text = ""
                raw_of[id(entry)] = raw  # the same object digest_parts holds: no copy
                if cache is not None:
                    cache.put(display, raw, entry.coupons, entry.extra_files)
        for name, data in sorted(entry.extra_files.items()):  # a set's CSV is part of what the plan was made from
            digest_parts.append((_relative(path.parent / name, root), data))
        coupons.extend(coupon for coupon, _ in entry.coupons)

    by_address: dict[str, tuple[_File, int, DesiredCoupon]] = {}
    by_out_coupon_id: dict[str, DesiredCoupon] = {}
    for entry in loaded:
        for coupon, doc_index in entry.coupons:
            first = by_address.get(coupon.address)
            if first is not None or (coupon.upstream_key is not None and coupon.upstream_key in by_out_coupon_id):
                _import_validation()  # for Issue
            if first is not None:
                entry.pending.append(
                    _Pending(
                        doc_index,
                        Issue(
                            ("name",),
                            f"duplicate address {coupon.address}: already declared at {first[2].source}",
                            at_key=False,
                        ),
                        coupon.address,
                    )
                )
                continue
            by_address[coupon.address] = (entry, doc_index, coupon)
            key = coupon.upstream_key
            if key is not None:
                other = by_out_coupon_id.get(key)
                if other is not None:
                    loc: Loc = ("spec", "out_coupon_id") if key != coupon.name else ("name",)
                    entry.pending.append(
                        _Pending(
                            doc_index,
                            Issue(
                                loc,
                                f"duplicate out_coupon_id {key!r}: already used by {other.address} at {other.source}",
                            ),
                            coupon.address,
                        )
                    )
                else:
                    by_out_coupon_id[key] = coupon

    for (entry, doc_index), coupon, issue in moved_issues([((e, i), c) for e in loaded for c, i in e.coupons]):
        entry.pending.append(_Pending(doc_index, issue, coupon.address))
    for entry in loaded:
        if entry.pending and id(entry) in raw_of:  # positions for a cross-file problem in a file not kept as text
            entry.text = raw_of[id(entry)].decode("utf-8-sig")
            if not entry.doc_lines:
                entry.doc_lines = document_lines(entry.text)
        diagnostics.extend(_resolve(entry))
    errors = [d for d in diagnostics if d.severity == "error"]
    if not files and not errors:
        diagnostics.append(Diagnostic(str(paths[0]) if paths else ".", 1, 1, "no manifest files (*.yaml, *.yml) found"))
        errors = diagnostics
    if errors:
        raise ManifestError(diagnostics)

    hasher = hashlib.sha256()
    for rel, raw in sorted(digest_parts):
        hasher.update(rel.encode("utf-8") + b"\0" + str(len(raw)).encode("ascii") + b"\0" + raw)
    coupons.sort(key=lambda c: c.address)
    warnings = sorted((d for d in diagnostics if d.severity == "warning"), key=Diagnostic.sort_key)
    return LoadResult(coupons=coupons, warnings=warnings, files=[d for d, _ in files], digest=hasher.hexdigest())


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _load_file(entry: _File, raw: bytes) -> None:
    """Parse one file and validate its documents; problems are queued on `entry.pending`."""
    _import_validation()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        entry.pending.append(_Pending(None, Issue((), f"not UTF-8 text (byte {exc.start})"), None))
        return
    entry.text = text
    entry.has_four_byte = not text.isascii() and _FOUR_BYTE.search(text) is not None
    over = bounds.problem(text, raw)  # alias bombs, deep nesting, too many documents: before any parser expands them
    if over is not None:
        entry.position = (over.line, over.col)
        entry.pending.append(_Pending(None, Issue((), over.message), None))
        return
    try:
        parsed = yaml_rs.loads(text, parse_datetime=False)
    except yaml_rs.YAMLDecodeError as exc:
        entry.position, message = syntax_error(text, str(exc))
        entry.pending.append(_Pending(None, Issue((), message), None))
        return
    if "<<" in text:
        parsed = merge_keys(parsed)
    entry.doc_lines = document_lines(text)
    documents = parsed if isinstance(parsed, list) and len(entry.doc_lines) > 1 else [parsed]
    if len(documents) != len(entry.doc_lines):
        entry.doc_lines = document_lines_from_nodes(text, len(documents))
    if all(doc is None for doc in documents):
        entry.pending.append(
            _Pending(
                None, Issue((), "empty manifest file: no documents (each document needs kind, name and spec)"), None
            )
        )
        return
    for index, document in enumerate(documents):
        if document is None:
            continue  # an empty document (e.g. after a trailing `---`) declares nothing
        if isinstance(document, dict) and is_set(document):
            _load_set(entry, index, document)
            continue
        coupon = _load_document(entry, index, document)
        if coupon is not None:
            entry.coupons.append((coupon, index))


def _load_set(entry: _File, index: int, document: dict[str, Any]) -> None:
    """Expand a coupon set and validate every document it yields; a row's problems name the set and the row."""

    def read(name: str) -> bytes:
        data = bounds.read_limited(entry.path.parent / name)
        entry.extra_files[name] = data
        return data

    try:
        expansion = expand(document, read)
    except bounds.FileTooLarge as exc:
        entry.pending.append(_Pending(index, Issue(("csv",), str(exc)), None))
        return
    label = f"set {expansion.name}" if expansion.name else f"set (document {index + 1})"
    entry.pending.extend(_Pending(index, issue, label) for issue in expansion.issues)
    entry.pending.extend(_Pending(index, issue, f"{label}: {row.label}") for row, issue in expansion.row_issues)
    for row, expanded in expansion.documents:
        coupon = _load_document(entry, index, expanded, row=(f"{label}: {row.label}", expansion.name or ""))
        if coupon is not None:
            entry.coupons.append((coupon, index))


def _load_document(entry: _File, index: int, document: Any, row: tuple[str, str] | None = None) -> DesiredCoupon | None:
    """Validate one coupon document; `row` = (label, set name) when it was expanded from a coupon set."""

    def problem(issue: Issue, address: str | None = None) -> None:
        if row is None:
            entry.pending.append(_Pending(index, issue, address))
        else:  # located on the template's line, named by the set and the row that produced it
            entry.pending.append(_Pending(index, issue, row[0], ("template",)))

    if not isinstance(document, dict):
        problem(Issue((), f"a manifest document must be a mapping with kind, name and spec, got {describe(document)}"))
        return None
    kind = document.get("kind")
    if "kind" not in document:
        problem(Issue(("kind",), "required field is missing (ShopCoupon or ProductCoupon)"))
        return None
    if not isinstance(kind, str) or kind not in DOCUMENT_MODELS:
        problem(
            Issue(
                ("kind",),
                f"unknown kind {shown(kind)}: expected ShopCoupon"
                f"{' or ProductCoupon' if row else ', ProductCoupon or CouponSet'}"
                f"{did_you_mean(str(kind), [*DOCUMENT_MODELS, SET_KIND])}",
            )
        )
        return None
    name = document.get("name")
    kind_name: Kind = "ShopCoupon" if kind == "ShopCoupon" else "ProductCoupon"
    address = make_address(kind_name, name) if isinstance(name, str) and NAME_PATTERN.fullmatch(name) else None
    model_cls = DOCUMENT_MODELS[kind]
    try:
        model = model_cls.model_validate(document)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            problem(translate(err, model_cls, kind), address)
        return None

    issues: list[Issue]
    if isinstance(model, ShopCouponDocument):
        issues = shop_rules(model.spec)
        body: dict[str, Any] = {
            "out_coupon_id": model.spec.out_coupon_id or model.name,
            **model.spec.model_dump(exclude_none=True, exclude={"out_coupon_id"}),
        }
        status = model.status
        brand_id = None
    else:
        issues = product_rules(model.spec)
        body = normalise_stocks(model.spec.model_dump(exclude_none=True))  # stock: -> stocks: {main: ...} (D29)
        # image files -> {"$file": {path, sha256, size}}, read into extra_files like a set's CSV (decision D33)
        issues += resolve_image_files(body, entry.path.parent, entry.root or Path.cwd(), entry.extra_files)
        issues += resolve_store_files(  # stores of SPECIFIC stocks (decision D34)
            body, model.spec.stock is not None, entry.path.parent, entry.root or Path.cwd(), entry.extra_files
        )
        # codes files of UPLOAD stocks -> {"$codes": {path, sha256, count, batches}} (decision D35)
        issues += resolve_code_files(body, entry.path.parent, entry.root or Path.cwd(), entry.extra_files)
        if entry.has_four_byte:
            issues += four_byte_issues(body, ("spec",))
        status = "active"
        brand_id = model.brand_id
    rules: list[IgnoreRule] = []
    known = field_paths(type(model.spec))
    for i, rule in enumerate(model.ignore_drift or ()):
        pattern = field_pattern(rule.field)  # `stocks.weekend.remark` is checked as `stocks.*.remark`
        if pattern not in known:
            hint = did_you_mean(pattern, sorted(known))
            if pattern != rule.field:
                hint = hint.replace(".*.", f".{rule.field.split('.')[1]}.", 1)
            issues.append(Issue(("ignore_drift", i, "field"), f"no field {shown(rule.field)} in a {kind} spec{hint}"))
        rules.append(IgnoreRule(path=ignore_path(rule.field), reason=rule.reason))
    failed = False
    for issue in issues:
        problem(issue, address)
        failed = failed or issue.severity == "error"
    if failed:
        return None
    return DesiredCoupon(
        kind=model.kind,
        name=model.name,
        status=status,
        body=body,
        source=SourceRef(entry.display, entry.doc_lines[index], set_name=row[1] if row else None),
        protect=model.protect,
        brand_id=brand_id,
        ignore_drift=tuple(rules),
        moved_from=model.moved.from_ if model.moved is not None else None,
        guard=guard_of(model),
    )


def _resolve(entry: _File) -> list[Diagnostic]:
    """Turn the file's pending problems into located diagnostics (parsing the file for positions only now)."""
    if not entry.pending:
        return []
    nodes: list[Any] | None = None
    out: list[Diagnostic] = []
    for pending in entry.pending:
        issue = pending.issue
        if pending.doc is None:
            line, col = entry.position or (1, 1)
        else:
            if nodes is None:
                nodes = compose(entry.text)
            node = nodes[pending.doc] if pending.doc < len(nodes) else None
            if node is None:
                line, col = entry.doc_lines[pending.doc] if pending.doc < len(entry.doc_lines) else 1, 1
            else:
                line, col = locate(node, (*pending.prefix, *issue.loc), issue.at_key)
        out.append(
            Diagnostic(
                file=entry.display,
                line=line,
                col=col,
                message=issue.message,
                address=pending.address,
                field=format_loc(issue.loc) or None,
                severity=issue.severity,
            )
        )
    return out


def check_time_windows(coupons: Sequence[DesiredCoupon], now: datetime) -> list[Diagnostic]:
    """Claim windows at plan time: one that already ended is an error, one that already started is a warning.

    The rule (where each kind states its window; ended vs started) is `reconciler.claim_window`, shared with the
    planner and the saved-plan expiry check. Shop coupons declared `expired` or `voided` are skipped: their window
    is over by design.
    """
    out: list[Diagnostic] = []
    for coupon in coupons:
        if coupon.kind == "ShopCoupon" and coupon.status in ("expired", "voided"):
            continue
        window = claim_window(coupon.kind, coupon.body)
        verdict = window.verdict(now) if window is not None else None
        if window is None or verdict is None:
            continue
        where = coupon.source
        field = f"spec.{window.path}"
        if verdict == "ended" and window.end is not None:
            out.append(
                Diagnostic(
                    where.file,
                    where.line,
                    where.col,
                    f"the claim window already ended at {cn_iso(window.end)}; a coupon cannot be created for the past",
                    address=coupon.address,
                    field=field,
                )
            )
        elif window.start is not None:
            out.append(
                Diagnostic(
                    where.file,
                    where.line,
                    where.col,
                    f"the claim window already started at {cn_iso(window.start)}",
                    address=coupon.address,
                    field=field,
                    severity="warning",
                )
            )
    return out
