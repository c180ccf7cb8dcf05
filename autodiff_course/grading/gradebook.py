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

__all__ = ["EXPORT_COLUMNS", "STRUCTURE_PIPELINE", "course_id", "db_url", "export", "export_gradebook",
           "export_rows", "gradebook_duedates", "gradebook_students", "gradebook_totals", "write_gradebook"]

#: The columns of `nbgrader export` (nbgrader's CsvExportPlugin), which `export` writes too.
EXPORT_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                  "raw_score", "late_submission_penalty", "score", "max_score")

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
                known = {cell.name: float(cell.max_score) for cell in notebook.grade_cells}
            except MissingEntry:
                known = {}
        # Points changed since the last run re-record the structure, so max scores follow the config.
        if known != {spec["id"]: float(spec["points"]) for spec in config.exercises} or not known:
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
                submission = gb.update_or_create_submission(config.assignment, result["student"])
            _record_lateness(gb, submission, result, config)
            for entry in result["exercises"]:
                grade = gb.find_grade(entry["id"], config.notebook_stem, config.assignment, result["student"])
                grade.auto_score = float(entry["score"])
                grade.needs_manual_grade = grade.manual_score is not None
            gb.db.commit()
    return path


def _record_lateness(gb, submission, result: dict, config) -> None:
    """Hand-in time, extension and penalty as nbgrader keeps them (the penalty on the submitted notebook), so
    formgrader and `nbgrader export` show the same late work as grades.csv."""
    import datetime

    from autodiff_course.course.late import parse_time

    late = result.get("late") or {}
    submission.timestamp = parse_time(result["timestamp"]) if result.get("timestamp") else None
    hours = late.get("extension_hours") or 0.0
    submission.extension = datetime.timedelta(hours=hours) if hours else None
    if late.get("due") and submission.assignment.duedate is None:
        submission.assignment.duedate = parse_time(late["due"]) - datetime.timedelta(hours=hours)
    for notebook in submission.notebooks:
        if notebook.name == config.notebook_stem:
            notebook.late_submission_penalty = float(late.get("penalty") or 0.0) or None


def gradebook_students(path: str | Path) -> list[str]:
    """The ids of the students in the gradebook at `path`, sorted; [] if there is no gradebook."""
    if not Path(path).is_file():
        return []
    with _gradebook(path, _course_of(path)) as gb:
        return sorted(student.id for student in gb.students)


def gradebook_duedates(path: str | Path) -> dict[str, object]:
    """assignment -> due date (naive UTC) recorded in the gradebook at `path`; {} if there is no gradebook."""
    if not Path(path).is_file():
        return {}
    with _gradebook(path, _course_of(path)) as gb:
        return {a.name: a.duedate for a in gb.assignments if a.duedate is not None}


def gradebook_totals(path: str | Path) -> dict[tuple[str, str], float]:
    """(student, assignment) -> total score, as nbgrader's gradebook computes it."""
    totals = {}
    with _gradebook(path) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                totals[(submission.student.id, assignment.name)] = float(submission.score)
    return totals


def export_rows(gradebook: str | Path) -> list[dict]:
    """The rows of nbgrader's export of the gradebook, with nbgrader's own values and rules (its
    `CsvExportPlugin`: one row per assignment and student in the gradebook's order, a missing submission with an
    empty timestamp and zeros, the score the raw score less the penalty but never below zero, None as "").
    Built from the gradebook rather than by re-reading the plugin's file: the plugin joins the cells with commas
    unquoted, so a student id with a comma (a folder name a student chose) shifted every later column."""
    from nbgrader.api import MissingEntry

    rows = []
    with _gradebook(gradebook, _course_of(gradebook)) as gb:
        for assignment in gb.assignments:
            for student in gb.students:
                row = {"assignment": assignment.name, "duedate": assignment.duedate, "student_id": student.id,
                       "last_name": student.last_name, "first_name": student.first_name,
                       "email": student.email, "max_score": assignment.max_score}
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
                else:
                    penalty = sub.late_submission_penalty
                    row.update(timestamp=sub.timestamp, raw_score=sub.score, late_submission_penalty=penalty,
                               score=max(0.0, sub.score - penalty))
                rows.append({k: "" if row[k] is None else str(row[k]) for k in EXPORT_COLUMNS})
    return rows


def export_gradebook(*, gradebook: str | Path, to: str | Path, places: int = 4) -> Path:
    """Write nbgrader's export of the gradebook (`export_rows`, columns `EXPORT_COLUMNS`) to `to` as a quoted
    CSV, scores rounded to `places` decimals and text cells a spreadsheet would run as a formula quoted."""
    import csv

    from autodiff_course.grading.store import spreadsheet_row

    numeric = ("raw_score", "late_submission_penalty", "score", "max_score")
    to = Path(to)
    to.parent.mkdir(parents=True, exist_ok=True)
    with to.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for row in export_rows(gradebook):
            writer.writerow(spreadsheet_row([_rounded(row[k], places) if k in numeric else row[k]
                                             for k in EXPORT_COLUMNS]))
    return to


def _rounded(text: str, places: int) -> str:
    try:
        value = round(float(text), places)
    except ValueError:
        return text
    return format(value, "g") if abs(value) < 1e15 else text


def _course_of(path: str | Path) -> str:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True) as con:
            row = con.execute("SELECT id FROM course LIMIT 1").fetchone()
    except sqlite3.Error:
        return "default_course"
    return row[0] if row else "default_course"


def export(*, out: str | Path = "graded", gradebook: str | Path | None = None,
           to: str | Path | None = None, course: str | Path | None = None) -> Path:
    """The `export` command: nbgrader's export of the gradebook (default: the one the course's
    nbgrader_config.py names) as CSV at `to` (default `<out>/gradebook_export.csv`). Raises
    FileNotFoundError naming the gradebook if there is none."""
    from autodiff_course.course.config import find_course_dir
    from autodiff_course.course.release import course_gradebook

    out = Path(out)
    if gradebook is None or str(gradebook) == "course":
        db = course_gradebook(find_course_dir(course) if course is None else Path(course))
    else:
        db = Path(gradebook)
    if not db.is_file():
        raise FileNotFoundError(f"{db}: no gradebook (run `autodiff-course grade` first)")
    return export_gradebook(gradebook=db, to=Path(to) if to is not None else out / "gradebook_export.csv")
