"""Helpers of the course tests: where the notebooks are, and running them with nbclient.

Each notebook runs in a fresh kernel of the `python3` kernelspec; jupyter_client starts it with this
interpreter (`sys.executable`), so the kernel sees the same installed packages as the tests.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENTS = ["autodiff_by_hand", "autograd_basics", "chain_rule_training", "tensors_grad_fn", "worksheet"]


def execute(path: Path, *, allow_errors: bool = False, timeout: int = 120):
    """`path` executed top to bottom in a fresh kernel, from the notebook's own folder."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


def execute_all(paths: list[Path], *, allow_errors: bool) -> dict[Path, nbformat.NotebookNode]:
    # Kernels are separate processes, so threads are enough to overlap them.
    os.environ.setdefault("MPLBACKEND", "Agg")
    with ThreadPoolExecutor(max_workers=min(5, len(paths))) as pool:
        notebooks = list(pool.map(lambda p: execute(p, allow_errors=allow_errors), paths))
    return dict(zip(paths, notebooks, strict=True))


def source_path(assignment: str) -> Path:
    return REPO / "notebooks" / assignment / f"{assignment}.ipynb"


def grade_cells(nb):
    """(grade_id, cell) for every autograded test cell of `nb`, in order."""
    return [(c.metadata["nbgrader"]["grade_id"], c) for c in nb.cells
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]
