"""The bad-manifest corpus: every case under tests/bad_manifests/ must fail with exactly its expected.txt.

The cases run `couponctl validate .` in-process (tests/inprocess.py: the real entry point, no interpreter start);
a few of them also run as the installed `couponctl` executable, so the console script is covered end to end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.inprocess import couponctl

CORPUS = Path(__file__).resolve().parent.parent / "bad_manifests"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
REPO = Path(__file__).resolve().parents[2]
# One YAML error, one schema error, one error spread over files: what the executable must print byte for byte.
EXECUTABLE_CASES = ["yaml-unclosed-bracket", "kind-unknown", "errors-in-many-files-reported-together"]


def test_corpus_is_large_enough() -> None:
    """The corpus holds at least 40 cases, each with an expected.txt and at least one manifest file."""
    assert len(CASES) >= 40
    for case in CASES:
        assert (CORPUS / case / "expected.txt").is_file(), case
        assert any(p.suffix in (".yaml", ".yml") for p in (CORPUS / case).rglob("*")), case
    assert set(EXECUTABLE_CASES) <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_bad_manifest_case(case: str) -> None:
    """`couponctl validate .` in the case directory exits 1 and prints exactly the expected lines, no traceback."""
    directory = CORPUS / case
    done = couponctl("validate", ".", cwd=directory)
    expected = (directory / "expected.txt").read_text(encoding="utf-8")
    assert "Traceback" not in done.stderr
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == expected.splitlines()


@pytest.mark.parametrize("case", EXECUTABLE_CASES)
def test_bad_manifest_case_with_the_executable(case: str) -> None:
    """The installed `couponctl` console script prints the same lines and exits 1, with a bare environment."""
    directory = CORPUS / case
    bin_dir = Path(sys.executable).parent
    executable = shutil.which("couponctl", path=str(bin_dir))
    assert executable, "the couponctl console script is installed (pip install -e .)"
    done = subprocess.run(
        [executable, "validate", "."],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(REPO), "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "NO_COLOR": "1"},
    )
    expected = (directory / "expected.txt").read_text(encoding="utf-8")
    assert "Traceback" not in done.stderr
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == expected.splitlines()
