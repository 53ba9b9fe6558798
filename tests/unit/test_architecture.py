"""Imports go one way: domain ← application ← infrastructure, api (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# For each layer, the top-level packages it must never import.
FORBIDDEN = {
    "domain": {"application", "infrastructure", "api", "fastapi", "psycopg", "sqlite3", "pydantic", "structlog"},
    "application": {"infrastructure", "api", "fastapi", "psycopg", "sqlite3", "pydantic"},
    "infrastructure": {"api", "fastapi"},
}
# The domain may use only the aggregate base classes of eventsourcing.
DOMAIN_EVENTSOURCING = {"eventsourcing.domain"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_inwards(layer: str) -> None:
    """A module may not import a layer further out than itself."""
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN[layer]
    ]
    assert offences == []


def test_domain_uses_only_eventsourcing_domain() -> None:
    """The domain knows aggregates and events, not applications or recorders."""
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "domain").rglob("*.py"))
        for name in _imports(path)
        if name.startswith("eventsourcing") and name not in DOMAIN_EVENTSOURCING
    ]
    assert offences == []
