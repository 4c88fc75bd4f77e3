"""A codes file is parsed once per content, not once per batch (decision D35; the upload of n codes used to parse
the whole file for each of its n/200 batches): `planned_batch` still reads the file for every batch and refuses a
batch whose codes changed since the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import UpstreamError
from reconciler.manifest.codes import batch_digest
from reconciler.providers.wechatpay_codes import _parsed, planned_batch

CODES = [f"Parsed{i:06d}" for i in range(1_000)]


def payload(index: int, codes: list[str]) -> dict[str, Any]:
    part = codes[index * 200 : (index + 1) * 200]
    return {"file": "codes/a.txt", "batch": index, "batch_size": 200, "sha256": batch_digest(part), "count": len(part)}


def test_the_batches_of_one_file_share_one_parse_and_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    (tmp_path / "codes").mkdir()
    path = tmp_path / "codes" / "a.txt"
    path.write_text("# codes\n" + "\n".join(CODES) + "\n", encoding="utf-8")
    _parsed.cache_clear()
    batches = [planned_batch(tmp_path, payload(i, CODES)) for i in range(5)]
    assert [b[0] for b in batches] == [CODES[i * 200] for i in range(5)]
    assert [code for b in batches for code in b] == CODES
    info = _parsed.cache_info()
    assert (info.misses, info.hits) == (1, 4)

    path.write_text("\n".join(reversed(CODES)) + "\n", encoding="utf-8")  # changed since the plan
    with pytest.raises(UpstreamError, match=r"batch 2 of codes file codes/a\.txt changed since the plan"):
        planned_batch(tmp_path, payload(1, CODES))
    assert _parsed.cache_info().misses == 2
