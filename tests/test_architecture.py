"""The forbidden imports of docs/architecture.md, checked on every module of the package: top-level imports,
imports inside functions and imports under TYPE_CHECKING all count."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reconciler"

PURE_CORE = (
    "reconciler.plan",
    "reconciler.render",
    "reconciler.resources",
    "reconciler.stocks",
    "reconciler.times",
    "reconciler.claim_window",
    "reconciler.upstream_facts",
)
IO_LAYERS = (
    "reconciler.store",
    "reconciler.providers",
    "reconciler.apply",
    "reconciler.commands",
    "reconciler.cli",
    "reconciler.sandbox",
    "reconciler.config",
    "reconciler.manifest",
)
IO_LIBRARIES = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "httpx",
    "starlette",
    "uvicorn",
    "click",
    "rich",
    "subprocess",
    "socket",
)

# (importing package, forbidden modules, the rule's name in docs/architecture.md)
RULES: list[tuple[tuple[str, ...], tuple[str, ...], str]] = [
    (("reconciler.sandbox",), ("reconciler",), "the sandbox rule"),
    (
        ("reconciler.cli",),
        ("reconciler.store", "reconciler.providers", "reconciler.apply", "reconciler.sandbox", "reconciler.manifest"),
        "the CLI rule",
    ),
    (PURE_CORE, IO_LAYERS + IO_LIBRARIES, "the pure-core rule"),
    (("reconciler.render",), ("reconciler.plan.planner",), "the pure-core rule (renderers see the plan value)"),
    (
        ("reconciler.store", "reconciler.providers"),
        ("reconciler.apply", "reconciler.commands", "reconciler.cli"),
        "the layer order",
    ),
    (("reconciler.apply",), ("reconciler.commands", "reconciler.cli"), "the layer order"),
    (("reconciler.commands",), ("reconciler.cli",), "the layer order"),
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """Every module the file imports, resolving relative imports against the file's package."""
    if package is None:
        package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


MODULES = sorted((_module_name(p), p) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize(("importers", "forbidden", "rule"), RULES, ids=[f"{r[2]}:{r[0][0]}" for r in RULES])
def test_no_module_imports_what_its_layer_forbids(
    importers: tuple[str, ...], forbidden: tuple[str, ...], rule: str
) -> None:
    """Each rule of docs/architecture.md holds for every module it covers (an empty list of offences)."""
    covered = [(name, path) for name, path in MODULES if _within(name, importers)]
    assert covered, f"{rule}: no module matched {importers}"
    offences = []
    for _name, path in covered:
        for line, imported in _imports(path):
            if _within(imported, importers):
                continue  # a package may use itself (the sandbox imports reconciler.sandbox.*)
            if _within(imported, forbidden):
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {imported} ({rule})")
    assert offences == []


def test_the_checker_sees_every_kind_of_import(tmp_path: Path) -> None:
    """Top-level, function-level, TYPE_CHECKING and relative imports are all found (so the rules cannot be dodged)."""
    probe = tmp_path / "probe.py"
    code = (
        "from typing import TYPE_CHECKING\n"
        "import httpx\n"
        "if TYPE_CHECKING:\n    from reconciler.store import api\n"
        "def f() -> None:\n    from ..plan import planner\n"
    )
    probe.write_text(code, encoding="utf-8")
    found = {m for _, m in _imports(probe, package="reconciler.render")}
    assert {"httpx", "reconciler.store", "reconciler.plan", "reconciler.plan.planner"} <= found


def test_no_module_in_the_package_is_over_500_lines() -> None:
    """Modules stay small enough to read (issue: the house before the extension)."""
    long = [
        f"{path.relative_to(PACKAGE.parent)}: {n}"
        for _, path in MODULES
        if (n := len(path.read_text().splitlines())) > 500
    ]
    assert long == []
