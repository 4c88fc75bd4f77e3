"""Every citation couponctl makes can be looked up in this repository (issue 15, item 4).

A user who reads "(reference A.5)" in a `validate` error, "contract §2.4" in a docstring or a link in docs/ must
find that section or file here: "reference X.Y" and bare section ids (A.5, B.9, F.3, Part E, "checklist E Family 2
item 7") are sections of docs/upstream.md, "contract §N" (and a bare "§N") are sections of docs/contract.md, and a
Markdown link or a repository path names a file that exists. Nothing may point outside the repository (the
original reference and design files, which a user cannot open).

Scanned: reconciler/** (code comments, docstrings and every user-facing string), docs/**, README.md, CHANGELOG.md,
bench/**, and the golden `validate` outputs of tests/bad_manifests (what users are shown).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli import main

REPO = Path(__file__).resolve().parents[2]
UPSTREAM = REPO / "docs" / "upstream.md"
CONTRACT = REPO / "docs" / "contract.md"
TEXT_SUFFIXES = {".py", ".md", ".txt", ".yml", ".yaml", ".toml", ".sh", ".json"}

# The section ids of the original API reference, which hundreds of "reference A.5"-style citations use: every one
# must stay a section of docs/upstream.md so those citations keep resolving.
REQUIRED_UPSTREAM_IDS = (
    ["0", "A", "B", "C", "D", "E", "F", "G", "H"]
    + [f"A.{i}" for i in range(11)]
    + [f"A.4.{i}" for i in range(1, 6)]
    + [f"A.6.{i}" for i in range(1, 8)]
    + [f"B.{i}" for i in range(13)]
    + [f"C.{i}" for i in range(1, 6)]
    + [f"D.{i}" for i in range(1, 4)]
    + ["E.1", "E.2"]
    + [f"F.{i}" for i in range(1, 16)]
    + ["H.1", "H.2", "H.3"]
)
REQUIRED_CONTRACT_IDS = ["1", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "3", "3.1", "4"]

# Text that points outside the repository: the original reference and design files and their folder.
FORBIDDEN = ("wechat-apis", "../shared", "upstream-docs", "shared/reference", "design.md", "design §", "Design §")

SECTION_ID = re.compile(r"(?<![\w./§-])([A-H]\.\d+(?:\.\d+)?)(?![\w]|\.\d)")
# After the word "reference", any letter counts (a bare "X.509" elsewhere is not a citation).
REFERENCE = re.compile(r"\breference (?:Part )?([A-Z](?:\.\d+)*)(?!\w|\.\w)")
PART = re.compile(r"\bPart ([A-H])\b")
CHECKLIST = re.compile(r"\bE[ ,]*Family[ -]?([12])(?:,? items? ([\d\s,\-–]+))?")
SECTION_SIGN = re.compile(r"§\s?(\d+(?:\.\d+)?)(?:\s?[-–]\s?(\d+(?:\.\d+)?))?")
MD_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
REPO_PATH = re.compile(
    r"(?<![\w/.-])((?:docs|reconciler|tests|bench|scripts)/[\w./-]*?\.(?:md|py|sh|toml|yml|yaml|txt))(?![\w/])"
)
ANCHOR = re.compile(r'<a (?:id|name)="([^"]+)"')
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$", re.M)


def scanned_files() -> list[Path]:
    files = [REPO / "README.md", REPO / "CHANGELOG.md"]
    for folder in ("reconciler", "docs", "bench"):
        files += [p for p in sorted((REPO / folder).rglob("*")) if p.is_file() and p.suffix in TEXT_SUFFIXES]
    files += sorted((REPO / "tests" / "bad_manifests").rglob("expected.txt"))
    return [p for p in files if p.exists() and "__pycache__" not in p.parts]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return set(ANCHOR.findall(text)) | {github_slug(h) for _, h in HEADING.findall(text)}


def section_ids(path: Path, heading_id: re.Pattern[str]) -> set[str]:
    """Ids that are both an explicit anchor and the start of the heading right after it (they must agree)."""
    text = path.read_text(encoding="utf-8")
    ids: set[str] = set()
    for match in re.finditer(r'<a id="([^"]+)"></a>\n(#{1,6} .*)', text):
        anchor, heading = match.groups()
        found = heading_id.match(heading)
        assert found and found.group(1) == anchor, f"{path.name}: anchor {anchor!r} sits above {heading!r}"
        ids.add(anchor)
    return ids


UPSTREAM_HEADING = re.compile(r"#{1,6} (?:Part )?([A-H](?:\.\d+)*|0)[ .]")
CONTRACT_HEADING = re.compile(r"#{1,6} §(\d+(?:\.\d+)?) ")


def upstream_ids() -> set[str]:
    return section_ids(UPSTREAM, UPSTREAM_HEADING)


def contract_ids() -> set[str]:
    return section_ids(CONTRACT, CONTRACT_HEADING)


def checklist_sizes() -> dict[str, int]:
    """How many numbered items each checklist of upstream.md Part E has."""
    text = UPSTREAM.read_text(encoding="utf-8")
    sizes: dict[str, int] = {}
    for family in ("1", "2"):
        body = text.split(f'<a id="E.{family}"></a>', 1)[1].split("<a id=", 1)[0]
        sizes[family] = len(re.findall(r"^\d+\. ", body, re.M))
    return sizes


def numbers(spec: str) -> Iterator[int]:
    for part in re.split(r"[,\s]+", spec.strip()):
        if not part:
            continue
        bounds = re.split(r"[-–]", part)
        low, high = int(bounds[0]), int(bounds[-1] or bounds[0])
        yield from range(low, high + 1)


def citation_problems(path: Path, text: str, known: set[str], clauses: set[str], items: dict[str, int]) -> list[str]:
    where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    problems: list[str] = []
    for line_no, line in enumerate(text.splitlines(), 1):
        at = f"{where}:{line_no}"
        problems += [f"{at}: mentions {bad!r}, which is not in this repository" for bad in FORBIDDEN if bad in line]
        for section in {*SECTION_ID.findall(line), *REFERENCE.findall(line)}:
            if section not in known:
                problems.append(f"{at}: cites section {section}, not a section of docs/upstream.md")
        for part in PART.findall(line):
            if part not in known:
                problems.append(f"{at}: cites Part {part}, not a part of docs/upstream.md")
        for family, spec in CHECKLIST.findall(line):
            for item in numbers(spec or ""):
                if not 1 <= item <= items[family]:
                    problems.append(f"{at}: cites checklist E Family {family} item {item}, which does not exist")
        for first, last in SECTION_SIGN.findall(line):
            for clause in filter(None, (first, last)):
                if clause not in clauses:
                    problems.append(f"{at}: cites §{clause}, not a section of docs/contract.md")
        for target in REPO_PATH.findall(line):
            if "*" not in target and not (REPO / target).exists():
                problems.append(f"{at}: names {target}, which is not in the repository")
    if path.suffix == ".md":
        problems += link_problems(path, text)
    return problems


def link_problems(path: Path, text: str) -> list[str]:
    problems: list[str] = []
    for target in MD_LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: outside links are not files of the repository
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists() or not linked.is_relative_to(REPO):
            problems.append(f"{path.relative_to(REPO)}: links to {target}, which is not in the repository")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{path.relative_to(REPO)}: links to {target}, which has no such anchor")
    return problems


def test_the_reference_keeps_every_section_id_of_the_original() -> None:
    ids = upstream_ids()
    assert [s for s in REQUIRED_UPSTREAM_IDS if s not in ids] == []
    assert [s for s in REQUIRED_CONTRACT_IDS if s not in contract_ids()] == []
    # Each checklist numbers its items, and "checklist E Family N item M" needs them.
    assert checklist_sizes() == {"1": 11, "2": 12}


def test_the_reference_says_how_citations_read_and_lists_our_own_rules() -> None:
    text = UPSTREAM.read_text(encoding="utf-8")
    head = text.split('<a id="A"></a>', 1)[0]
    assert '"reference X.Y"' in head or "reference X.Y" in head
    assert "means **the section with that id in this file**" in head
    assert "# Part H — Our own defaults and stricter rules" in text
    for inference in ("undocumented", "outside `EFFECTIVE`", "partial `coupon_info`"):
        assert inference in text.split('<a id="H.3"></a>', 1)[1]


def test_every_rule_where_validate_is_stricter_is_listed_with_its_severity() -> None:
    """Issue 15: where `validate` is deliberately stricter than upstream, docs/upstream.md H.1 says so and why."""
    from reconciler.manifest.limits import STRICTER_RULES

    text = UPSTREAM.read_text(encoding="utf-8")
    listed = dict(
        re.findall(
            r"^\| `([\w.]+)` \| (error|warning) \|",
            text.split('<a id="H.1"></a>', 1)[1].split('<a id="H.2"></a>', 1)[0],
            re.M,
        )
    )
    assert listed == {rule.rule: rule.severity for rule in STRICTER_RULES}


def test_every_citation_in_code_docs_and_messages_resolves_in_the_repository() -> None:
    known, clauses, items = upstream_ids(), contract_ids(), checklist_sizes()
    problems: list[str] = []
    files = scanned_files()
    assert len(files) > 100  # the scan really covers the package, the docs and the golden outputs
    for path in files:
        problems += citation_problems(path, path.read_text(encoding="utf-8"), known, clauses, items)
    assert problems == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see reference A.5 and reference Z.9", "cites section Z.9"),
        ("see A.5 and B.13", "cites section B.13"),
        ("see reference A.11", "cites section A.11"),
        ("(design §2.4)", "mentions 'design §'"),
        ("contract §9.9", "cites §9.9"),
        ("from `reference/wechat-apis.md`", "mentions 'wechat-apis'"),
        ("checklist E Family 2 items 5-13", "item 13"),
        ("Part J", ""),
        ("see docs/nowhere.md", "names docs/nowhere.md"),
    ],
)
def test_the_scanner_catches_a_broken_citation(text: str, expected: str) -> None:
    """The scan is not vacuous: each kind of dangling citation is reported."""
    problems = citation_problems(REPO / "x.py", text, upstream_ids(), contract_ids(), checklist_sizes())
    if expected:
        assert any(expected in p for p in problems), problems
    else:
        assert problems == []  # "Part J" is not a section-shaped citation: no false alarm


def test_a_broken_link_in_a_doc_is_caught(tmp_path: Path) -> None:
    doc = REPO / "docs" / "x.md"
    problems = link_problems(doc, "[a](upstream.md#A.5) [b](upstream.md#Z.1) [c](missing.md) [d](https://x.invalid)")
    assert problems == [
        "docs/x.md: links to upstream.md#Z.1, which has no such anchor",
        "docs/x.md: links to missing.md, which is not in the repository",
    ]


def test_a_user_looks_up_the_sections_a_validate_error_cites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The habit: `validate` refuses a coupon and names a section; the user opens docs/upstream.md and finds it."""
    manifest = tmp_path / "manifests" / "c.yaml"
    manifest.parent.mkdir()
    manifest.write_text(
        "kind: ShopCoupon\n"
        "name: bad-coupon\n"
        "spec:\n"
        "  type: 104\n"
        "  promote_type: 4\n"
        "  coupon_info:\n"
        "    name: 满减\n"
        "    promote_info: {promote_type: 4, finder: {nickname: n}}\n"
        "    discount_info:\n"
        "      discount_condition: {product_cnt: 2}\n"
        "      discount_num: 5000\n"
        "    receive_info: {start_time: 1900000000, end_time: 1800000000, limit_num_one_person: 1, total_num: 10}\n"
        "    valid_info: {valid_type: 2}\n",
        encoding="utf-8",
    )
    (tmp_path / "couponctl.toml").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["validate", str(manifest.parent)])
    assert exited.value.code == 1
    output = capsys.readouterr().err
    cited = set(SECTION_ID.findall(output))
    assert {"A.5", "A.4.4"} <= cited, output  # the per-type fields and the valid_type companions
    assert cited <= upstream_ids(), output
    assert citation_problems(manifest, output, upstream_ids(), contract_ids(), checklist_sizes()) == []
