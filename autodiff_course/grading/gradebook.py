"""Scores into nbgrader's own gradebook, so `nbgrader export` and formgrader see them.

The assignment structure is recorded with nbgrader's own preprocessors run over the instructor's notebook, in
the order `nbgrader generate_assignment` runs them (`STRUCTURE_PIPELINE`); each submission's grades are then
set the way nbgrader's `SaveAutoGrades` sets them (`auto_score`, `needs_manual_grade`).
"""
from __future__ import annotations

import copy
import os
import shutil
import sys
import warnings
from pathlib import Path

import nbformat

__all__ = ["STRUCTURE_PIPELINE", "course_id", "db_url", "export", "export_gradebook", "gradebook_totals",
           "write_gradebook"]

#: nbgrader preprocessors that record an assignment's cells, in generate_assignment's order.
STRUCTURE_PIPELINE = ("ClearSolutions", "ClearOutput", "ComputeChecksums", "SaveCells")


def db_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def url_path(url: str) -> Path:
    return Path(url[len("sqlite:///"):])


def _alembic_on_path() -> None:
    """nbgrader's Gradebook runs the `alembic` command found on PATH when it creates a database; a venv used
    without activation (`.venv/bin/python -m ...`) has it only next to the interpreter."""
    if shutil.which("alembic") is None:
        here = str(Path(sys.executable).parent)
        if (Path(here) / "alembic").exists():
            os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")


def _stamp_new_database(path: Path) -> None:
    """Create an empty gradebook stamped with nbgrader's alembic head, as `Gradebook()` does for a new file,
    but reading the head in-process: nbgrader shells out to `alembic heads`, which costs seconds."""
    import sqlite3

    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
    tmp = path.with_name(f".{path.name}.new")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(tmp) as con:
        con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        con.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (head,))
    con.close()
    os.replace(tmp, path)


def course_id(course_dir: str | Path) -> str:
    """The `CourseDirectory.course_id` of the course's nbgrader_config.py (nbgrader's default if unset)."""
    config_file = Path(course_dir) / "nbgrader_config.py"
    if config_file.is_file():
        from traitlets.config.loader import PyFileConfigLoader

        try:
            config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
            value = config.CourseDirectory.get("course_id")
            if isinstance(value, str) and value.strip():
                return value.strip()
        except Exception:  # noqa: BLE001 - an unreadable config leaves nbgrader's default
            pass
    return "default_course"


def _gradebook(path: str | Path, course: str = "default_course"):
    from nbgrader.api import Gradebook

    path = Path(path)
    if not path.exists():
        try:
            _stamp_new_database(path)
        except Exception:  # noqa: BLE001 - nbgrader's own (slower) way still works
            _alembic_on_path()
    return Gradebook(db_url(path), course)


def _record_structure(url: str, config, source_nb, course: str) -> None:
    from nbgrader import preprocessors

    _alembic_on_path()
    assert STRUCTURE_PIPELINE[-1] == "SaveCells" and STRUCTURE_PIPELINE.index("ComputeChecksums") \
        > STRUCTURE_PIPELINE.index("ClearSolutions"), "checksums are of the released (cleared) cells"
    with _gradebook(url_path(url), course) as gb:
        gb.update_or_create_assignment(config.assignment)
    nb = copy.deepcopy(source_nb)
    resources = {"nbgrader": {"notebook": config.notebook_stem, "assignment": config.assignment,
                              "db_url": url}}
    for name in STRUCTURE_PIPELINE:
        nb, resources = getattr(preprocessors, name)().preprocess(nb, resources)


def write_gradebook(path: str | Path, results: list[dict], configs: dict, *, course_dir: str | Path) -> Path:
    """Record every assignment of `configs` and every handed-in submission of `results` in the nbgrader
    gradebook at `path` (created if absent; existing manual scores are kept). Returns the path.

    A student who handed nothing in gets no submission, as with `nbgrader autograde`; a notebook that could
    not be read gets a submission with zero scores, so the instructor sees it in formgrader."""
    from nbgrader.api import MissingEntry

    from autodiff_course.course.config import source_notebook_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    url = db_url(path)
    course = course_id(course_dir)
    for config in configs.values():
        source = nbformat.read(source_notebook_path(course_dir, config), as_version=4)
        with _gradebook(path, course) as gb:
            try:
                notebook = gb.find_notebook(config.notebook_stem, config.assignment)
                known = {cell.name for cell in notebook.grade_cells}
            except MissingEntry:
                known = set()
        if known != {spec["id"] for spec in config.exercises} or not known:
            _record_structure(url, config, source, course)
    with _gradebook(path, course) as gb:
        for student in sorted({r["student"] for r in results}):
            gb.update_or_create_student(student)
        for result in results:
            if not result.get("handed_in", True) or result["assignment"] not in configs:
                continue
            config = configs[result["assignment"]]
            with warnings.catch_warnings():
                # nbgrader's own add_submission trips SQLAlchemy autoflush warnings; they are harmless there.
                warnings.simplefilter("ignore", category=Warning)
                gb.update_or_create_submission(config.assignment, result["student"])
            for entry in result["exercises"]:
                grade = gb.find_grade(entry["id"], config.notebook_stem, config.assignment, result["student"])
                grade.auto_score = float(entry["score"])
                grade.needs_manual_grade = grade.manual_score is not None
            gb.db.commit()
    return path


def gradebook_totals(path: str | Path) -> dict[tuple[str, str], float]:
    """(student, assignment) -> total score, as nbgrader's gradebook computes it."""
    totals = {}
    with _gradebook(path) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                totals[(submission.student.id, assignment.name)] = float(submission.score)
    return totals


def export_gradebook(*, gradebook: str | Path, to: str | Path) -> Path:
    """Write `student,assignment,score,max_score` for every submission in the gradebook to a CSV at `to`."""
    import csv

    to = Path(to)
    to.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with _gradebook(gradebook) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                rows.append((submission.student.id, assignment.name, format(float(submission.score), "g"),
                             format(float(submission.max_score), "g")))
    with to.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("student", "assignment", "score", "max_score"))
        writer.writerows(sorted(rows))
    return to


def export(*, out: str | Path = "graded", gradebook: str | Path | None = None,
           to: str | Path | None = None) -> Path:
    """The `export` command: totals of the gradebook (default `<out>/gradebook.db`) as CSV at `to` (default
    `<out>/gradebook_export.csv`). Raises FileNotFoundError naming the gradebook if there is none."""
    out = Path(out)
    db = Path(gradebook) if gradebook is not None else out / "gradebook.db"
    if not db.is_file():
        raise FileNotFoundError(f"{db}: no gradebook (run `autodiff-course grade` first)")
    return export_gradebook(gradebook=db, to=Path(to) if to is not None else out / "gradebook_export.csv")
