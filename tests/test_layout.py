"""The package's layout: wings that import only wings below them, and no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "qa"

# Lower rank first; a module may import only modules of its own wing or of a lower rank.
RANKS = {"qa.types": 0, "qa.errors": 0, "qa.config": 1, "qa.prompts": 1, "qa.sources": 1, "qa.cite": 2,
         "qa.evaluate": 2, "qa.store": 3, "qa.offline": 4, "qa.model": 5, "qa.updates": 5, "qa.api": 6,
         "qa.app": 7, "qa": 8, "qa.__main__": 8}


def _modules() -> dict[str, set[str]]:
    """Every module of `qa` and the `qa` modules it imports (anywhere in it, lazily too)."""
    names = {".".join(f.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(
        ".__init__"): f for f in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "qa":
                subs = {f"{node.module}.{a.name}" for a in node.names} & names.keys()
                deps |= subs or {node.module}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.split(".")[0] == "qa"}
        graph[name] = deps - {name}
    return graph


def _wing(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_no_import_cycle() -> None:
    graph = _modules()
    done: set[str] = set()

    def visit(module: str, stack: list[str]) -> None:
        assert module not in stack, "import cycle: " + " -> ".join([*stack, module])
        if module in done:
            return
        for dep in graph.get(module, ()):
            if dep != "qa":  # the package's __init__ is the public face, never imported inside
                visit(dep, [*stack, module])
        done.add(module)

    for module in graph:
        visit(module, [])


def test_wings_import_only_downwards() -> None:
    wrong = [f"{m} imports {d}" for m, deps in _modules().items() for d in deps
             if _wing(d) != _wing(m) and RANKS[_wing(d)] >= RANKS[_wing(m)]]
    assert wrong == []


def test_the_top_level_holds_only_what_every_wing_shares() -> None:
    top = sorted(f.name for f in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top
    wings = sorted(d.name for d in PACKAGE.iterdir() if (d / "__init__.py").exists())
    assert wings == ["app", "model", "offline", "sources", "store"]
    for wing in wings:
        doc = ast.get_docstring(ast.parse((PACKAGE / wing / "__init__.py").read_text()))
        assert doc and "\n" not in doc.strip(), f"qa/{wing}/__init__.py needs a one-line docstring"
