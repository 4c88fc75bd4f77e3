"""Stores of a SPECIFIC stock (issue 17 item 2, decision D34): the offline checks, their locations, the sorted ids
the normalised body holds, and the stores file keying the manifest cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from reconciler.manifest.cache import ManifestCache
from reconciler.manifest.stores import parse_store_file
from tests.manifest.test_images import DOC

SCOPE_LINE = "    store_scope: ALL\n"


def project(tmp_path: Path, stock_lines: str) -> Path:
    assert SCOPE_LINE in DOC
    manifest = tmp_path / "manifests" / "coffee.yaml"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(DOC.replace(SCOPE_LINE, stock_lines), encoding="utf-8")
    return manifest


def stores_file(tmp_path: Path, text: str, name: str = "stores/sh.txt") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def errors(tmp_path: Path) -> str:
    with pytest.raises(ManifestError) as caught:
        load_manifests([tmp_path / "manifests"], root=tmp_path)
    return str(caught.value)


def test_inline_stores_are_sorted_in_the_body(tmp_path: Path) -> None:
    project(tmp_path, '    store_scope: SPECIFIC\n    stores: ["300", "100", "200"]\n')
    loaded = load_manifests([tmp_path / "manifests"], root=tmp_path)
    stock = loaded.coupons[0].body["stocks"]["main"]
    assert stock["stores"] == ["100", "200", "300"] and "stores_file" not in stock


def test_a_stores_file_is_read_with_comments_and_blank_lines(tmp_path: Path) -> None:
    stores_file(tmp_path, "# Shanghai\n100000002\n\n100000001  # flagship\n")
    project(tmp_path, "    store_scope: SPECIFIC\n    stores_file: ../stores/sh.txt\n")
    loaded = load_manifests([tmp_path / "manifests"], root=tmp_path)
    stock = loaded.coupons[0].body["stocks"]["main"]
    assert stock["stores"] == ["100000001", "100000002"] and "stores_file" not in stock


def test_specific_without_stores_is_an_error_at_store_scope(tmp_path: Path) -> None:
    project(tmp_path, "    store_scope: SPECIFIC\n")
    message = errors(tmp_path)
    assert "coffee.yaml:27:" in message and "store_scope SPECIFIC needs the stores" in message, message


def test_stores_without_specific_is_an_error(tmp_path: Path) -> None:
    project(tmp_path, '    store_scope: ALL\n    stores: ["100"]\n')
    message = errors(tmp_path)
    assert "coffee.yaml:28:5:" in message and "only with a store_scope SPECIFIC stock, not ALL" in message, message


def test_both_spellings_together_are_an_error(tmp_path: Path) -> None:
    stores_file(tmp_path, "100\n")
    project(tmp_path, '    store_scope: SPECIFIC\n    stores: ["100"]\n    stores_file: ../stores/sh.txt\n')
    assert "either `stores` or `stores_file`, not both" in errors(tmp_path)


def test_bad_and_duplicate_inline_ids_are_located_at_their_item(tmp_path: Path) -> None:
    project(tmp_path, '    store_scope: SPECIFIC\n    stores: ["100", "12a", "100"]\n')
    message = errors(tmp_path)
    assert "store id '12a' is not 1-32 digits" in message, message
    assert "store id '100' is listed twice (first at index 0)" in message, message
    assert "spec.stock.stores[1]" in message or "stores.1" in message or "stores[1]" in message, message


def test_a_stores_file_names_the_lines_of_its_problems(tmp_path: Path) -> None:
    stores_file(tmp_path, "100\nabc\n200\n100\n")
    project(tmp_path, "    store_scope: SPECIFIC\n    stores_file: ../stores/sh.txt\n")
    message = errors(tmp_path)
    assert "coffee.yaml:28:18:" in message, message
    assert "../stores/sh.txt:2: store id 'abc' is not 1-32 digits" in message, message
    assert "../stores/sh.txt:4: store id '100' is listed twice (first on line 1)" in message, message


def test_a_stores_file_outside_the_project_or_missing_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "project"
    outside = stores_file(tmp_path, "100\n", "elsewhere.txt")
    project(root, f"    store_scope: SPECIFIC\n    stores_file: {outside}\n")
    with pytest.raises(ManifestError) as caught:
        load_manifests([root / "manifests"], root=root)
    assert "lies outside the project root" in str(caught.value)
    project(root, "    store_scope: SPECIFIC\n    stores_file: ../stores/none.txt\n")
    with pytest.raises(ManifestError) as caught:
        load_manifests([root / "manifests"], root=root)
    assert "does not exist" in str(caught.value)


def test_an_empty_stores_list_is_refused(tmp_path: Path) -> None:
    stores_file(tmp_path, "# nothing yet\n")
    project(tmp_path, "    store_scope: SPECIFIC\n    stores_file: ../stores/sh.txt\n")
    assert "no store ids" in errors(tmp_path)


def test_the_stores_file_keys_the_manifest_cache(tmp_path: Path) -> None:
    path = stores_file(tmp_path, "100\n200\n")
    project(tmp_path, "    store_scope: SPECIFIC\n    stores_file: ../stores/sh.txt\n")
    cache = ManifestCache(tmp_path / "cache")
    first = load_manifests([tmp_path / "manifests"], root=tmp_path, cache=cache)
    path.write_text("100\n200\n300\n", encoding="utf-8")
    second = load_manifests([tmp_path / "manifests"], root=tmp_path, cache=cache)
    assert first.coupons[0].body["stocks"]["main"]["stores"] == ["100", "200"]
    assert second.coupons[0].body["stocks"]["main"]["stores"] == ["100", "200", "300"]
    assert first.digest != second.digest


def test_parse_store_file() -> None:
    ids, problems = parse_store_file("1\n x \n# c\n\n22 # c\n")
    assert ids == [(1, "1"), (5, "22")]
    assert [line for line, _ in problems] == [2]
