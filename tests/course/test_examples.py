"""The bundled example class: regenerated exactly by examples/make_examples.py, and its typical mistakes
cost points where they are made and nowhere else."""
from __future__ import annotations

import importlib.util
import json

import nbformat
import pytest
from course_notebooks import ASSIGNMENTS, REPO, execute_all, grade_cells
from nbgrader.utils import determine_grade

from autodiff_course.course import load_config

pytestmark = pytest.mark.slow

EXAMPLES = REPO / "examples" / "submitted"


def _make_examples():
    spec = importlib.util.spec_from_file_location("make_examples", REPO / "examples" / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_examples_equal_what_make_examples_generates(released_dir, tmp_path):
    module = _make_examples()
    written = module.build(REPO, tmp_path, released_dir=released_dir)
    assert len(written) == len(module.STUDENTS) * len(ASSIGNMENTS)
    committed = sorted(p.relative_to(EXAMPLES) for p in EXAMPLES.rglob("*.ipynb"))
    assert committed == sorted(p.relative_to(tmp_path) for p in written)
    for path in written:
        fresh = json.loads(path.read_text())
        assert json.loads((EXAMPLES / path.relative_to(tmp_path)).read_text()) == fresh, path


def test_blank_student_submitted_the_released_notebooks_untouched(released_dir):
    for assignment in ASSIGNMENTS:
        submitted = nbformat.read(EXAMPLES / "ben" / assignment / f"{assignment}.ipynb", as_version=4)
        released = nbformat.read(released_dir / assignment / f"{assignment}.ipynb", as_version=4)
        assert submitted == released


# student -> (assignment, exercises that must lose points; every other exercise keeps full marks)
MISTAKES = {
    "chen": ("autodiff_by_hand", {"reverse", "forward"}),
    "dara": ("autodiff_by_hand", {"reverse", "forward_dx1", "mlp_gradients"}),
    "emil": ("autodiff_by_hand", {"forward", "reverse", "forward_dx1"}),
    "fatima": ("tensors_grad_fn", {"mean_backward", "vector_backward"}),
}


@pytest.fixture(scope="module")
def executed_examples():
    paths = {student: EXAMPLES / student / a / f"{a}.ipynb" for student, (a, _) in MISTAKES.items()}
    executed = execute_all(list(paths.values()), allow_errors=True)
    return {student: executed[path] for student, path in paths.items()}


@pytest.mark.parametrize("student", sorted(MISTAKES))
def test_example_mistakes_lose_points_only_where_they_are_made(executed_examples, student):
    assignment, wrong = MISTAKES[student]
    config = load_config(REPO / "graders" / f"{assignment}.toml")
    nb = executed_examples[student]
    for gid, cell in grade_cells(nb):
        earned, points = determine_grade(cell)
        assert [o.output_type for o in cell.outputs] == ["execute_result"], (student, gid)
        if gid in wrong:
            assert 0 <= earned < points, (student, gid, earned)
        else:
            assert earned == points == config.exercise(gid)["points"], (student, gid, earned)
