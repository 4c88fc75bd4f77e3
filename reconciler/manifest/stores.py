"""Store association (issue 17 item 2, decision D34): `stores:` / `stores_file:` on a `store_scope: SPECIFIC` stock.

A stock whose `store_scope` is `SPECIFIC` is usable only in the stores associated with it (reference B.4,
`associate-stores`). The manifest names them inline (`stores: ["100000001", ...]`) or in a file of ids named relative
to the manifest (`stores_file: stores/sh.txt`: one id per line; blank lines and `#` comments ignored), which must lie
inside the project root; its bytes key the manifest cache and the plan's digest like an image file's (D33).

Checks (offline; nothing is sent upstream on bad input), located at the field (`file:line:col`), and for a file at
the file's own line too:
- a `SPECIFIC` stock without stores, or stores on a stock that is not `SPECIFIC`: an error;
- `stores` and `stores_file` together: an error;
- each id: `STORE_ID_PATTERN` (digits, the form the docs' examples show [INF]);
- an id twice: an error (a repeated id is a typo hiding another store);
- at most `limits.PRODUCT_STORES_MAX` ids per stock (our default, reference H.2).

The normalised body (and state) holds `stocks.<name>.stores`: the ids, sorted (decision D34); `stores_file` is not
kept. The create and add-stock requests never carry `stores`: the planner associates them after (plan/store_calls.py).
Stock bundles do not take stores yet (their own batch API, reference B.1, is not implemented).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reconciler.manifest.issues import Issue, Loc

STORE_ID_PATTERN = re.compile(r"[0-9]{1,32}")  # [INF]: WeChat-assigned store ids, digits in every doc example
PRODUCT_STORES_MAX = 50_000  # our default (reference H.2): no documented cap of stores per stock
STORE_FILE_MAX_BYTES = 4 * 1024 * 1024  # our default: a stores file larger than this is refused unread
STORES = "stores"
STORES_FILE = "stores_file"
SPECIFIC = "SPECIFIC"


def _id_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f'a store id must be a string of digits, got {type(value).__name__} (quote it: "{value}")'
    if not STORE_ID_PATTERN.fullmatch(value):
        return f"store id {value!r} is not 1-32 digits (the form WeChat Pay assigns, reference B.4)"
    return None


def parse_store_file(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(line, id) for every id of a stores file, and (line, problem) for every bad line."""
    ids: list[tuple[int, str]] = []
    problems: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        problem = _id_problem(line)
        if problem is None:
            ids.append((number, line))
        else:
            problems.append((number, problem))
    return ids, problems


def resolve_store_files(
    body: dict[str, Any], single: bool, folder: Path, root: Path, files: dict[str, bytes]
) -> list[Issue]:
    """Check and normalise, in place, the stores of every stock of a normalised product body: `stores` becomes the
    sorted ids, `stores_file` is read (into `files`, by its name as written) and dropped. `single`: the manifest wrote
    `stock:` (issues are located there) rather than `stocks:`."""
    issues: list[Issue] = []
    stocks = body.get("stocks")
    if not isinstance(stocks, dict):
        return issues
    for name, stock in stocks.items():
        if isinstance(stock, dict):
            base: Loc = ("spec", "stock") if single else ("spec", "stocks", name)
            issues += _resolve_stock(stock, base, folder, root, files)
    return issues


def _resolve_stock(stock: dict[str, Any], base: Loc, folder: Path, root: Path, files: dict[str, bytes]) -> list[Issue]:
    inline = stock.pop(STORES, None)
    file_name = stock.pop(STORES_FILE, None)
    specific = stock.get("store_scope") == SPECIFIC
    if inline is None and file_name is None:
        if specific:
            return [
                Issue(
                    (*base, "store_scope"),
                    "store_scope SPECIFIC needs the stores: add `stores: [id, ...]` or `stores_file: <path>` "
                    "(a SPECIFIC stock without stores cannot be used anywhere)",
                )
            ]
        return []
    if inline is not None and file_name is not None:
        return [Issue((*base, STORES_FILE), "give either `stores` or `stores_file`, not both", at_key=True)]
    key = STORES if inline is not None else STORES_FILE
    if not specific:
        scope = stock.get("store_scope")
        return [
            Issue(
                (*base, key), f"stores are associated only with a store_scope SPECIFIC stock, not {scope}", at_key=True
            )
        ]
    if inline is not None:
        ids, issues = _inline(inline, (*base, STORES))
    else:
        ids, issues = _from_file(str(file_name), (*base, STORES_FILE), folder, root, files)
    if len(ids) > PRODUCT_STORES_MAX:
        issues.append(Issue((*base, key), f"{len(ids):,} stores, over the {PRODUCT_STORES_MAX:,} a stock may list "
                                          "(our default, reference H.2)"))  # fmt: skip
    if not ids and not issues:
        issues.append(Issue((*base, key), "no store ids: a SPECIFIC stock needs at least one store"))
    if not issues:
        stock[STORES] = sorted(ids)
    return issues


def _inline(values: Any, loc: Loc) -> tuple[list[str], list[Issue]]:
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for i, value in enumerate(values if isinstance(values, list) else []):
        problem = _id_problem(value)
        if problem is not None:
            issues.append(Issue((*loc, i), problem))
        elif value in seen:
            issues.append(Issue((*loc, i), f"store id {value!r} is listed twice (first at index {seen[value]})"))
        else:
            seen[value] = i
    return list(seen), issues


def _from_file(name: str, loc: Loc, folder: Path, root: Path, files: dict[str, bytes]) -> tuple[list[str], list[Issue]]:
    shown = f"stores file {name!r}"
    root = root.resolve()  # here, not per stock: only a stock naming a file needs it
    path = (folder / name).resolve()
    if not path.is_relative_to(root):
        return [], [Issue(loc, f"{shown} lies outside the project root {root} (symlinks included)")]
    try:
        if not path.is_file():
            raise FileNotFoundError(name)
        with path.open("rb") as handle:
            data = handle.read(STORE_FILE_MAX_BYTES + 1)
    except OSError:
        return [], [Issue(loc, f"{shown} does not exist (relative to the manifest's folder)")]
    files[name] = data
    if len(data) > STORE_FILE_MAX_BYTES:
        return [], [Issue(loc, f"{shown} is over {STORE_FILE_MAX_BYTES:,} bytes")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [Issue(loc, f"{shown} is not UTF-8 text")]
    found, problems = parse_store_file(text)
    issues = [Issue(loc, f"{name}:{line}: {problem}") for line, problem in problems]
    seen: dict[str, int] = {}
    for line, value in found:
        if value in seen:
            issues.append(
                Issue(loc, f"{name}:{line}: store id {value!r} is listed twice (first on line {seen[value]})")
            )
        else:
            seen[value] = line
    return list(seen), issues


REFERENCE_DOC = """
## Stores of a SPECIFIC stock (decision D34)

A stock with `store_scope: SPECIFIC` is usable only in the stores associated with it (reference B.4). Name them
inline or in a file of ids (one per line, `#` comments), relative to the manifest and inside the project:

```yaml
  stocks:
    main:
      store_scope: SPECIFIC
      stores_file: ../stores/shanghai.txt     # or: stores: ["100000001", "100000002"]
```

`validate` refuses a SPECIFIC stock without stores, stores on a stock that is not SPECIFIC, both spellings at once,
an id that is not 1-32 digits, an id listed twice (with the file's line), and more than 50,000 ids (our default).
The plan compares the ids with those state last knew upstream (`associated-stores`) and associates or disassociates
the difference in batches of at most 200 ids (reference B.1: the documented maximum per call):
`~ stocks.main.stores = "0 stores" -> "1,200 stores: +1,200 (100000001, 100000002, 100000003, …)"` and one
`product.stock.associate_stores` call per batch; removing 10 ids is one `product.stock.disassociate_stores` call.
Apply records each landed batch at once, so an apply stopped in the middle resumes with the next batch. `drift`
reads `associated-stores` and reports stores changed in the console.
"""
