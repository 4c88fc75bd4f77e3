"""The bad-manifest corpus: every case under tests/bad_manifests/ must fail with exactly its expected.txt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent.parent / "bad_manifests"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
REPO = Path(__file__).resolve().parents[2]


def test_corpus_is_large_enough() -> None:
    """The corpus holds at least 40 cases, each with an expected.txt and at least one manifest file."""
    assert len(CASES) >= 40
    for case in CASES:
        assert (CORPUS / case / "expected.txt").is_file(), case
        assert any(p.suffix in (".yaml", ".yml") for p in (CORPUS / case).rglob("*")), case


@pytest.mark.parametrize("case", CASES)
def test_bad_manifest_case(case: str) -> None:
    """`couponctl validate .` in the case directory exits 1 and prints exactly the expected lines, no traceback."""
    directory = CORPUS / case
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "."],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    expected = (directory / "expected.txt").read_text(encoding="utf-8")
    assert "Traceback" not in done.stderr
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == expected.splitlines()
