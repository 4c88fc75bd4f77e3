"""Coupon codes from a file in git (issue 17 item 3, decision D35): `codes_file: codes/d11.txt` on a stock.

A stock with `coupon_code_mode: UPLOAD` has no codes until they are uploaded (reference B.4, B.1 "upload codes").
Its `codes_file` (required there, refused on any other mode) names a text file relative to the manifest, inside the
project root: one code per line, blank lines and `#` comments ignored. Each code is 1..40 characters of digits,
letters, `_` and `-`, unique in the file [D doc 4016434668]; the file holds at most the stock's `max_count` codes.
A problem names the codes file's LINE, never the code itself: codes are secrets like the coupons they stand for.

The normalised body holds, in place of the path, a reference with counts and digests only:
`{"$codes": {"path": <root-relative POSIX path>, "sha256": <the file's>, "count": n, "batch_size": 200,
"batches": [<sha256 of each batch>, ...]}}`; the planner turns it into `product.stock.upload_codes` calls whose
payloads are references too (`plan/code_calls.py`), and the provider reads the codes at send time
(`providers/wechatpay_codes.py`). A batch's digest is the sha256 of its codes joined by "\n" (`batch_digest`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from reconciler.manifest.issues import Issue, Loc

CODES_FIELD = "codes_file"
CODES_KEY = "$codes"  # the normalised form of a codes file (decision D35)
BATCH_SIZE = 200  # reference B.4 [D doc 4016434668]: at most 200 codes per upload call
CODE_MAX_CHARS = 40  # [D doc 4016434668]: a code is at most 40 characters
CODE_PATTERN = re.compile(r"[0-9A-Za-z_-]{1,40}")  # [D doc 4016434668]: digits, letters, `_`, `-`
MAX_CODES_FILE_BYTES = 64 * 1024 * 1024  # our default (reference H.2): ~1.5 million codes of 40 characters
MAX_LISTED_LINES = 5  # how many line numbers one problem lists
ALLOWED = "a text file inside the project, one code per line (1..40 of 0-9 A-Z a-z _ -), no duplicates"


def parse_codes(data: bytes) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """The codes of a codes file, in file order, and its problems as (what, line numbers): never the codes."""
    codes: list[str] = []
    bad: list[int] = []
    too_long: list[int] = []
    duplicate: list[int] = []
    first_line: dict[str, int] = {}
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [("is not UTF-8 text", [])]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if len(line) > CODE_MAX_CHARS and CODE_PATTERN.fullmatch(line[:CODE_MAX_CHARS]):
            too_long.append(number)
            continue
        if not CODE_PATTERN.fullmatch(line):
            bad.append(number)
            continue
        if line in first_line:
            duplicate.append(number)
            continue
        first_line[line] = number
        codes.append(line)
    problems: list[tuple[str, list[int]]] = []
    if bad:
        problems.append(("has codes with characters other than 0-9 A-Z a-z _ - (or spaces)", bad))
    if too_long:
        problems.append((f"has codes over {CODE_MAX_CHARS} characters", too_long))
    if duplicate:
        problems.append(("repeats codes of earlier lines (a code must be unique)", duplicate))
    return codes, problems


def batches(codes: Sequence[str], size: int = BATCH_SIZE) -> Iterator[Sequence[str]]:
    for start in range(0, len(codes), size):
        yield codes[start : start + size]


def batch_digest(batch: Sequence[str]) -> str:
    """The sha256 of one batch: its codes joined by a newline (what the plan names and the provider checks)."""
    return hashlib.sha256("\n".join(batch).encode("ascii")).hexdigest()


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:MAX_LISTED_LINES])
    more = len(numbers) - MAX_LISTED_LINES
    word = "line" if len(numbers) == 1 else "lines"
    return f" ({word} {shown}{f' and {more:,} more' if more > 0 else ''})" if numbers else ""


def reference(path: str, data: bytes, codes: Sequence[str]) -> dict[str, Any]:
    return {
        CODES_KEY: {
            "path": path,
            "sha256": hashlib.sha256(data).hexdigest(),
            "count": len(codes),
            "batch_size": BATCH_SIZE,
            "batches": [batch_digest(b) for b in batches(codes)],
        }
    }


def resolve_code_files(body: dict[str, Any], folder: Path, root: Path, files: dict[str, bytes]) -> list[Issue]:
    """Check every stock's `codes_file` and replace it, in place, by its `$codes` reference; the problems located at
    the field (`spec.stocks.main.codes_file`). `files` records the bytes read (the manifest cache and the plan's
    digest follow the file's content, like an image's); they stay in memory and are never written anywhere."""
    issues: list[Issue] = []
    stocks = body.get("stocks")
    if not isinstance(stocks, dict):
        return issues
    for name, stock in stocks.items():
        if not isinstance(stock, dict):
            continue
        mode = stock.get("coupon_code_mode")
        where: Loc = ("spec", "stocks", name, CODES_FIELD)
        if CODES_FIELD not in stock:
            if mode == "UPLOAD":
                issues.append(
                    Issue(
                        ("spec", "stocks", name, "coupon_code_mode"),
                        "coupon_code_mode UPLOAD needs codes_file: the stock has no codes until they are uploaded "
                        f"(decision D35); {ALLOWED}",
                    )
                )
            continue
        if mode != "UPLOAD":
            issues.append(
                Issue(where, f"codes_file is for coupon_code_mode UPLOAD only (this stock has {mode})", at_key=True)
            )
            continue
        issue = _resolve(stock, name, folder, root, files)
        if issue is not None:
            issues.append(Issue(where, issue))
    return issues


def _resolve(stock: dict[str, Any], name: str, folder: Path, root: Path, files: dict[str, bytes]) -> str | None:
    written = str(stock[CODES_FIELD])
    shown = f"codes file {written!r}"
    root = root.resolve()  # here, not per coupon: only a stock naming a codes file needs it
    path = (folder / written).resolve()
    if not path.is_relative_to(root):
        return f"{shown} lies outside the project root {root} (symlinks included); {ALLOWED}"
    try:
        if not path.is_file():
            raise FileNotFoundError(written)
        with path.open("rb") as handle:
            data = handle.read(MAX_CODES_FILE_BYTES + 1)
    except OSError:
        return f"{shown} does not exist (relative to the manifest's folder); {ALLOWED}"
    if len(data) > MAX_CODES_FILE_BYTES:
        return f"{shown} is over {MAX_CODES_FILE_BYTES:,} bytes (our limit, reference H.2)"
    codes, problems = parse_codes(data)
    if problems:
        return "; ".join(f"{shown} {what}{_lines(lines)}" for what, lines in problems)
    if not codes:
        return f"{shown} holds no codes"
    rule = stock.get("stock_send_rule")
    max_count = rule.get("max_count") if isinstance(rule, dict) else None
    if isinstance(max_count, int) and len(codes) > max_count:
        return (
            f"{shown} holds {len(codes):,} codes, more than the stock's max_count of {max_count:,} "
            f"(stocks.{name}.stock_send_rule.max_count)"
        )
    files[written] = data
    stock[CODES_FIELD] = reference(path.relative_to(root).as_posix(), data, codes)
    return None


REFERENCE_DOC = """
## Coupon codes from a file (decision D35)

A stock with `coupon_code_mode: UPLOAD` names a file of codes, relative to the manifest and inside the project root:

```yaml
  stocks:
    main:
      coupon_code_mode: UPLOAD
      codes_file: ../codes/d11.txt      # one code per line; blank lines and # comments ignored
```

`codes_file` is required with `UPLOAD` and refused with any other mode. `validate` checks offline: each code is
1..40 characters of `0-9 A-Z a-z _ -`, no code repeats, and the file holds at most the stock's `max_count` codes;
problems name the codes file's lines, never the codes. The plan shows counts and a digest only
(`+ stocks.main.codes = 50,000 codes in 250 batches (sha256 9c1e4f…)`) and one `product.stock.upload_codes` call per
batch of 200 (reference B.4); apply reads the codes from the file at send time (a file changed since the plan is
refused: re-run plan) and records each landed batch at once, so a resumed apply neither repeats nor skips a batch.
Codes cannot be deleted upstream: appending codes uploads the new batches; changing or removing codes already
uploaded is blocked (declare a new stock name for a new set of codes). No code is ever written to a plan, log,
state or history: they hold counts and sha256 digests.
"""
