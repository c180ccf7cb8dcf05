"""The instructor's own solutions, run through their test cells (`autodiff-course sync-notebooks --check
--solutions`): what `nbgrader validate` does for the source notebook, with each shortfall named by exercise.

The source notebook runs in a kernel of its own, under nbgrader's `Execute` preprocessor (the one `nbgrader
validate` and `autograde` use); nbgrader's `determine_grade` reads each test cell's points from its output, as
it will for a student. The notebook is the instructor's, so it is trusted; nothing is written back.
"""
from __future__ import annotations

from pathlib import Path

from .config import AssignmentConfig, source_notebook_path

__all__ = ["solution_problems"]


def solution_problems(course_dir: str | Path, config: AssignmentConfig, nb=None, *,
                      timeout: int = 120) -> list[str]:
    """One line per exercise of `config` whose test cell, in the course's source notebook (or `nb`, e.g. the
    notebook as `sync_notebooks` would write it) run from the top, earns less than its points with the
    instructor's solutions (or errors); [] when every one earns full marks. A notebook that cannot be run is
    one line saying why. Each cell may run `timeout` seconds."""
    import copy

    import nbformat
    from nbgrader.preprocessors import Execute
    from nbgrader.utils import determine_grade, setenv

    path = source_notebook_path(course_dir, config)
    nb = nbformat.read(path, as_version=4) if nb is None else copy.deepcopy(nb)
    try:
        with setenv(NBGRADER_VALIDATING="1", NBGRADER_EXECUTION="validate"):
            nb, _ = Execute(timeout=timeout).preprocess(nb, {"metadata": {"path": str(path.parent)}})
    except Exception as exc:  # noqa: BLE001 - a kernel that does not start is reported, not raised
        return [f"{path}: could not be run to check the solutions ({type(exc).__name__}: {exc})"]
    wanted = {spec["id"]: spec for spec in config.exercises}
    problems = []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        spec = wanted.get(meta.get("grade_id"))
        if spec is None or meta.get("solution") or cell.cell_type != "code":
            continue
        score, points = determine_grade(cell)
        if score is not None and score < points:
            error = next((f"; it raised {o.get('ename')}: {o.get('evalue')}" for o in cell.outputs
                          if o.get("output_type") == "error"), "")
            problems.append(f"{path}: exercise {spec['id']!r}: the instructor's solution earns {score:g} of "
                            f"{points:g} points in test cell {index}{error} (open the notebook and run it to "
                            "see the check's feedback)")
    return problems
