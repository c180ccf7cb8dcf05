"""`release()` runs nbgrader generate_assignment: no solution or hidden test survives, and the student
version runs top to bottom and scores zero without the checker crashing."""
from __future__ import annotations

import nbformat
import pytest
from course_notebooks import ASSIGNMENTS, REPO, grade_cells, source_path
from nbgrader.utils import determine_grade

from autodiff_course.course import load_config, render_test_cell
from autodiff_course.course.cells import visible_spec

pytestmark = pytest.mark.slow


def _solution_lines(source: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_notebook_holds_no_solution_and_no_hidden_test(released_dir, assignment):
    source = nbformat.read(source_path(assignment), as_version=4)
    released = nbformat.read(released_dir / assignment / f"{assignment}.ipynb", as_version=4)
    assert len(released.cells) == len(source.cells)
    config = load_config(REPO / "graders" / f"{assignment}.toml")
    hidden_hints = [e["hint"] for spec in config.exercises for e in spec.get("expect", []) if e.get("hidden")]
    whole = "\n".join(cell.source for cell in released.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "hidden_points", "random_points",
                   "domain="):
        assert marker not in whole
    for hint in hidden_hints:
        assert hint not in whole
    for before, after in zip(source.cells, released.cells, strict=True):
        meta = before.metadata.get("nbgrader", {})
        if meta.get("solution"):
            assert "raise NotImplementedError()" in after.source
            kept = after.source.splitlines()
            for line in _solution_lines(before.source):
                assert line not in [k.strip() for k in kept], (meta["grade_id"], line)
        if after.cell_type == "code":
            assert after.outputs == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_test_cells_keep_exactly_the_visible_call(released_dir, assignment):
    config = load_config(REPO / "graders" / f"{assignment}.toml")
    released = nbformat.read(released_dir / assignment / f"{assignment}.ipynb", as_version=4)
    cells = dict(grade_cells(released))
    for spec in config.exercises:
        visible = render_test_cell(config, visible_spec(spec))
        assert cells[spec["id"]].source.rstrip() == visible, spec["id"]
        assert cells[spec["id"]].metadata["nbgrader"]["locked"] is True


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_notebook_runs_and_scores_zero_in_every_test_cell(executed_released, assignment):
    nb = executed_released[assignment]
    graded = grade_cells(nb)
    assert graded
    for gid, cell in graded:
        assert determine_grade(cell)[0] == 0, gid
        # Zero from grade()'s own verdict, not from a traceback in the test cell.
        assert [o.output_type for o in cell.outputs] == ["execute_result"], (gid, cell.outputs)
        assert cell.outputs[0].data["text/plain"] == "0"
        assert "checker itself failed" not in cell.outputs[0].data["text/html"]
    answer_errors = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
                     and any(o.output_type == "error" for o in c.outputs)]
    assert all(o.ename == "NotImplementedError" for c in answer_errors for o in c.outputs
               if o.output_type == "error")


def test_release_names_an_unknown_assignment_before_running_nbgrader(tmp_path):
    from autodiff_course.course.release import release

    with pytest.raises(KeyError, match=r"no_such_assignment.*known: autodiff_by_hand"):
        release(REPO, tmp_path, assignments=["no_such_assignment"])
    assert list(tmp_path.iterdir()) == []
