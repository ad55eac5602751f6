"""The domain imports only the standard library, eventsourcing.domain and itself: no frameworks."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def imported_modules(source: str) -> list[str]:
    """Every module a source file imports, anywhere in it, as a dotted name."""
    modules = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside the domain package
                modules.append("domain")
            else:
                # "from eventsourcing import domain" imports the module eventsourcing.domain.
                modules += [f"{node.module}.{alias.name}" for alias in node.names]
    return modules


# The library's topic registry, which eventsourcing.domain itself uses to register explicit
# topics: the domain registers the older topics of its events with it (domain/event_topics.py).
TOPIC_REGISTRY = "eventsourcing.utils.register_topic"


def allowed(module: str) -> bool:
    top = module.split(".")[0]
    return (
        top in sys.stdlib_module_names
        or top == "domain"
        or module == "eventsourcing.domain"
        or module.startswith("eventsourcing.domain.")
        or module == TOPIC_REGISTRY
    )


def test_the_domain_package_has_modules_to_check():
    assert len(list(DOMAIN.glob("*.py"))) >= 8


@pytest.mark.parametrize("path", sorted(DOMAIN.rglob("*.py")), ids=lambda p: p.name)
def test_a_domain_module_imports_only_the_standard_library_eventsourcing_domain_and_the_domain(
    path,
):
    foreign = [m for m in imported_modules(path.read_text(encoding="utf-8")) if not allowed(m)]
    assert not foreign, f"{path.name} imports {', '.join(foreign)}"


@pytest.mark.parametrize(
    ("source", "ok"),
    [
        ("import json\nfrom collections.abc import Mapping", True),
        ("from eventsourcing.domain import Aggregate, event", True),
        ("from domain.errors import Conflict\nfrom . import money", True),
        ("from eventsourcing.application import Application", False),
        ("from eventsourcing import persistence", False),
        ("from eventsourcing.utils import register_topic", True),
        ("from eventsourcing.utils import retry", False),
        ("def f():\n    import flask", False),
        ("import sqlalchemy.orm", False),
    ],
)
def test_the_purity_check_tells_foreign_imports_from_allowed_ones(source, ok):
    assert all(allowed(m) for m in imported_modules(source)) is ok
