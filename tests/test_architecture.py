"""The layout README's "Architecture" section describes, checked on the source tree itself.

Imports are read with ast (no module is executed), so a lazy import inside a function counts
as much as one at the top: a cycle hidden in a function is still a cycle.
"""
from __future__ import annotations

import ast
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Dict, Set

import pytest

REPO = Path(__file__).resolve().parent.parent
FIRST_PARTY = ("cicd", "stack", "bench")
MAX_LINES = 300  # per module: past this a module usually holds two concerns


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> Dict[str, Path]:
    return {_module_name(p): p for top in FIRST_PARTY for p in (REPO / top).rglob("*.py")
            if "__pycache__" not in p.parts}


def _imports(name: str, path: Path, known: Set[str]) -> Set[str]:
    """First-party modules `name` imports (a `from package import module` counts as the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import cicd.workspace.config` -> that module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


@pytest.fixture(scope="module")
def graph() -> Dict[str, Set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def test_the_graph_reads_real_imports(graph):
    # The checks below mean nothing if the reader found no edges: pin a few known ones.
    assert "cicd.workspace.config" in graph["cicd.workspace.naming"]
    assert "cicd.deploy.synth" in graph["cicd.emulator.run"]
    assert "stack.pipeline_stack" in graph["stack.app"]


def test_no_import_cycles(graph):
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as err:
        pytest.fail(f"import cycle: {' -> '.join(err.args[1])}")


def test_a_planted_cycle_is_found(graph):
    planted = {**graph, "cicd.workspace.config": graph["cicd.workspace.config"] | {"cicd.workspace.naming"}}
    with pytest.raises(CycleError):
        TopologicalSorter(planted).prepare()


def test_the_stack_imports_only_the_workspace_from_cicd(graph):
    reached = {target for name, targets in graph.items() if name.split(".")[0] == "stack"
               for target in targets if target.split(".")[0] == "cicd"}
    assert reached, "the stack reads its config from cicd.workspace"
    assert {t for t in reached if not t.startswith("cicd.workspace")} == set()


def test_the_workspace_depends_on_nothing_downstream(graph):
    outside = {(name, target) for name, targets in graph.items() if name.startswith("cicd.workspace")
               for target in targets if not target.startswith("cicd.workspace")}
    assert outside == set()


def test_the_product_never_imports_the_benchmark(graph):
    assert {(name, t) for name, targets in graph.items() if not name.startswith("bench")
            for t in targets if t.startswith("bench")} == set()


def _architecture_rows() -> Set[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Architecture\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.M))


def test_the_architecture_section_matches_the_tree():
    rows = _architecture_rows()
    packages = {f"cicd/{p.parent.name}/" for p in (REPO / "cicd").glob("*/__init__.py")}
    assert packages and packages <= rows, f"packages missing from README's Architecture: {sorted(packages - rows)}"
    for row in rows:
        assert (REPO / row.split("<")[0]).exists(), f"README's Architecture names {row}, which is not in the tree"
    listed = {r for r in rows if r.startswith("cicd/")}
    assert listed == packages, f"README lists {sorted(listed - packages)} that are not packages"


def test_no_module_is_over_the_line_budget():
    long = {str(p.relative_to(REPO)): n for top in (*FIRST_PARTY, "lambda", "tests")
            for p in (REPO / top).rglob("*.py") if "__pycache__" not in p.parts
            and (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"modules over {MAX_LINES} lines (split them by concern): {long}"
