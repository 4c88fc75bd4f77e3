"""Coupon codes of an UPLOAD stock (issue 17 item 3, decision D35): the offline checks (naming lines of the codes
file, never a code), the `$codes` reference the normalised body holds, and the codes file keying the manifest cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from reconciler.manifest.cache import ManifestCache
from reconciler.manifest.codes import BATCH_SIZE, batch_digest, parse_codes
from tests.manifest.test_images import DOC

MODE_LINE = "    coupon_code_mode: WECHATPAY\n"
SECRET = "Sekret"  # every test code starts with it: no message may contain it


def project(tmp_path: Path, lines: str) -> Path:
    assert MODE_LINE in DOC
    manifest = tmp_path / "manifests" / "coffee.yaml"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(DOC.replace(MODE_LINE, lines), encoding="utf-8")
    return manifest


def codes_file(tmp_path: Path, codes: list[str], name: str = "codes/d11.txt") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Double 11\n" + "\n".join(codes) + "\n", encoding="utf-8")
    return path


def codes(n: int) -> list[str]:
    return [f"{SECRET}{i:05d}" for i in range(n)]


UPLOAD = "    coupon_code_mode: UPLOAD\n    codes_file: ../codes/d11.txt\n"


def errors(tmp_path: Path) -> str:
    with pytest.raises(ManifestError) as caught:
        load_manifests([tmp_path / "manifests"], root=tmp_path)
    message = str(caught.value)
    assert SECRET not in message
    return message


def test_a_codes_file_becomes_a_reference_with_counts_and_digests(tmp_path: Path) -> None:
    listed = codes(450)
    codes_file(tmp_path, listed)
    project(tmp_path, UPLOAD)
    stock = load_manifests([tmp_path / "manifests"], root=tmp_path).coupons[0].body["stocks"]["main"]
    ref = stock["codes_file"]["$codes"]
    assert ref["path"] == "codes/d11.txt" and ref["count"] == 450 and ref["batch_size"] == BATCH_SIZE == 200
    assert ref["batches"] == [batch_digest(listed[:200]), batch_digest(listed[200:400]), batch_digest(listed[400:])]
    assert SECRET not in repr(stock)


def test_upload_without_codes_file_and_codes_file_without_upload_are_errors(tmp_path: Path) -> None:
    project(tmp_path, "    coupon_code_mode: UPLOAD\n")
    assert "coupon_code_mode UPLOAD needs codes_file" in errors(tmp_path)
    codes_file(tmp_path, codes(3))
    project(tmp_path, "    coupon_code_mode: WECHATPAY\n    codes_file: ../codes/d11.txt\n")
    message = errors(tmp_path)
    assert "codes_file is for coupon_code_mode UPLOAD only" in message and "coffee.yaml:" in message


def test_bad_duplicate_and_long_codes_are_reported_by_line_never_by_code(tmp_path: Path) -> None:
    listed = codes(8)
    codes_file(tmp_path, [*listed, listed[2], f"{SECRET} space", f"{SECRET}{'x' * 40}", f"{SECRET}é"])
    project(tmp_path, UPLOAD)
    message = errors(tmp_path)
    assert "repeats codes of earlier lines (a code must be unique) (line 10)" in message, message
    assert "(lines 11, 13)" in message and "over 40 characters (line 12)" in message, message
    assert "spec.stocks.main.codes_file" in message


def test_more_codes_than_max_count_and_a_file_outside_the_root_are_errors(tmp_path: Path) -> None:
    codes_file(tmp_path, codes(20))
    project(tmp_path, UPLOAD)
    manifest = tmp_path / "manifests" / "coffee.yaml"
    manifest.write_text(manifest.read_text().replace("max_count: 1000", "max_count: 10"), encoding="utf-8")
    assert "holds 20 codes, more than the stock's max_count of 10" in errors(tmp_path)
    project(tmp_path, UPLOAD.replace("../codes/d11.txt", "../../outside.txt"))
    assert "lies outside the project root" in errors(tmp_path)


def test_parse_codes_ignores_blank_lines_and_comments() -> None:
    found, problems = parse_codes(b"\xef\xbb\xbf# head\nA-1\n\n  # note\nb_2\r\n")
    assert found == ["A-1", "b_2"] and problems == []


def test_the_codes_file_keys_the_manifest_cache(tmp_path: Path) -> None:
    codes_file(tmp_path, codes(5))
    project(tmp_path, UPLOAD)
    cache = ManifestCache(tmp_path / "cache")
    first = load_manifests([tmp_path / "manifests"], root=tmp_path, cache=cache)
    codes_file(tmp_path, codes(6))
    second = load_manifests([tmp_path / "manifests"], root=tmp_path, cache=cache)
    assert second.coupons[0].body["stocks"]["main"]["codes_file"]["$codes"]["count"] == 6
    assert first.digest != second.digest
    for path in (tmp_path / "cache").rglob("*"):
        assert not path.is_file() or SECRET.encode() not in path.read_bytes()
