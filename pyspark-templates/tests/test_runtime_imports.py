"""The runtime package's own import graph: every module imports on its own, and no two modules
import each other, directly or round a loop. Lazy imports inside functions count: a cycle hidden
in a function body still ties the two modules together (and breaks once the import moves up)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import RUNTIME

PACKAGE = "manymodels_runtime"
ROOT = RUNTIME / PACKAGE


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every .py file of the package (packages by __init__)."""
    out = {}
    for f in sorted(ROOT.rglob("*.py")):
        if "__pycache__" in f.parts:
            continue
        parts = [PACKAGE, *f.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules `name` imports anywhere in its file (module level or in a function)."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from . import x` and `from .pkg import sub` import the submodule when there is one.
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle's first sighting in a depth-first walk, as a closed path."""
    cycles, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_the_graph_reader_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert f"{PACKAGE}.models" in graph[f"{PACKAGE}.training"]       # `from .models import` in a function
    assert f"{PACKAGE}.models._trees" in graph[f"{PACKAGE}.models.gbm"]  # `from . import _trees`
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_runtime_module_imports_itself_round_a_loop():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles in the runtime:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_every_runtime_module_imports_on_its_own():
    # One interpreter; the package's modules are forgotten before each import, so each one is
    # imported first, as an entry script or a Spark executor would.
    names = sorted(import_graph())
    script = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(RUNTIME)!r})\n"
        "bad = []\n"
        f"for name in {names!r}:\n"
        f"    for m in [m for m in sys.modules if m == {PACKAGE!r} or m.startswith({PACKAGE + '.'!r})]:\n"
        "        del sys.modules[m]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as e:\n"
        "        bad.append(f'{name}: {type(e).__name__}: {e}')\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_executors_are_chosen_in_one_place():
    # Only stages.choose_executor names an executor; everything else sees the Executor protocol.
    graph = import_graph()
    for impl in ("local_executor", "spark_executor"):
        users = sorted(m for m, deps in graph.items() if f"{PACKAGE}.{impl}" in deps)
        assert users == [f"{PACKAGE}.stages"], (impl, users)
