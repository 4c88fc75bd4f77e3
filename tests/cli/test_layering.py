"""The CLI's place in the layers: it reaches the store, the providers and the applier only through
`reconciler.commands`, and the command layer's light modules keep `validate` and `plan` start-up fast (D1)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CLI = Path(__file__).resolve().parents[2] / "reconciler" / "cli"
FORBIDDEN = ("reconciler.store", "reconciler.providers", "reconciler.apply")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module imported anywhere in the file: top level, inside functions, under TYPE_CHECKING."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_the_cli_imports_no_store_provider_or_applier_module() -> None:
    """Not even lazily or for typing: the CLI parses, calls one command function, renders, picks the exit code."""
    offending = [
        f"{path.name}:{line}: {module}"
        for path in sorted(CLI.glob("*.py"))
        for line, module in _imports(path)
        if any(module == layer or module.startswith(layer + ".") for layer in FORBIDDEN)
    ]
    assert offending == []


def test_the_command_layer_loads_no_database_or_http_library_up_front() -> None:
    """Importing the package, validate, plan and the shared helpers pulls in neither SQLAlchemy nor httpx."""
    code = (
        "import sys\n"
        "import reconciler.commands, reconciler.commands.common, reconciler.commands.validate\n"
        "import reconciler.commands.plan, reconciler.commands.runs, reconciler.commands.upstream\n"
        "print(sorted(m for m in ('sqlalchemy', 'httpx', 'starlette') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
