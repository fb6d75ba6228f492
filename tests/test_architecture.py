"""The house keeps its shape: imports point down the layers, no cycles, no module past 400 lines.

The layers are the table in docs/ARCHITECTURE.md. Imports inside functions count too:
a loop hidden in a function is still a loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "govgate"

# Lower numbers sit lower; a module may import its own layer (without cycles) or lower ones.
LAYERS = {
    "config": 0,
    "errors": 0,
    "text": 0,
    "logs": 0,
    "files": 0,
    "urls": 0,
    "toml_lines": 0,
    "db": 1,
    "signing": 2,
    "directus": 2,
    "guards": 3,
    "runbook": 4,
    "ops": 5,
    "api": 6,
    "render": 6,
    "agent": 7,
    "web": 7,
    "cli": 7,
    "__main__": 8,
    "__init__": 0,
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(("govgate", *parts))
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, known: set[str], unresolved: list | None = None) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [f"{target}.{a.name}" for a in node.names] + [target]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        found = [c for c in candidates if c in known]
        if not found and unresolved is not None and candidates[-1].startswith("govgate"):
            unresolved.append(f"{name}:{node.lineno} imports {candidates[-1]}")
        for candidate in found:
            if candidate != name:
                out.add(candidate)
                break
    return out


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return LAYERS[top]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def test_every_module_belongs_to_a_layer_of_the_architecture_map():
    tops = {m.split(".")[1] for m in _modules() if "." in m}
    assert tops <= set(LAYERS), f"not in docs/ARCHITECTURE.md: {sorted(tops - set(LAYERS))}"


def test_every_import_of_govgate_names_a_module_that_exists():
    """Imports inside functions run late: one that names nothing fails only when called."""
    modules = _modules()
    unresolved: list[str] = []
    for name, path in modules.items():
        _imports(name, path, set(modules), unresolved)
    assert not unresolved, "\n".join(unresolved)


def test_every_import_points_down_or_across_the_layers():
    upward = [
        f"{src} imports {dst}"
        for src, targets in _graph().items()
        for dst in targets
        if _layer(dst) > _layer(src) and not dst.endswith("__init__")
    ]
    assert not upward, "\n".join(upward)


def test_no_module_imports_itself_through_others():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(nxt_key := node, ())):
            if nxt == "govgate" or nxt_key == "govgate":
                continue
            if state.get(nxt) == 1:
                cycles.append(" → ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_module_is_longer_than_400_lines():
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 400
    }
    assert not long, f"split these modules: {long}"
