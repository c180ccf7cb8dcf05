"""The package's layers import one way: engine <- graph <- notation <- checks <- feedback <- course <- grading <-
cli, with the widgets at the edge. Every import is read from the source (lazy ones inside functions too), so an
upward import fails here however it is written."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "autodiff_course"

#: Layer of each top-level part of the package; a module may import its own layer and the ones before it.
ORDER = ["_version", "engine", "graph", "notation", "checks", "feedback", "course", "grading", "cli"]
#: The widgets sit at the edge: they read these layers, and only the package's facade imports them.
WIDGETS_READ = {"_version", "engine", "graph", "notation", "checks", "feedback", "widgets"}
#: The facade (``autodiff_course/__init__.py``) re-exports the public API and imports every layer.
FACADE = "__init__"

#: Imports that break the rule on purpose, each with its reason. Keep this list short (it is empty: the
#: sandboxed worker's warm import of the whole package was one, but importing the worker module already runs
#: the package's __init__, so that import said nothing and is gone).
EXCEPTIONS: dict[tuple[str, str], str] = {}


def _part(module: str) -> str | None:
    """``autodiff_course.checks.judge`` -> ``checks``; the facade -> ``__init__``; outside the package: None."""
    parts = module.split(".")
    if parts[0] != "autodiff_course":
        return None
    return parts[1] if len(parts) > 1 else FACADE


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = PACKAGE.parent / Path(*name.split("."))
    return path.is_dir() or path.with_suffix(".py").exists()


def imports_of(path: Path, source: str | None = None) -> list[tuple[str, int]]:
    """Every module of the package that ``path`` imports (absolute and relative, at any depth), with lines."""
    tree = ast.parse(source if source is not None else path.read_text(), filename=str(path))
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from . import feedback` names a submodule: that is what is imported, not the package above it.
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if _is_module(sub) else target, node.lineno))
    return list(dict.fromkeys((m, line) for m, line in found if m.split(".")[0] == "autodiff_course"))


def upward_imports(path: Path, source: str | None = None) -> list[str]:
    """The imports of ``path`` that go against the layer order, as ``file:line imports module`` strings."""
    rel = path.relative_to(PACKAGE).as_posix()
    own = rel.split("/")[0].removesuffix(".py")
    if own == FACADE:
        return []
    bad = []
    for module, line in imports_of(path, source):
        target = _part(module)
        if target is None or target == own or (rel, module) in EXCEPTIONS:
            continue
        if own == "widgets":
            ok = target in WIDGETS_READ
        elif target in (FACADE, "widgets"):
            ok = False
        else:
            ok = ORDER.index(target) <= ORDER.index(own)
        if not ok:
            bad.append(f"{rel}:{line} imports {module}")
    return bad


def _sources():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_top_level_part_of_the_package_has_a_layer():
    parts = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in _sources()}
    assert parts - {FACADE, "widgets"} <= set(ORDER), parts - set(ORDER)


def test_no_module_imports_a_higher_layer():
    bad = [b for path in _sources() for b in upward_imports(path)]
    assert bad == []


def test_every_listed_exception_is_still_needed():
    still = {(p.relative_to(PACKAGE).as_posix(), m) for p in _sources() for m, _ in imports_of(p)}
    assert set(EXCEPTIONS) <= still, set(EXCEPTIONS) - still


@pytest.mark.parametrize("where, source, offender", [
    # A lazy import inside a function is still an import.
    ("engine/scalar.py", "def f():\n    from ..graph import Graph\n", "autodiff_course.graph"),
    ("graph/graph.py", "def f():\n    from autodiff_course.widgets import GraphStepper\n", "autodiff_course.widgets"),
    ("checks/judge.py", "from ..feedback.text import result_text\n", "autodiff_course.feedback.text"),
    ("engine/tensor.py", "import autodiff_course\n", "autodiff_course"),
    ("course/api.py", "from ..grading import batch\n", "autodiff_course.grading.batch"),
    ("feedback/html.py", "from .. import course\n", "autodiff_course.course"),
    ("widgets/steps.py", "from ..grading.store import ResultStore\n", "autodiff_course.grading.store"),
])
def test_an_added_upward_import_is_caught(where, source, offender):
    bad = upward_imports(PACKAGE / where, source)
    assert len(bad) == 1 and bad[0].endswith(f"imports {offender}"), bad


def test_downward_and_same_layer_imports_are_allowed():
    assert upward_imports(PACKAGE / "checks/judge.py", "from ..engine.errors import AutodiffError\n"
                          "from ..graph import Graph\nfrom .result import CheckResult\n") == []
