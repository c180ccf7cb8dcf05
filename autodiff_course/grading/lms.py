"""Grades for a learning management system, read from nbgrader's gradebook (after late penalties).

Both files have one row per student and one column per assignment, in the gradebook's order:
- Canvas (gradebook import): `Student`, `ID`, `SIS User ID`, `SIS Login ID`, `Section`, then one column per
  assignment, and a second row `Points Possible` with each assignment's maximum. Canvas matches students by
  `SIS Login ID` (here the nbgrader student id); `ID` and `SIS User ID` are left blank for Canvas to fill.
- Moodle (grade import, CSV): `Username`, `Email address`, then one column per assignment; on import map
  `Username` to the user's username and each assignment column to its grade item.
A student with no submission gets a blank cell (Canvas and Moodle leave the grade alone) or, with
`missing="zero"`, 0. Scores are rounded to `places` decimals (default 2, formgrader's display precision).
"""
from __future__ import annotations

import csv
from pathlib import Path

from autodiff_course.grading.store import spreadsheet_row

__all__ = ["CANVAS_COLUMNS", "MOODLE_COLUMNS", "lms_export"]

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("Username", "Email address")


def _number(value: float, places: int) -> str:
    text = f"{round(float(value), places):.{places}f}".rstrip("0").rstrip(".") if places else str(round(value))
    return text if text not in ("", "-0") else "0"


def _table(gradebook: Path) -> tuple[list, list, dict]:
    """(assignments as (name, max score), students as nbgrader Student data, {(student, assignment): score})."""
    from autodiff_course.grading.gradebook import _course_of, _gradebook

    with _gradebook(gradebook, _course_of(gradebook)) as gb:
        assignments = [(a.name, float(a.max_score)) for a in gb.assignments]
        students = [{"id": s.id, "first": s.first_name or "", "last": s.last_name or "", "email": s.email or ""}
                    for s in sorted(gb.students, key=lambda s: s.id)]
        scores = {}
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                # nbgrader export's rule: the penalty comes off the raw score, never below zero.
                scores[(sub.student.id, assignment.name)] = max(0.0, float(sub.score)
                                                                 - float(sub.late_submission_penalty or 0.0))
    return assignments, students, scores


def lms_export(*, gradebook: str | Path, to: str | Path, lms: str, missing: str = "blank",
               places: int = 2, section: str = "") -> Path:
    """Write the `lms` ("canvas" or "moodle") import CSV of the gradebook to `to` (see the module docstring).
    Raises ValueError for an unknown `lms` or `missing` or a `places` that is no count >= 0,
    FileNotFoundError if there is no gradebook."""
    if isinstance(places, bool) or not isinstance(places, int) or places < 0:
        raise ValueError(f"--places {places!r}: expected a number of decimal places >= 0 (e.g. 2)")
    if lms not in ("canvas", "moodle"):
        raise ValueError(f"unknown LMS {lms!r}; expected canvas or moodle")
    if missing not in ("blank", "zero"):
        raise ValueError(f"--missing {missing!r}; expected blank or zero")
    gradebook = Path(gradebook)
    if not gradebook.is_file():
        raise FileNotFoundError(f"{gradebook}: no gradebook (run `autodiff-course grade` first)")
    assignments, students, scores = _table(gradebook)
    names = [name for name, _ in assignments]

    def cell(student: str, name: str) -> str:
        if (student, name) in scores:
            return _number(scores[(student, name)], places)
        return "0" if missing == "zero" else ""

    rows: list[list[str]] = []
    if lms == "canvas":
        rows.append([*CANVAS_COLUMNS, *names])
        rows.append(["Points Possible", "", "", "", "", *(_number(top, places) for _, top in assignments)])
        for s in students:
            shown = f"{s['last']}, {s['first']}" if s["last"] and s["first"] else (s["last"] or s["id"])
            rows.append([shown, "", "", s["id"], section, *(cell(s["id"], n) for n in names)])
    else:
        rows.append([*MOODLE_COLUMNS, *names])
        for s in students:
            rows.append([s["id"], s["email"], *(cell(s["id"], n) for n in names)])
    to = Path(to)
    to.parent.mkdir(parents=True, exist_ok=True)
    with to.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(spreadsheet_row(row) for row in rows)
    return to
