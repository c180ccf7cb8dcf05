"""The bundled example class: regenerated exactly by examples/make_examples.py, and its typical mistakes
cost points where they are made and nowhere else."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest
from course_notebooks import ASSIGNMENTS, REPO, execute_all, grade_cells, source_path
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


# student -> (assignment, exercises that must lose points; every other exercise keeps full marks).
# chen's autodiff_by_hand goes through real `nbgrader autograde` in the last test instead.
MISTAKES = {
    "dara": ("autodiff_by_hand", {"reverse", "forward_dx1", "mlp_gradients"}),
    "emil": ("autodiff_by_hand", {"forward", "reverse", "forward_dx1"}),
    "fatima": ("tensors_grad_fn", {"mean_backward", "vector_backward"}),
}


def _autograded_copy(submitted: Path, out: Path) -> Path:
    """The submission with its test cells restored from the instructor's notebook, hidden tests included,
    as `nbgrader autograde` restores them (its OverwriteCells step) before running a submission."""
    nb = nbformat.read(submitted, as_version=4)
    tests = dict(grade_cells(nbformat.read(source_path(submitted.stem), as_version=4)))
    for gid, cell in grade_cells(nb):
        cell.source = tests[gid].source
    nbformat.write(nb, out)
    return out


@pytest.fixture(scope="module")
def executed_examples(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("autograded")
    paths = {student: _autograded_copy(EXAMPLES / student / a / f"{a}.ipynb",
                                       scratch / f"{student}-{a}.ipynb")
             for student, (a, _) in MISTAKES.items()}
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


def test_real_nbgrader_autograde_takes_grade_results_as_partial_credit(tmp_path):
    """`nbgrader autograde` itself (restoring the test cells with their hidden tests, executing, scoring)
    records for each test cell exactly the number grade() printed, fractions included."""
    import os
    import shutil
    import subprocess
    import sys

    from nbgrader.api import Gradebook

    from autodiff_course.course.release import release

    for name in ("graders", "notebooks"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "nbgrader_config.py", tmp_path)
    shutil.copytree(EXAMPLES / "chen" / "autodiff_by_hand", tmp_path / "examples" / "submitted" / "chen"
                    / "autodiff_by_hand")
    gradebook = tmp_path / "gradebook.db"  # where the copied nbgrader_config.py points nbgrader
    release(tmp_path, assignments=["autodiff_by_hand"], gradebook=gradebook)
    bin_dir = os.path.dirname(sys.executable)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    subprocess.run([os.path.join(bin_dir, "nbgrader"), "autograde", "autodiff_by_hand", "--student", "chen",
                    "--force"], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=300)
    autograded = nbformat.read(tmp_path / "graded" / "autograded" / "chen" / "autodiff_by_hand"
                               / "autodiff_by_hand.ipynb", as_version=4)
    printed = {gid: float(cell.outputs[-1].data["text/plain"]) for gid, cell in grade_cells(autograded)}
    assert "### BEGIN HIDDEN TESTS" in dict(grade_cells(autograded))["reverse"].source
    with Gradebook(f"sqlite:///{gradebook}") as gb:
        grades = {g.name: g.auto_score for nb in gb.find_submission("autodiff_by_hand", "chen").notebooks
                  for g in nb.grades}
    assert grades == printed
    # chen's mistakes: one missing path in reverse mode, a sign error in d cos in forward mode.
    config = load_config(REPO / "graders" / "autodiff_by_hand.toml")
    for spec in config.exercises:
        if spec["id"] in ("reverse", "forward"):
            assert 0 < grades[spec["id"]] < spec["points"], spec["id"]
        else:
            assert grades[spec["id"]] == spec["points"], spec["id"]
