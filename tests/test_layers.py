"""The package's shape: each layer imports only those below it, and no module imports itself back.

Layers, bottom up (shared/DESIGN.md): ``errors`` < ``core`` < ``binary`` < ``goruntime`` < ``render`` <
``tui`` < the command line (``cli*``, ``__main__``). ``payload`` stands apart: it decodes bytes and
imports nothing of ours but ``errors`` and ``gcpause`` (which, like ``errors``, sit below every
layer); ``render`` and the command line may use it. ``demo`` (the
bundled sample) sits with ``core``. Every import counts, those inside functions too: a lazy import
is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "explorer"

RANK = {"errors": 0, "gcpause": 0, "core": 1, "demo": 1, "binary": 2, "goruntime": 3, "payload": 1, "render": 4,
        "tui": 5, "cli": 6}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2:
        return "cli"  # explorer/__init__ itself
    top = parts[1]
    if top.startswith("cli") or top == "__main__":
        return "cli"
    return top


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports(module: str, path: Path) -> set[str]:
    """The explorer modules ``module`` imports, anywhere in its body."""
    out: set[str] = set()
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("explorer"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.startswith("explorer"):
                out.add(name)
    return out


def _graph() -> dict[str, set[str]]:
    mods = dict(_modules())
    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        deps = set()
        for imp in _imports(mod, path):
            # `from explorer.x import y` may name module x.y or an attribute of x: keep what exists.
            while imp and imp not in mods:
                imp = imp.rpartition(".")[0]
            if imp and imp != mod:
                deps.add(imp)
        graph[mod] = deps
    return graph


def test_every_module_is_in_a_known_layer() -> None:
    unknown = sorted({_layer(m) for m in _graph()} - set(RANK))
    assert not unknown, f"modules outside every layer: {unknown} (add them to DESIGN.md and RANK)"


def test_layers_import_only_downwards() -> None:
    bad = []
    for mod, deps in _graph().items():
        mine = _layer(mod)
        for dep in deps:
            theirs = _layer(dep)
            if theirs == mine:
                continue
            if mine == "payload" and theirs not in ("errors", "gcpause"):
                bad.append(f"{mod} -> {dep} (payload imports nothing of ours but errors and gcpause)")
            elif RANK[theirs] > RANK[mine] or (theirs == "payload" and mine not in ("render", "tui", "cli")):
                bad.append(f"{mod} -> {dep}")
    assert not bad, "imports against the layering:\n" + "\n".join(sorted(bad))


def test_only_tui_imports_textual() -> None:
    bad = []
    for mod, path in _modules():
        if _layer(mod) == "tui":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{mod} imports {n}" for n in names if n.split(".")[0] == "textual"]
    assert not bad, bad


def test_no_import_cycles() -> None:
    graph = _graph()
    # Tarjan's strongly connected components: a component of more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checks_see_imports() -> None:
    """The graph is not empty by accident: known edges are found, function-level ones included."""
    graph = _graph()
    assert "explorer.goruntime.process" in graph["explorer.cli_common"]
    assert "explorer.goruntime.variables" in graph["explorer.cli_values"]  # imported inside a function
    assert "explorer.core.memory" in graph["explorer.goruntime.maps"]
