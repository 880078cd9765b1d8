"""The house rules, checked on the source: no import cycles, and each layer imports only what
it may (README, "How it is built")."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# package -> folder, as pyproject.toml installs them
FOLDERS = {
    "newsarchive": ROOT / "newsarchive",
    "newsarchive.archive": ROOT / "archive",
    "newsarchive.index": ROOT / "index",
    "newsarchive.api": ROOT / "api",
    "newsarchive.cli": ROOT / "cli",
}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in FOLDERS.items():
        for file in folder.rglob("*.py"):
            parts = list(file.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = file
    return found


def is_package(name: str, known: dict[str, Path]) -> bool:
    return known[name].name == "__init__.py"


def imports(name: str, file: Path, known: dict[str, Path]) -> list[tuple[str, bool, str]]:
    """(imported module, at module level outside TYPE_CHECKING, the module the import statement
    names) for each import in `file`."""
    tree = ast.parse(file.read_text())
    package = name if is_package(name, known) else name.rsplit(".", 1)[0]
    found: list[tuple[str, bool, str]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for inner in child.body:
                    visit_one(inner, top=False)
                continue
            visit_one(child, top)

    def visit_one(child: ast.AST, top: bool) -> None:
        if isinstance(child, ast.Import):
            found.extend(
                (a.name, top, a.name) for a in child.names if a.name.startswith("newsarchive")
            )
        elif isinstance(child, ast.ImportFrom):
            if child.level:
                base = package.split(".")
                base = base[: len(base) - (child.level - 1)]
                target = ".".join(base + ([child.module] if child.module else []))
            else:
                target = child.module or ""
            if not target.startswith("newsarchive"):
                return
            for alias in child.names:
                candidate = f"{target}.{alias.name}"
                found.append((candidate if candidate in known else target, top, target))
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            visit(child, top=False)
        else:
            visit(child, top)

    visit(tree, top=True)
    return found


def graph() -> dict[str, list[tuple[str, bool, str]]]:
    known = modules()
    return {name: imports(name, file, known) for name, file in known.items()}


def test_no_import_cycles():
    edges = {
        name: {target for target, top, _ in found if top and target != name}
        for name, found in graph().items()
    }
    # importing a.b.c runs a/__init__ and a/b/__init__ first; those are not cycles of ours
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                walk(target, [*path, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            walk(node, [node])
    assert cycles == []


FORBIDDEN = [
    # (importer prefix, imported prefix, why)
    ("newsarchive.index", "newsarchive.archive", "index/ never imports archive/"),
    ("newsarchive.index", "newsarchive.api", "index/ never imports a face"),
    ("newsarchive.archive.sources", "newsarchive.archive.store", "sources are pure"),
    ("newsarchive.archive.sources", "newsarchive.index", "sources are pure"),
    ("newsarchive.archive.ingest", "newsarchive.archive.store", "ingest stages are pure"),
    ("newsarchive.archive.ingest", "newsarchive.index", "ingest stages are pure"),
    ("newsarchive.archive.search", "newsarchive.archive.store", "search stages are pure"),
    ("newsarchive.archive.search", "newsarchive.index", "search stages are pure"),
    ("newsarchive.archive.store", "newsarchive.index", "the store knows no model"),
    ("newsarchive.archive.store", "newsarchive.archive.sources", "the store reads no input"),
    ("newsarchive.archive", "newsarchive.api", "the library knows no face"),
    ("newsarchive.archive", "newsarchive.cli", "the library knows no face"),
    ("newsarchive.api", "newsarchive.index", "faces use the archive's names only"),
    ("newsarchive.cli", "newsarchive.index", "faces use the archive's names only"),
]


def test_layer_rules():
    broken = []
    for name, found in graph().items():
        for target, _, written in found:
            for importer, imported, why in FORBIDDEN:
                if name.startswith(importer) and target.startswith(imported):
                    broken.append(f"{name} imports {target}: {why}")
            face = name.startswith(("newsarchive.api", "newsarchive.cli"))
            if face and written.startswith("newsarchive.archive."):
                broken.append(f"{name} imports {target}: faces import newsarchive.archive only")
            wiring = ("newsarchive.archive", "newsarchive.archive.facade")
            if target == "newsarchive.archive.facade" and name not in wiring:
                broken.append(f"{name} imports the facade: only the package exports it")
    assert broken == []
