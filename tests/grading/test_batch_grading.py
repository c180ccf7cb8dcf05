"""The whole batch on the bundled example class plus deliberately broken hand-ins: grades.csv, feedback,
graded notebooks, the class report, nbgrader's gradebook, and idempotent re-runs.

One real grading run (sandboxed warm pool, real checkers) is shared by the module; later tests read its
outputs and re-run on top of it.
"""
from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

from autodiff_course.course.config import load_course
from autodiff_course.grading.batch import GRADES_CSV_COLUMNS, STATUSES, grade, publish
from autodiff_course.grading.gradebook import gradebook_totals
from autodiff_course.grading.records import RunResult, StoredResult
from autodiff_course.grading.store import RESULT_FORMAT, ResultStore

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "submitted"
ASSIGNMENT = "autodiff_by_hand"
# Two assignments keep the module's grading run short: the hand-written AD one (every function kind) and
# the PyTorch worksheet. The other three go through the same code paths (see test_nbgrader_parity, test_cli).
GRADED = [ASSIGNMENT, "worksheet"]

pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the example class is not built yet")


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def build_class(root: Path) -> Path:
    """The example class, plus students whose hand-ins are broken in every way the grader must survive."""
    subs = root / "submitted"
    shutil.copytree(EXAMPLES, subs)
    ada_nb = nbformat.read(EXAMPLES / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)

    # gina: ada's answers, but she edited the locked reverse test cell (and left a data file and a script).
    gina = nbformat.from_dict(json.loads(json.dumps(ada_nb)))
    for cell in gina.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "reverse":
            cell.source = "print('all good')  # I made the test pass"
    (subs / "gina" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(gina, subs / "gina" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    (subs / "gina" / ASSIGNMENT / "points.csv").write_text("1.8,2.4,0.7\n")
    (subs / "gina" / ASSIGNMENT / "helper.py").write_text("import os\n")

    # hal: a notebook that is not valid JSON, and a folder for an assignment the course does not have.
    (subs / "hal" / ASSIGNMENT).mkdir(parents=True)
    (subs / "hal" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [ {"cell_type": "code"')
    (subs / "hal" / "quiz").mkdir()

    # ivy: an empty notebook (no cells).
    (subs / "ivy" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), subs / "ivy" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")

    # kim: ada's notebook saved as nbformat 3 under another name; it must still earn ada's marks.
    (subs / "kim" / ASSIGNMENT).mkdir(parents=True)
    v3 = nbformat.convert(nbformat.from_dict(json.loads(json.dumps(ada_nb))), 3)
    (subs / "kim" / ASSIGNMENT / "my_work.ipynb").write_text(nbformat.writes(v3, version=3))
    return subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    subs = build_class(root)
    out = root / "graded"
    lines: list[str] = []
    summary = grade(course=REPO, submissions=subs, out=out, assignments=GRADED, jobs=2, progress=False,
                    report_line=lines.append, gradebook=out / "gradebook.db")
    configs = {a: c for a, c in load_course(REPO).items() if a in GRADED}
    return {"root": root, "subs": subs, "out": out, "summary": summary, "lines": lines,
            "csv": (out / "grades.csv").read_bytes(), "configs": configs}


def test_grades_csv_has_one_row_per_student_assignment_and_exercise(graded):
    rows = read_rows(graded["out"] / "grades.csv")
    assert tuple(rows[0]) == GRADES_CSV_COLUMNS
    configs = graded["configs"]
    students = sorted(p.name for p in graded["subs"].iterdir())
    expected = [(s, a, spec["id"]) for s in students for a, c in configs.items() for spec in c.exercises]
    assert [(r["student"], r["assignment"], r["exercise"]) for r in rows] == expected
    assert {r["status"] for r in rows} <= set(STATUSES)
    for r in rows:
        assert 0 <= float(r["score"]) <= float(r["max_score"])


def by_student(rows: list[dict]) -> dict:
    table: dict = defaultdict(dict)
    for r in rows:
        table[r["student"]][(r["assignment"], r["exercise"])] = (float(r["score"]), float(r["max_score"]),
                                                                 r["status"])
    return table


def test_the_instructors_solutions_earn_every_point_and_blank_notebooks_none(graded):
    table = by_student(read_rows(graded["out"] / "grades.csv"))
    assert all(score == top and status == "ok" for score, top, status in table["ada"].values()), table["ada"]
    # ben handed in the released stubs: every answer still raises NotImplementedError, so none is answered.
    blank = {k: v for k, v in table["ben"].items() if k[0] in (ASSIGNMENT, "worksheet")}
    assert blank and all(score == 0 and status == "unanswered" for score, _, status in blank.values()), blank


def test_typical_mistakes_lose_points_where_they_are_made(graded):
    table = by_student(read_rows(graded["out"] / "grades.csv"))
    chen = table["chen"]
    assert chen[(ASSIGNMENT, "reverse")][0] < chen[(ASSIGNMENT, "reverse")][1]
    assert chen[(ASSIGNMENT, "forward")][0] < chen[(ASSIGNMENT, "forward")][1]
    assert chen[(ASSIGNMENT, "decomposition")] == (2.0, 2.0, "ok")
    fatima = table["fatima"]
    assert fatima[(ASSIGNMENT, "graph")][2] == "failed"


def test_broken_hand_ins_are_rows_with_a_status_and_one_problem_line_each(graded):
    table = by_student(read_rows(graded["out"] / "grades.csv"))
    gina = table["gina"]
    assert gina[(ASSIGNMENT, "reverse")] == (4.0, 4.0, "tampered")  # graded with the instructor's test
    assert gina[(ASSIGNMENT, "forward")] == (3.0, 3.0, "ok")
    assert {status for _, _, status in table["hal"].values()} == {"error", "missing"}
    assert all(status == "error" for (a, _), (_, _, status) in table["hal"].items() if a == ASSIGNMENT)
    assert all(status == "missing" for (_, _, status) in table["ivy"].values())
    assert table["kim"] == {k: v for k, v in table["ada"].items() if k[0] == ASSIGNMENT} | {
        k: (0.0, v[1], "missing") for k, v in table["ada"].items() if k[0] != ASSIGNMENT}
    lines = "\n".join(graded["lines"])
    assert "hal/autodiff_by_hand:" in lines and "invalid JSON at line 1" in lines
    assert "unknown assignment 'quiz'" in lines
    assert "ivy/autodiff_by_hand:" in lines and "has no cells" in lines
    assert "kim/autodiff_by_hand:" in lines and "grading my_work.ipynb instead" in lines
    assert "gina/autodiff_by_hand:" in lines and "'reverse' tampered with" in lines
    assert "helper.py: ignored" in lines
    assert not any(line.startswith("ada/") for line in graded["lines"])


def test_feedback_pages_diagnose_without_revealing_hidden_tests(graded):
    out, configs = graded["out"], graded["configs"]
    for student in ("ada", "chen", "gina"):
        for assignment in configs:
            page_path = out / "feedback" / student / assignment / f"{assignment}.html"
            # nbgrader's layout: a page only for what was handed in (its timestamp file beside it).
            handed_in = any(r["student"] == student and r["assignment"] == assignment and r["handed_in"]
                            for r in graded["summary"].results)
            assert page_path.is_file() == handed_in, (student, assignment)
            if not handed_in:
                continue
            assert (page_path.parent / "timestamp.txt").is_file()
            page = page_path.read_text()
            assert "<html" in page and student in page
            assert "HIDDEN TESTS" not in page
            for spec in configs[assignment].exercises:
                for point in spec["hidden_points"]:
                    assert ", ".join(repr(v) for v in point) not in page, (student, assignment, point)
    chen = (out / "feedback" / "chen" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "reverse" in chen and "vbar0" in chen  # the diagnosis names the culprit adjoint


def test_graded_notebooks_carry_run_outputs_and_feedback_not_hidden_tests(graded):
    path = graded["out"] / "autograded" / "chen" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    tests = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "reverse"]
    assert len(tests) == 1 and "HIDDEN TESTS" not in tests[0].source
    text = tests[0].outputs[0]["data"]["text/plain"]
    assert text.startswith("[failed]")
    printed = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if o["output_type"] == "stream"]
    assert printed, "the students' own print output is kept"


def test_class_report_has_distribution_means_mistakes_and_flags(graded):
    report = (graded["out"] / "report.html").read_text()
    assert "<svg" in report
    for assignment, config in graded["configs"].items():
        assert assignment in report
        for spec in config.exercises:
            assert f"<td>{spec['id']}</td>" in report
    flagged = report.split("Tampered, failed and unreadable submissions")[1]
    assert "gina" in flagged and "tampered" in flagged and "hal" in flagged
    assert "<td>ada</td>" not in flagged and "<td>chen</td>" not in flagged
    assert "<td>ben</td>" not in flagged  # blank notebooks are unanswered, not failed


def test_gradebook_holds_the_grades_csv_totals(graded):
    rows = read_rows(graded["out"] / "grades.csv")
    ours: dict = defaultdict(float)
    for r in rows:
        ours[(r["student"], r["assignment"])] += float(r["score"])
    totals = gradebook_totals(graded["out"] / "gradebook.db")
    assert totals and all(totals[key] == pytest.approx(ours[key], abs=1e-9) for key in totals)
    # Hand-ins that exist are in the gradebook; assignments never handed in are not.
    assert ("ada", ASSIGNMENT) in totals and ("gina", "worksheet") not in totals


def test_a_second_run_grades_nothing_and_rewrites_identical_outputs(graded):
    out = graded["out"]
    report_before = (out / "report.html").read_bytes()
    feedback_before = (out / "feedback" / "chen" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_bytes()
    summary = grade(course=REPO, submissions=graded["subs"], out=out, assignments=GRADED, jobs=2,
                    progress=False, report_line=lambda line: None, gradebook=out / "gradebook.db")
    assert summary.graded == 0 and summary.reused == len(summary.results)
    assert (out / "grades.csv").read_bytes() == graded["csv"]
    assert (out / "report.html").read_bytes() == report_before
    assert (out / "feedback" / "chen" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_bytes() == feedback_before


def test_a_changed_hand_in_is_regraded_and_only_it(graded, tmp_path):
    out = tmp_path / "graded"
    shutil.copytree(graded["out"], out)
    subs = tmp_path / "submitted"
    shutil.copytree(graded["subs"], subs)
    # ben hands in ada's work for one assignment: just that one is graded again.
    shutil.copy(subs / "ada" / "worksheet" / "worksheet.ipynb",
                subs / "ben" / "worksheet" / "worksheet.ipynb")
    summary = grade(course=REPO, submissions=subs, out=out, assignments=GRADED, jobs=1, progress=False,
                    report_line=lambda line: None, gradebook=out / "gradebook.db")
    assert summary.graded == 1
    table = by_student(read_rows(out / "grades.csv"))
    assert {k: v for k, v in table["ben"].items() if k[0] == "worksheet"} == {
        k: v for k, v in table["ada"].items() if k[0] == "worksheet"}


def test_every_stored_result_reads_back_as_the_record_it_was_written_from(graded):
    # The grader's own results, broken hand-ins included: read back and written again they are the same JSON,
    # so what an earlier run stored is reused and judged again as it was.
    statuses = set()
    stored = ResultStore(graded["out"]).all()
    assert len(stored) == len(graded["summary"].results)
    for data in stored:
        data = dict(data)
        assert data.pop("format") == RESULT_FORMAT
        record = StoredResult.from_dict(data)
        assert record.to_dict() == data
        if record.run is not None:
            assert RunResult.from_dict(record.run).to_dict() == record.run
            runs = record.run
        statuses |= {entry.status for entry in record.exercises}
    assert {"ok", "failed", "tampered", "missing", "error"} <= statuses, statuses
    with pytest.raises(KeyError, match="run_key"):
        StoredResult.from_dict({k: v for k, v in data.items() if k != "run_key"})
    with pytest.raises(TypeError, match="unknown fields"):
        StoredResult.from_dict({**data, "exercises": [{**data["exercises"][0], "bonus": 1}]})
    for broken in ({**runs, "extra": 1}, {**runs, "cells": [{"index": 0}]}, {**runs, "cells": {}}, []):
        with pytest.raises(ValueError, match="not a run"):
            RunResult.from_dict(broken)


def test_feedback_command_rebuilds_outputs_from_stored_results_alone(graded, tmp_path):
    out = tmp_path / "graded"
    shutil.copytree(graded["out"], out)
    for name in ("grades.csv", "report.html"):
        (out / name).unlink()
    shutil.rmtree(out / "feedback")
    publish(out=out, course=REPO, gradebook=out / "gradebook.db")
    assert (out / "grades.csv").read_bytes() == graded["csv"]
    assert (out / "feedback" / "chen" / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()
    assert "<svg" in (out / "report.html").read_text()


def test_an_answer_cell_that_stops_with_an_error_is_an_error_not_unanswered(graded):
    # emil wrote `y_grad_fn = y.grad_fn.name()`, but his x (create_x) has no requires_grad, so y.grad_fn is None
    # and his answer cell stops with AttributeError: he answered, and the feedback must say why nothing was set.
    rows = [r for r in read_rows(graded["out"] / "grades.csv")
            if (r["student"], r["assignment"], r["exercise"]) == ("emil", "worksheet", "grad_fn_names")]
    assert [(r["score"], r["status"]) for r in rows] == [("0", "error")]
    page = (graded["out"] / "feedback" / "emil" / "worksheet" / "worksheet.html").read_text()
    section = page[page.index('id="grad_fn_names"'):page.index('id="grad_before"')]
    assert "Your answer cell stopped with AttributeError" in section
    assert "Not answered yet" not in section
