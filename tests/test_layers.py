"""Imports run down the stack only (docs/architecture.md, "Import direction").

Every module of ``titans_finance`` is parsed with ``ast`` (imports inside functions included)
and each import of another ``titans_finance`` module is checked against the layer order below:
a module may import its own layer and the layers beneath it, never one above.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "titans_finance"

#: The layers, lowest first.  A module belongs to the first (most specific) prefix it matches.
LAYERS: tuple[tuple[str, ...], ...] = (
    # vocabulary and the canonical frame: no project imports but each other
    ("domain", "errors", "config", "patterns", "frame", "merchants", "export"),
    # parsing a file into the canonical frame
    ("ingest.readers", "ingest.normalize", "ingest.mapping"),
    # validation, fingerprints, balance checks
    ("ingest",),
    ("storage",),
    ("features",),
    ("models",),
    # use cases over storage and models: file import (read, validate, store), registry,
    # training, serving, scheduled pipeline, monitoring, batch scoring
    (
        "ingest.pipeline",
        "ingest.preview",
        "registry",
        "training",
        "serving",
        "pipeline",
        "monitoring",
        "scale",
        "insights",
        "backup",
        "auth",
    ),
    # adapters: HTTP, command line, dashboard
    ("api", "cli", "dashboard", "__main__"),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    """Index in ``LAYERS`` of a module path relative to ``titans_finance`` (None: the package)."""
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module relative to titans_finance) for every project import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module or ""]).strip(".")
                names = [f"titans_finance.{target}" if target else "titans_finance"]
            elif node.module:
                names = [node.module]
                if node.module == "titans_finance":  # from titans_finance import domain
                    names = [f"titans_finance.{alias.name}" for alias in node.names]
        for name in names:
            if name == "titans_finance" or name.startswith("titans_finance."):
                found.append((node.lineno, name.removeprefix("titans_finance").lstrip(".")))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def test_every_module_has_a_layer() -> None:
    unplaced = [
        _module_name(p) for p in _modules() if _module_name(p) and layer_of(_module_name(p)) is None
    ]
    assert not unplaced, f"add these modules to LAYERS in tests/test_layers.py: {unplaced}"


def test_imports_run_down_the_stack() -> None:
    upward = []
    for path in _modules():
        module = _module_name(path)
        own = layer_of(module)
        if own is None:
            continue
        for line, imported in _imports(path, module):
            theirs = layer_of(imported)
            if theirs is not None and theirs > own:
                upward.append(
                    f"{path.relative_to(SRC.parent)}:{line}: {module} ({LAYERS[own][0]} layer) "
                    f"imports {imported} ({LAYERS[theirs][0]} layer)"
                )
    assert not upward, "imports that run up the stack:\n" + "\n".join(upward)


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("frame", 0),
        ("merchants", 0),
        ("ingest.readers.berka", 1),
        ("ingest.validate", 2),
        ("ingest.pipeline", 6),
        ("storage.bulk", 3),
        ("models.category", 5),
        ("serving.service", 6),
        ("dashboard.client", 7),
    ],
)
def test_layer_of(module: str, expected: int) -> None:
    assert layer_of(module) == expected


def test_layer_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text(
        "def f():\n    from titans_finance.models.base import BaseModel\n    return BaseModel\n"
    )
    assert _imports(source, "storage.probe") == [(2, "models.base")]


def test_dashboard_modules_do_not_import_the_store_at_module_level() -> None:
    """The dashboard talks to the API; only its local-mode client reaches the store, lazily."""
    offenders = []
    for path in sorted((SRC / "dashboard").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] == "sqlalchemy" or name.startswith("titans_finance.storage"):
                    offenders.append(f"{path.name}:{node.lineno}: {name}")
    assert not offenders, offenders


def test_importing_the_dashboard_client_does_not_load_sqlalchemy() -> None:
    code = (
        "import sys, titans_finance.dashboard.client, titans_finance.domain\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
