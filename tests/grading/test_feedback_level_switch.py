"""Changing an exercise's graded-feedback level after grading and running `autodiff-course feedback` reaches the
graded notebooks too, not only the feedback pages: nbgrader's `generate_feedback` and formgrader render the
test cells of `autograded/<student>/<assignment>/<notebook>`, which kept the level of the day they were graded.

One real grading run (sandbox, real checkers, nbgrader's gradebook) of a small copy of the example course: the
hand-written AD assignment, handed in by ada (every answer right) and chen (a wrong sign in the forward pass, a
missing path in the reverse pass), graded at `solution` as the course ships it."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader_support import nbgrader

from autodiff_course.grading.batch import feedback, grade

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "autodiff_by_hand"
STUDENTS = ("ada", "chen")
#: The course ships the hand-written AD assignment's graded feedback at `solution` (the fixture checks it).
SHIPPED = '[reveal]\nnotebook = "hint"\nfeedback = "solution"\n'

pytestmark = pytest.mark.skipif(not (REPO / "examples" / "submitted").is_dir(),
                                reason="the example class is not built yet")


def graded_path(course: Path, student: str) -> Path:
    return course / "graded" / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def set_feedback_level(course: Path, level: str) -> None:
    """The assignment's `[reveal] feedback` in the course's graders toml (no exercise overrides it)."""
    toml = course / "graders" / f"{ASSIGNMENT}.toml"
    text, count = re.subn(r'(?m)^feedback = "\w+"$', f'feedback = "{level}"', toml.read_text())
    assert count == 1 and "[exercise.reveal]" not in text
    toml.write_text(text)


def outputs_of_test_cells(path: Path) -> dict[str, str]:
    """grade_id -> every text part (text/plain, text/html) of that test cell's outputs."""
    nb = nbformat.read(path, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: "\n".join(
                str(value) for out in cell.outputs for value in out.get("data", {}).values())
            for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")}


def generate_feedback_page(course: Path, student: str) -> str:
    """nbgrader's own rendering of the graded notebook (it replaces our page, as `--force` does)."""
    nbgrader(course, "generate_feedback", ASSIGNMENT, f"--student={student}", "--force")
    return (course / "graded" / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


def shows(text: str, needle: str) -> bool:
    return needle in text or html.escape(needle) in text


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("level_switch") / "course"
    (course / "graders").mkdir(parents=True)
    shutil.copy(REPO / "graders" / f"{ASSIGNMENT}.toml", course / "graders")
    shutil.copytree(REPO / "notebooks" / ASSIGNMENT, course / "notebooks" / ASSIGNMENT)
    # Its paths are relative to itself: submitted is examples/submitted, the gradebook gradebook.db, here.
    shutil.copy(REPO / "nbgrader_config.py", course)
    for student in STUDENTS:
        shutil.copytree(REPO / "examples" / "submitted" / student / ASSIGNMENT,
                        course / "examples" / "submitted" / student / ASSIGNMENT)
    assert SHIPPED in (course / "graders" / f"{ASSIGNMENT}.toml").read_text()
    lines: list[str] = []
    grade(course=course, out=course / "graded", jobs=2, progress=False, report_line=lines.append)
    assert lines == []
    return course


@pytest.fixture(scope="module")
def graded(course):
    """The graded notebooks as `grade` wrote them at `solution`, and what they show of chen's mistakes."""
    written = {s: graded_path(course, s).read_bytes() for s in STUDENTS}
    stored = json.loads((course / "graded" / ".results" / "chen" / f"{ASSIGNMENT}.json").read_text())
    detail: dict[str, dict[str, list[str]]] = {}
    for entry in stored["exercises"]:
        if entry["status"] != "failed":
            continue
        check = entry["check"]
        wrong = [row for row in check["rows"] if row.get("ok") is False]
        detail[entry["id"]] = {
            "culprit": [check["culprit"]],
            "corrected line": [check["solution"]],
            # Numbers are shown to 10 significant digits ("yours -0.2272020947, expected ...").
            "values": [f"{row[key]:.10g}" for row in wrong for key in ("received", "expected")],
            "hint": [row["message"] for row in wrong],
        }
    assert set(detail) == {"forward", "reverse"}
    shown = outputs_of_test_cells(graded_path(course, "chen"))
    for exercise, kinds in detail.items():
        for needle in (n for needles in kinds.values() for n in needles):
            assert shows(shown[exercise], needle), (exercise, needle)  # else the test below could not fail
    return {"written": written, "detail": detail}


def test_feedback_at_verdict_rewrites_the_graded_notebooks_test_cells_and_nothing_else(course, graded):
    before = nbformat.read(graded_path(course, "chen"), as_version=4)
    set_feedback_level(course, "verdict")
    summary = feedback(course=course, out=course / "graded")
    assert summary.problems == []

    shown = outputs_of_test_cells(graded_path(course, "chen"))
    for exercise, kinds in graded["detail"].items():
        for kind, needles in kinds.items():
            for needle in needles:
                assert not shows(shown[exercise], needle), (exercise, kind, needle)
        assert "This check says only whether your answer is right" in shown[exercise]
        # The text/plain part too: it is what nbgrader's console and a text-only viewer show.
        assert f"{exercise}: not yet right (score " in shown[exercise]
    after = nbformat.read(graded_path(course, "chen"), as_version=4)
    assert after.metadata == before.metadata and len(after.cells) == len(before.cells)
    for old, new in zip(before.cells, after.cells, strict=True):
        if old.metadata.get("nbgrader", {}).get("grade_id") not in graded["detail"]:
            assert new == old  # a passed exercise reads the same at every level; other cells are not touched
        else:
            assert {k: v for k, v in new.items() if k != "outputs"} == {k: v for k, v in old.items()
                                                                         if k != "outputs"}

    page = generate_feedback_page(course, "chen")
    for exercise, kinds in graded["detail"].items():
        for kind in ("values", "corrected line", "hint"):
            for needle in kinds[kind]:
                assert not shows(page, needle), (exercise, kind, needle)
        # The culprit's name is in chen's own code; what names it as the culprit is not.
        culprit = kinds["culprit"][0]
        for sentence in (f"{culprit} is wrong", f"Fix {culprit} first", f"Start with {culprit}"):
            assert not shows(page, sentence)


def test_switching_back_to_solution_brings_the_detail_back(course, graded):
    set_feedback_level(course, "verdict")
    assert feedback(course=course, out=course / "graded").problems == []
    set_feedback_level(course, "solution")
    assert feedback(course=course, out=course / "graded").problems == []
    # Byte for byte what grading wrote: the rewrite renders a test cell as grading does.
    assert {s: graded_path(course, s).read_bytes() for s in STUDENTS} == graded["written"]
    page = generate_feedback_page(course, "chen")
    for exercise, kinds in graded["detail"].items():
        for kind in ("values", "corrected line", "hint"):
            for needle in kinds[kind]:
                assert shows(page, needle), (exercise, kind, needle)


def test_a_link_or_broken_file_in_place_of_a_graded_notebook_is_a_line_naming_it(course, graded, tmp_path):
    copy = tmp_path / "course"
    shutil.copytree(course, copy, symlinks=True)
    set_feedback_level(copy, "verdict")
    outside = tmp_path / "outside.ipynb"
    outside.write_bytes(graded["written"]["chen"])
    ada, chen = graded_path(copy, "ada"), graded_path(copy, "chen")
    ada.unlink()
    ada.symlink_to(outside)
    chen.write_text('{"cells": [')
    summary = feedback(course=copy, out=copy / "graded")
    lines = [line for line in summary.problems if "reveal level" in line]
    assert len(lines) == 2, summary.problems
    assert any(line.startswith(f"{ada}: is a symbolic link") for line in lines), lines
    assert any(line.startswith(f"{chen}: could not be rewritten") for line in lines), lines
    assert not any("Traceback" in line for line in lines)
    assert outside.read_bytes() == graded["written"]["chen"] and ada.is_symlink()
    assert chen.read_text() == '{"cells": ['


def small_notebook(exercise: str = "reverse") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    test = nbformat.v4.new_code_cell("check()", metadata={"nbgrader": {"grade": True, "grade_id": exercise}})
    test.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "yours -0.2272020947"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# hw"), test]
    return nb


SHOWN = [{"id": "reverse", "status": "failed", "score": 3.6, "max_score": 4.0, "feedback_text": "not yet right",
          "feedback_html": None}]


def test_rewrite_touches_only_a_plain_graded_notebook(tmp_path):
    from autodiff_course.grading.notebooks import rewrite_feedback_outputs

    autograded = tmp_path / "autograded"
    (autograded / "amy" / "hw1").mkdir(parents=True)
    path = autograded / "amy" / "hw1" / "hw1.ipynb"
    nbformat.write(small_notebook(), path)
    assert rewrite_feedback_outputs(autograded, "amy", "hw1", "hw1.ipynb", SHOWN) is None
    assert outputs_of_test_cells(path)["reverse"] == "[failed] 3.6 / 4\nnot yet right"
    assert not list(path.parent.glob(".*.tmp"))
    # Nothing graded into it: skipped, no line.
    assert rewrite_feedback_outputs(autograded, "bob", "hw1", "hw1.ipynb", SHOWN) is None
    assert rewrite_feedback_outputs(autograded, "amy", "hw2", "hw1.ipynb", SHOWN) is None

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    nbformat.write(small_notebook(), elsewhere / "hw1.ipynb")
    kept = (elsewhere / "hw1.ipynb").read_bytes()
    (autograded / "cat").mkdir()
    (autograded / "cat" / "hw1").symlink_to(elsewhere)  # a linked folder on the way
    line = rewrite_feedback_outputs(autograded, "cat", "hw1", "hw1.ipynb", SHOWN)
    assert line.startswith(f"{autograded / 'cat' / 'hw1' / 'hw1.ipynb'}: a folder on its way"), line
    (autograded / "dan" / "hw1").mkdir(parents=True)
    os.link(elsewhere / "hw1.ipynb", autograded / "dan" / "hw1" / "hw1.ipynb")  # a second name of another file
    line = rewrite_feedback_outputs(autograded, "dan", "hw1", "hw1.ipynb", SHOWN)
    assert line.startswith(f"{autograded / 'dan' / 'hw1' / 'hw1.ipynb'}: is a hard link"), line
    assert (elsewhere / "hw1.ipynb").read_bytes() == kept
    assert rewrite_feedback_outputs(autograded, "..", "hw1", "hw1.ipynb", SHOWN).endswith("left as it was")
