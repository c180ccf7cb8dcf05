"""The instructor changes points or tests after grading: a hand-in of the released notebook is no tampering,
and a run that would be the same is judged again instead of run again."""
from __future__ import annotations

import nbformat
import pytest

from autodiff_course.course import load_course
from autodiff_course.course.cells import sync_notebooks
from autodiff_course.course.release import record_released_cells
from autodiff_course.course.scaffold import new_assignment, new_course
from autodiff_course.grading.batch import prepare, released_form, run_key
from autodiff_course.grading.notebooks import Submission


@pytest.fixture
def course(tmp_path):
    new_course(tmp_path)
    new_assignment("hw1", course_dir=tmp_path)
    return tmp_path


def _source(course):
    return nbformat.read(course / "notebooks" / "hw1" / "hw1.ipynb", as_version=4)


def _prepare(course, hand_in, history):
    path = course / "submitted" / "amy" / "hw1" / "hw1.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(hand_in, path)
    sub = Submission(student="amy", assignment="hw1", folder=path.parent, expected_notebook="hw1.ipynb",
                     notebook_path=path)
    config = load_course(course)["hw1"]
    return prepare(sub, config, released_form(_source(course)), "digest", released=history)


def _change_points(course, exercise, old, new):
    toml = course / "graders" / "hw1.toml"
    text = toml.read_text()
    block = f'id = "{exercise}"\nkind = "{exercise}"\npoints = {old}\n'
    assert block in text
    toml.write_text(text.replace(block, f'id = "{exercise}"\nkind = "{exercise}"\npoints = {new}\n'))
    sync_notebooks(course)


def test_a_hand_in_of_an_earlier_release_is_not_tampering_but_an_edited_test_cell_is(course):
    from autodiff_course.course.release import released_cells

    handed_in = released_form(_source(course))
    record_released_cells(course, "hw1", handed_in)
    before = _prepare(course, handed_in, released_cells(course, "hw1"))
    _change_points(course, "forward", 3, 5)
    after = _prepare(course, handed_in, released_cells(course, "hw1"))
    without_history = _prepare(course, handed_in, {})
    assert before.tampered == {} and after.tampered == {}
    assert "points were changed from 5 to 3" in without_history.tampered["forward"]
    edited = nbformat.from_dict(handed_in)
    for cell in edited.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "reverse":
            cell.source += "\n# a student's edit"
    assert set(_prepare(course, edited, released_cells(course, "hw1")).tampered) == {"reverse"}


def test_run_key_ignores_points_but_not_test_points_or_the_students_code(course):
    handed_in = released_form(_source(course))
    key = run_key(_prepare(course, handed_in, {}).job)
    _change_points(course, "reverse", 3, 4)
    assert run_key(_prepare(course, handed_in, {}).job) == key  # judged again, not run again
    toml = course / "graders" / "hw1.toml"
    toml.write_text(toml.read_text().replace("hidden_points = [[-0.7, 1.3]]", "hidden_points = [[-0.7, 1.4]]", 1))
    sync_notebooks(course)
    moved = run_key(_prepare(course, handed_in, {}).job)
    assert moved != key  # new test points: the function must be evaluated there, so it runs again
    answered = nbformat.from_dict(handed_in)
    answered.cells[3].source = "def function(x0, x1):\n    return x0"
    assert run_key(_prepare(course, answered, {}).job) != moved
