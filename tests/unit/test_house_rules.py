"""House rules that review used to check by eye, now checked by tests.

* The pure core (``kic_trio.translator``, ``kic_trio.models``, ``kic_trio.store``) imports no
  I/O library: it must run with no event loop (offline tool, benchmarks, fuzzing).
* No import cycle among ``src/kic_trio`` modules, lazy (function-level) imports included: a
  lazy import hides a cycle from Python, not from the design (``_config`` lazily importing
  ``_cli`` was one). The only imports not counted are the implicit ones of a submodule on its
  own parent package: ``pkg/__init__`` importing ``pkg._mod`` is how a package exposes its API.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import kic_trio

SRC = Path(kic_trio.__file__).resolve().parent
IO_LIBRARIES = ("trio", "httpx", "kr8s", "prometheus_client", "hypercorn", "anyio")
PURE_CORE = ("kic_trio.translator", "kic_trio.models", "kic_trio.store")


def _loaded_after_import(module: str) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps(sorted(m for m in {IO_LIBRARIES!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(out.stdout)
    return loaded


@pytest.mark.parametrize("module", PURE_CORE)
def test_pure_core_loads_no_io_library(module: str) -> None:
    # A fresh interpreter: this test process has trio loaded already.
    assert _loaded_after_import(module) == [], (
        f"importing {module} loads an I/O library; keep trio/httpx/kr8s/prometheus_client "
        "imports in the edges (k8s/, kong/, _controller) or behind kic_trio's lazy names"
    )


def test_the_check_sees_io_imports() -> None:
    # The same check on the controller proves it would notice an I/O library.
    assert "trio" in _loaded_after_import("kic_trio._controller")


# ---------------------------------------------------------------------------------------------
# import graph


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str, modules: Mapping[str, Path]) -> Iterator[str]:
    """Every project module ``path`` imports, at any depth of the file (lazy ones too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield sub if sub in modules else target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph = {
        name: {t for t in _imports(path, name, modules) if t in modules and t != name}
        for name, path in modules.items()
    }
    # kic_trio's lazy names are imported with importlib (invisible to ast): add those edges.
    graph["kic_trio"] |= {f"kic_trio{m}" for m in kic_trio._LAZY.values()}
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_graph_sees_lazy_imports() -> None:
    # k8s/_leader.py imports _client inside a function; the graph must count it.
    graph = import_graph()
    assert "kic_trio.k8s._client" in graph["kic_trio.k8s._leader"]
    assert "kic_trio.config._convert" in graph["kic_trio.config._config"]


def test_no_import_cycle_in_src() -> None:
    found = cycles(import_graph())
    assert found == [], (
        "import cycles (move what both sides need into a module below both, as config/_convert.py "
        f"does for config/_config and config/_sources): {found}"
    )


#: kr8s private names the project relies on; only k8s/_kr8s.py may use them.
KR8S_PRIVATES = (
    "_create_session",
    "_instances",
    "_kubeconfig_path_or_dict",
    "_session",
    "_user",
    "_cluster",
)


def test_kr8s_privates_only_in_their_adapter() -> None:
    adapter = SRC / "k8s" / "_kr8s.py"
    assert any(name in adapter.read_text(encoding="utf-8") for name in KR8S_PRIVATES)
    offenders = []
    for path in SRC.rglob("*.py"):
        if path == adapter:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        uses_kr8s = any(
            (isinstance(n, ast.Import) and any(a.name.startswith("kr8s") for a in n.names))
            or (isinstance(n, ast.ImportFrom) and (n.module or "").startswith("kr8s"))
            for n in ast.walk(tree)
        )
        for node in ast.walk(tree):
            attr = node.attr if isinstance(node, ast.Attribute) else None
            text = node.value if isinstance(node, ast.Constant) else None
            if attr in KR8S_PRIVATES and (uses_kr8s or "api" in ast.unparse(node)):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} .{attr}")
            elif text in KR8S_PRIVATES and "k8s" in path.parts:
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {text!r}")
    assert offenders == [], "kr8s privates belong in k8s/_kr8s.py: " + ", ".join(offenders)
