"""protocol/ holds the rules only: none of its modules imports from the rest of
pytest_acme (the store, the web layer, the server), even for type hints."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pytest_acme.protocol

PROTOCOL = Path(pytest_acme.protocol.__file__).parent


@pytest.mark.parametrize("path", sorted(PROTOCOL.glob("*.py")), ids=lambda p: p.name)
def test_a_protocol_module_imports_nothing_outside_protocol(path):
    outside = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (
                node.level > 1 or (node.level == 0 and (node.module or "").startswith(
                    "pytest_acme") and not (node.module or "").startswith(
                        "pytest_acme.protocol"))):
            outside.append(ast.unparse(node))
        elif isinstance(node, ast.Import):
            outside += [ast.unparse(node) for alias in node.names
                        if alias.name.startswith("pytest_acme")
                        and not alias.name.startswith("pytest_acme.protocol")]
    assert outside == []
