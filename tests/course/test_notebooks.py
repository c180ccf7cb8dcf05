"""The instructor notebooks run end to end in a fresh kernel and earn full marks in every test cell, as
nbgrader 0.9.6 itself scores a test cell (`nbgrader.utils.determine_grade`)."""
from __future__ import annotations

import sys

import nbformat
import pytest
from course_notebooks import ASSIGNMENTS, REPO, execute, grade_cells
from nbgrader.utils import determine_grade

from autodiff_course.course import load_config, load_course

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_earns_full_marks_in_every_test_cell(executed_sources, assignment):
    nb = executed_sources[assignment]
    config = load_config(REPO / "graders" / f"{assignment}.toml")
    scores = {gid: determine_grade(cell) for gid, cell in grade_cells(nb)}
    assert scores == {spec["id"]: (float(spec["points"]), float(spec["points"])) for spec in config.exercises}
    for gid, cell in grade_cells(nb):
        # The score must come from grade()'s number, not from nbgrader's "no output means full marks".
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert len(results) == 1, gid
        assert float(results[0].data["text/plain"]) == float(cell.metadata.nbgrader.points), gid
        assert "text/html" in results[0].data, gid


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_writes_nothing_to_stderr(executed_sources, assignment):
    for cell in executed_sources[assignment].cells:
        if cell.cell_type == "code":
            streams = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
            assert streams == [], (cell.source[:60], streams)


def test_engine_draws_the_graphs_as_static_svg(executed_sources):
    nb = executed_sources["autodiff_by_hand"]
    drawn = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("trace(")]
    assert len(drawn) == 2
    for cell in drawn:
        html = cell.outputs[-1].data["text/html"]
        assert "<svg" in html


def test_notebook_kernel_runs_the_interpreter_of_the_tests(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; sys.executable")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "which.ipynb"
    nbformat.write(nb, path)
    out = execute(path)
    assert out.cells[0].outputs[0].data["text/plain"] == repr(sys.executable)


def test_every_config_agrees_with_its_notebook_and_points_add_up():
    configs = load_course(REPO)  # validates ids, locked test cells and points against each notebook
    assert sorted(configs) == ASSIGNMENTS
    totals = {name: config.max_score for name, config in configs.items()}
    assert totals == {"autodiff_by_hand": 17.0, "autograd_basics": 7.0, "chain_rule_training": 12.0,
                      "tensors_grad_fn": 12.0, "worksheet": 15.0}


def test_a_by_hand_answer_taken_from_autograd_loses_its_points_in_a_real_kernel(tmp_path):
    # The kernel's own input history (`In`) is what the check reads: the stand-in has autograd's numbers and
    # still earns only the two factors derived by hand (2 of 5 weight), the rest of the notebook full marks.
    nb = nbformat.read(REPO / "notebooks" / "worksheet" / "worksheet.ipynb", as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "derive_by_hand-answer")
    answer.source = "dl_dz = 1\ndz_dy = 1\nx_grad_derived = torch.autograd.grad(l, x, retain_graph=True)[0]"
    path = tmp_path / "worksheet.ipynb"
    nbformat.write(nb, path)
    scores = {gid: determine_grade(cell) for gid, cell in grade_cells(execute(path))}
    config = load_config(REPO / "graders" / "worksheet.toml")
    assert scores == {spec["id"]: (3 * 2 / 5 if spec["id"] == "derive_by_hand" else float(spec["points"]),
                                   float(spec["points"])) for spec in config.exercises}
