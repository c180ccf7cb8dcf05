"""Scores written to nbgrader's own gradebook are what `nbgrader export` (the real CLI) reports."""
from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from autodiff_course.course.config import load_course
from autodiff_course.grading.batch import csv_rows
from autodiff_course.grading.gradebook import (
    EXPORT_COLUMNS,
    export_gradebook,
    export_rows,
    gradebook_totals,
    write_gradebook,
)

NBGRADER = Path(sys.executable).with_name("nbgrader")

CONFIG = """\
assignment = "demo"
notebook = "demo.ipynb"
title = "Demo"

[[exercise]]
id = "ex_a"
kind = "variables"
points = 2
variables = ["x"]
[[exercise.expect]]
check = "x"
equals = "1"

[[exercise]]
id = "ex_b"
kind = "variables"
points = 3
variables = ["y"]
[[exercise.expect]]
check = "y"
equals = "2"
"""


def make_course(root: Path) -> dict:
    (root / "graders").mkdir(parents=True)
    (root / "graders" / "demo.toml").write_text(CONFIG)
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = None\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION",
                                              metadata={"nbgrader": {"solution": True, "grade": False,
                                                                     "locked": False, "grade_id": "answer_a",
                                                                     "schema_version": 3}}))
    for grade_id, points in (("ex_a", 2), ("ex_b", 3)):
        nb.cells.append(nbformat.v4.new_code_cell(f"grade('demo', '{grade_id}')", metadata={"nbgrader": {
            "solution": False, "grade": True, "locked": True, "grade_id": grade_id, "points": points,
            "schema_version": 3}}))
    (root / "notebooks" / "demo").mkdir(parents=True)
    nbformat.write(nb, root / "notebooks" / "demo" / "demo.ipynb")
    return load_course(root)


def result(student: str, scores: dict, *, handed_in: bool = True, status: str = "ok") -> dict:
    exercises = [{"id": k, "kind": "variables", "max_score": m, "score": s, "status": status, "check": None}
                 for k, (s, m) in scores.items()]
    return {"student": student, "assignment": "demo", "notebook": "demo.ipynb", "handed_in": handed_in,
            "fingerprint": "f", "problems": [], "tampered": {}, "exercises": exercises,
            "score": sum(s for s, _ in scores.values()), "max_score": 5.0}


RESULTS = [
    result("ann", {"ex_a": (2.0, 2.0), "ex_b": (1.5, 3.0)}),
    result("bo", {"ex_a": (0.0, 2.0), "ex_b": (3.0, 3.0)}),
    result("cy", {"ex_a": (0.0, 2.0), "ex_b": (0.0, 3.0)}, handed_in=False, status="missing"),
]


def test_gradebook_totals_equal_the_grades_csv_totals(tmp_path):
    configs = make_course(tmp_path / "course")
    db = write_gradebook(tmp_path / "gradebook.db", RESULTS, configs, course_dir=tmp_path / "course")
    totals = gradebook_totals(db)
    assert totals == {("ann", "demo"): 3.5, ("bo", "demo"): 3.0}  # cy handed nothing in: no submission
    # Writing again (a repeated run) changes nothing and creates no duplicates.
    write_gradebook(db, RESULTS, configs, course_dir=tmp_path / "course")
    assert gradebook_totals(db) == totals


def test_manual_scores_survive_a_regrade(tmp_path):
    from nbgrader.api import Gradebook

    configs = make_course(tmp_path / "course")
    db = write_gradebook(tmp_path / "gradebook.db", RESULTS, configs, course_dir=tmp_path / "course")
    with Gradebook(f"sqlite:///{db}") as gb:
        grade = gb.find_grade("ex_b", "demo", "demo", "ann")
        grade.manual_score = 3.0
        gb.db.commit()
    write_gradebook(db, RESULTS, configs, course_dir=tmp_path / "course")
    with Gradebook(f"sqlite:///{db}") as gb:
        grade = gb.find_grade("ex_b", "demo", "demo", "ann")
        assert (grade.auto_score, grade.manual_score, grade.score) == (1.5, 3.0, 3.0)
        assert grade.needs_manual_grade is True


def _nbgrader_export(tmp_path, db) -> list[dict]:
    """Rows of the real `nbgrader export` CLI over the gradebook `db`."""
    work = tmp_path / "nbgrader_home"
    work.mkdir()
    (work / "nbgrader_config.py").write_text(textwrap.dedent(f"""\
        c = get_config()
        c.CourseDirectory.root = {str(work)!r}
        c.CourseDirectory.db_url = {f"sqlite:///{db}"!r}
        """))
    exported = work / "export.csv"
    proc = subprocess.run([str(NBGRADER), "export", f"--CsvExportPlugin.to={exported}"], cwd=work,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with exported.open() as handle:
        return list(csv.DictReader(handle))


def test_nbgrader_export_cli_reports_the_same_totals_as_grades_csv(tmp_path):
    configs = make_course(tmp_path / "course")
    db = write_gradebook(tmp_path / "gradebook.db", RESULTS, configs, course_dir=tmp_path / "course")
    rows = _nbgrader_export(tmp_path, db)
    nbgrader_totals = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    ours: dict = {}
    for student, assignment, _nb, _ex, score, _max, _status in csv_rows(RESULTS, configs):
        ours[(student, assignment)] = ours.get((student, assignment), 0.0) + float(score)
    # nbgrader lists every student with a zero for an assignment not handed in, as grades.csv does.
    assert nbgrader_totals == pytest.approx(ours, abs=1e-9)
    assert {r["student_id"] for r in rows} == {"ann", "bo", "cy"}


def test_our_export_has_the_rows_and_columns_of_nbgrader_export(tmp_path):
    configs = make_course(tmp_path / "course")
    db = write_gradebook(tmp_path / "gradebook.db", RESULTS, configs, course_dir=tmp_path / "course")
    path = export_gradebook(gradebook=db, to=tmp_path / "out.csv")
    with path.open() as handle:
        ours = list(csv.DictReader(handle))
    theirs = _nbgrader_export(tmp_path, db)
    assert list(ours[0]) == list(theirs[0])
    numeric = ("raw_score", "late_submission_penalty", "score", "max_score")
    assert len(ours) == len(theirs) == 3  # cy handed nothing in and is still a row, with 0
    for mine, nb in zip(sorted(ours, key=lambda r: r["student_id"]), sorted(theirs, key=lambda r: r["student_id"]),
                        strict=True):
        assert {k: v for k, v in mine.items() if k not in numeric} == {
            k: v for k, v in nb.items() if k not in numeric}
        for key in numeric:  # ours rounded to 4 places: "3.5", never "3.4999999999999996"
            assert float(mine[key]) == pytest.approx(float(nb[key]), abs=5e-5)
            assert len(mine[key].partition(".")[2]) <= 4
    assert [(r["student_id"], r["score"]) for r in sorted(ours, key=lambda r: r["student_id"])] == [
        ("ann", "3.5"), ("bo", "3"), ("cy", "0")]


ODD_IDS = ["a,b", 'q"uote,comma', "semi;colon", "tab\tin", "spa ce", "'apos", "back\\slash", "ünï,cødé"]


def test_export_round_trips_student_ids_with_commas_quotes_and_odd_characters(tmp_path):
    # A student id is a folder name the student may choose; nbgrader's exporter joins cells with bare commas, so
    # before this the re-read row had a field too many and the whole class's export failed.
    configs = make_course(tmp_path / "course")
    odd = [result(sid, {"ex_a": (2.0, 2.0), "ex_b": (float(i % 4), 3.0)}) for i, sid in enumerate(ODD_IDS)]
    db = write_gradebook(tmp_path / "gradebook.db", RESULTS + odd, configs, course_dir=tmp_path / "course")
    path = export_gradebook(gradebook=db, to=tmp_path / "out.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert all(len(r) == len(EXPORT_COLUMNS) for r in rows)
    by_id = {r[3]: r for r in rows[1:]}
    assert set(by_id) == {"ann", "bo", "cy", *ODD_IDS}
    totals = gradebook_totals(db)
    for sid in ODD_IDS:
        assert by_id[sid][0] == "demo"
        assert float(by_id[sid][9]) == totals[(sid, "demo")] == 2.0 + ODD_IDS.index(sid) % 4
        assert by_id[sid][10] == "5"


def test_export_rows_equal_nbgrader_exports_cell_for_cell_on_plain_ids(tmp_path):
    configs = make_course(tmp_path / "course")
    db = write_gradebook(tmp_path / "gradebook.db", RESULTS, configs, course_dir=tmp_path / "course")
    assert sorted(export_rows(db), key=lambda r: r["student_id"]) == sorted(
        _nbgrader_export(tmp_path, db), key=lambda r: r["student_id"])
