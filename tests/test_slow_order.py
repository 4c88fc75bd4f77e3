"""The order the slow files are handed to the xdist workers (tests/conftest.py) names files that exist: a renamed or
deleted file would silently fall back to the end of the run."""

from __future__ import annotations

from tests.conftest import LONGEST_FIRST, SLOW_DIRECTORIES, TESTS


def test_every_listed_slow_file_exists_once_in_a_slow_directory() -> None:
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
    for name in LONGEST_FIRST:
        assert (TESTS / name).is_file(), name
        assert name.split("/")[0] in SLOW_DIRECTORIES, name
