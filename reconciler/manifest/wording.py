"""How manifest messages quote what the user wrote: values cut short, "did you mean", plurals. Pure, stdlib only."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any


def shown(value: Any) -> str:
    """repr() of a value for a message, cut short: a megabyte-long scalar is never echoed whole."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text):,} characters)"


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    if len(word) > 200:  # difflib is quadratic: no suggestion for a word no candidate is near anyway
        return ""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
