"""The layout docs/architecture.md describes: the packages exist, imports go one way (spaces <- search <- reports;
inside search, base <- data <- train <- deploy <- engine <- evaluation <- app), and no module imports another that
imports it back, at module level or inside a function."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = {"search": "bakeoff.search", "reports": "bakeoff.reports", "spaces": "bakeoff.spaces"}
#: Inside search: each sub-package and what it may import besides itself and the base modules (errors, stats,
#: durations, signals, manifest, layout). The command line (app) composes everything, reports included.
LAYERS = {
    "data": set(),
    "train": {"data"},
    "deploy": {"data", "train"},
    "engine": {"data", "train", "deploy"},
    "evaluation": {"data", "train", "engine", "deploy"},
    "app": {"data", "train", "engine", "deploy", "evaluation"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in TOP.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every bakeoff module ``path`` imports, wherever the import stands (a hidden import is still an edge)."""
    edges = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bakeoff."):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                edges.add(candidate if candidate in MODULES else node.module)
        elif isinstance(node, ast.Import):
            edges |= {a.name for a in node.names if a.name.startswith("bakeoff.")}
    return {e for e in edges if e in MODULES}


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _layer(module: str) -> str | None:
    match = re.match(r"bakeoff\.search\.(\w+)", module)
    return match.group(1) if match and match.group(1) in LAYERS else None


def test_the_packages_named_in_the_architecture_document_exist():
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`(search|reports|spaces|templates)/(\w+)/`", text))
    assert named, "the document names the sub-packages as `search/NAME/`"
    for top, sub in named:
        assert (ROOT / top / sub / "__init__.py").is_file(), f"{top}/{sub}/"
    assert {sub for top, sub in named if top == "search"} == set(LAYERS)


def test_search_and_spaces_import_nothing_from_reports_outside_the_command_line():
    wrong = {m: sorted(e for e in edges if e.startswith("bakeoff.reports"))
             for m, edges in GRAPH.items() if m.startswith(("bakeoff.spaces", "bakeoff.search")) and _layer(m) != "app"}
    assert {m: e for m, e in wrong.items() if e} == {}
    assert not any(e.startswith("bakeoff.search") for m, edges in GRAPH.items() if m.startswith("bakeoff.spaces") for e in edges)


@pytest.mark.parametrize("layer", list(LAYERS))
def test_each_search_package_imports_only_the_layers_below_it(layer):
    allowed = LAYERS[layer] | {layer, None}
    wrong = {m: sorted(e for e in edges if e.startswith("bakeoff.search") and _layer(e) not in allowed)
             for m, edges in GRAPH.items() if _layer(m) == layer}
    assert {m: e for m, e in wrong.items() if e} == {}


def test_the_base_modules_of_search_import_no_sub_package():
    base = [m for m in GRAPH if m.startswith("bakeoff.search.") and _layer(m) is None and m != "bakeoff.search.__main__"]
    assert {m: sorted(e for e in GRAPH[m] if _layer(e)) for m in base if any(_layer(e) for e in GRAPH[m])} == {}


def test_no_import_cycle():
    """Depth-first search for a back edge; a package's ``__init__`` counts as importing what it re-exports."""
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert cycles == []
