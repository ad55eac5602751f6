"""The import graph of domain/, projections/ and service/: no cycles, and the contracts it keeps.

The contracts (service -> projections -> domain, read models and blueprints standing alone, a query
layer without HTTP) are in pyproject.toml under [tool.importlinter]; `lint-imports` checks the same.
"""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "projections", "service")


def import_cycles(graph: grimp.ImportGraph) -> list[str]:
    """Each direct import that a chain of imports leads back from, as the cycle it closes."""
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append(" -> ".join((importer, *back)))
    return cycles


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # Every import counts, also one inside a function: a hidden cycle is still a cycle.
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_no_module_imports_itself_through_others(graph):
    assert import_cycles(graph) == []


def test_a_cycle_is_found_also_through_a_function_level_import():
    graph = grimp.ImportGraph()
    for module in ("service.auth", "service.extension", "service.runtime"):
        graph.add_module(module)
    graph.add_import(importer="service.auth", imported="service.extension")
    graph.add_import(importer="service.extension", imported="service.runtime")
    graph.add_import(importer="service.runtime", imported="service.auth")
    assert import_cycles(graph) == [
        "service.auth -> service.extension -> service.runtime -> service.auth",
        "service.extension -> service.runtime -> service.auth -> service.extension",
        "service.runtime -> service.auth -> service.extension -> service.runtime",
    ]


def test_the_import_contracts_of_pyproject_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run(
        [lint_imports, "--no-cache", "--no-logo", "pyproject.toml"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert f"Contracts: {len(contracts['contracts'])} kept, 0 broken." in run.stdout
