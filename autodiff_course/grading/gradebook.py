"""Scores into nbgrader's own gradebook, so `nbgrader export` and formgrader see them.

The assignment structure is recorded with nbgrader's own preprocessors run over the instructor's notebook, in
the order `nbgrader generate_assignment` runs them (`STRUCTURE_PIPELINE`); each submission's grades are then
set the way nbgrader's `SaveAutoGrades` sets them (`auto_score`, `needs_manual_grade`).
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

__all__ = ["STRUCTURE_PIPELINE", "db_url", "export_gradebook", "gradebook_totals", "write_gradebook"]

#: nbgrader preprocessors that record an assignment's cells, in generate_assignment's order.
STRUCTURE_PIPELINE = ("ClearSolutions", "ClearOutput", "ComputeChecksums", "SaveCells")


def db_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def _record_structure(url: str, config, source_nb) -> None:
    from nbgrader import preprocessors

    assert STRUCTURE_PIPELINE[-1] == "SaveCells" and STRUCTURE_PIPELINE.index("ComputeChecksums") \
        > STRUCTURE_PIPELINE.index("ClearSolutions"), "checksums are of the released (cleared) cells"
    nb = copy.deepcopy(source_nb)
    resources = {"nbgrader": {"notebook": config.notebook_stem, "assignment": config.assignment, "db_url": url}}
    for name in STRUCTURE_PIPELINE:
        nb, resources = getattr(preprocessors, name)().preprocess(nb, resources)


def write_gradebook(path: str | Path, results: list[dict], configs: dict, *, course_dir: str | Path) -> Path:
    """Record every assignment of `configs` and every handed-in submission of `results` in the nbgrader
    gradebook at `path` (created if absent; existing manual scores are kept). Returns the path.

    A student who handed nothing in gets no submission, as with `nbgrader autograde`; a notebook that could
    not be read gets a submission with zero scores, so the instructor sees it in formgrader."""
    from nbgrader.api import Gradebook, MissingEntry

    from autodiff_course.course.config import source_notebook_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    url = db_url(path)
    for config in configs.values():
        source = nbformat.read(source_notebook_path(course_dir, config), as_version=4)
        with Gradebook(url) as gb:
            try:
                notebook = gb.find_notebook(config.notebook_stem, config.assignment)
                known = {cell.name for cell in notebook.grade_cells}
            except MissingEntry:
                known = set()
        if known != {spec["id"] for spec in config.exercises} or not known:
            _record_structure(url, config, source)
    with Gradebook(url) as gb:
        for student in sorted({r["student"] for r in results}):
            gb.update_or_create_student(student)
        for result in results:
            if not result.get("handed_in", True) or result["assignment"] not in configs:
                continue
            config = configs[result["assignment"]]
            gb.update_or_create_submission(config.assignment, result["student"])
            for entry in result["exercises"]:
                grade = gb.find_grade(entry["id"], config.notebook_stem, config.assignment, result["student"])
                grade.auto_score = float(entry["score"])
                grade.needs_manual_grade = grade.manual_score is not None
            gb.db.commit()
    return path


def gradebook_totals(path: str | Path) -> dict[tuple[str, str], float]:
    """(student, assignment) -> total score, as nbgrader's gradebook computes it."""
    from nbgrader.api import Gradebook

    totals = {}
    with Gradebook(db_url(path)) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                totals[(submission.student.id, assignment.name)] = float(submission.score)
    return totals


def export_gradebook(*, gradebook: str | Path, to: str | Path) -> Path:
    """Write `student,assignment,score,max_score` for every submission in the gradebook to a CSV at `to`."""
    import csv

    from nbgrader.api import Gradebook

    to = Path(to)
    to.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with Gradebook(db_url(gradebook)) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                rows.append((submission.student.id, assignment.name, format(float(submission.score), "g"),
                             format(float(submission.max_score), "g")))
    with to.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("student", "assignment", "score", "max_score"))
        writer.writerows(sorted(rows))
    return to
