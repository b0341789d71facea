"""The foundation works: staff log in and see their shop; the test suite keeps its shape."""

import ast
from pathlib import Path

from extensions import db
from factories import make_shop, make_user


def test_staff_logs_in_and_sees_request_counts_of_own_shop(client, auth):
    shop = make_shop()
    make_user("agent@example.com", shop)
    db.session.commit()
    assert client.get("/admin/").status_code == 302
    response = auth.login("agent@example.com")
    assert response.status_code == 302
    page = client.get("/admin/")
    assert page.status_code == 200
    assert b"Demo Winkel" in page.data


def imported_modules(path: Path) -> set[str]:
    """The top-level names of every module ``path`` imports, wherever the import stands."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_no_test_module_imports_another_test_module_or_conftest():
    """Shared helpers live in helper modules and shared fixtures in conftest.py: importing a
    test module would collect its tests twice, and importing conftest.py makes a second copy
    of it that pytest does not manage."""
    tests = Path(__file__).parent
    offenders = {
        path.name: sorted(name for name in imported_modules(path) if is_test_module(name))
        for path in sorted(tests.glob("*.py"))
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def is_test_module(name: str) -> bool:
    return name == "conftest" or name.startswith("test_")
