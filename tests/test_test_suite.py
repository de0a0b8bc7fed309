"""The test suite's own rule: shared helpers live in tests/helpers.py, fixtures in conftest.py,
and no test module imports another (a test module is not a library)."""

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_test_module_imports_another_or_conftest():
    offending = {
        f"{path.relative_to(TESTS)}: {module}"
        for path in sorted(TESTS.rglob("*.py"))
        for module in imported_modules(path)
        if module.startswith("tests.") and not module.startswith("tests.helpers.")
    }
    assert offending == set()
    assert "tests.helpers.SHARED_DATA" in imported_modules(TESTS / "conftest.py")  # it sees imports
