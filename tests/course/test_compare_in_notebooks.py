"""In the course notebook itself: a wrong answer to any function exercise makes its check cell offer the compare
stepper on the student's own graph, culprit marked, at the visible test point only, and the cell's score is
still what nbgrader reads. The wrong answers are mutations of the instructor's solutions; the check cells
(hidden tests included, as nbgrader's autograde runs them) are the notebook's own.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from course_notebooks import execute, grade_cells, source_path
from nbgrader.utils import get_partial_grade

pytestmark = pytest.mark.slow

# One slip per function exercise of autodiff_by_hand: (text in the solution, what the slip makes of it).
SLIPS = {
    "decomposition": ("v6 = v1 / v2", "v6 = v1 * v2"),  # the wrong operation
    "graph": ('"v5": ["v1", "v4"]', '"v5": ["v1", "v3"]'),  # a wrong parent
    "forward": ("dv4dx0 = -np.sin(v0) * dv0dx0", "dv4dx0 = np.sin(v0) * dv0dx0"),  # cos' sign
    "forward_dx1": ("(v1 * dv0dx1 - v0 * dv1dx1) / v1**2", "(v1 * dv0dx1 - v0 * dv1dx1) / v1"),  # no square
    "reverse": ("vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))", "vbar0 = vbar3 * np.cos(v0)"),  # a path
}
VISIBLE = {"graph": "(1.8, 2.4, 0.7)", "forward_dx1": "(1.8, 2.4)"}


@pytest.fixture(scope="module")
def executed_with_slips(tmp_path_factory):
    nb = nbformat.read(source_path("autodiff_by_hand"), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        exercise = grade_id.removesuffix("-answer")
        if grade_id.endswith("-answer") and exercise in SLIPS:
            old, new = SLIPS[exercise]
            assert cell.source.count(old) == 1, (exercise, old)
            cell.source = cell.source.replace(old, new)
    folder = tmp_path_factory.mktemp("slips")
    path = folder / "autodiff_by_hand.ipynb"
    nbformat.write(nb, path)
    return execute(path, timeout=300)


def test_every_wrong_function_exercise_offers_the_compare_stepper_in_its_check_cell(executed_with_slips):
    seen = set()
    for grade_id, cell in grade_cells(executed_with_slips):
        result = next(o for o in cell.outputs if o.output_type == "execute_result")
        html = result.data["text/html"]
        points = cell.metadata["nbgrader"]["points"]
        if grade_id not in SLIPS:
            assert 'class="autodiff-compare"' not in html, grade_id  # right answers offer nothing
            assert get_partial_grade(result, points) == points, grade_id
            continue
        seen.add(grade_id)
        assert get_partial_grade(result, points) < points, grade_id
        assert html.count('class="autodiff-compare"') == 1, grade_id
        assert "adc-mark-culprit" in html, grade_id
        state = json.loads(re.search(r'<script type="application/json" id="adc-[0-9a-f]+-state">(.*?)</script>',
                                     html).group(1).replace("<\\/", "</"))
        # The stepper is at the visible test point (the notebook's hidden tests ran too, as in autograde).
        assert state["heading"].split(" at ")[1].startswith(VISIBLE.get(grade_id, "(1.8, 2.4, 0.7)")), state
        assert any("culprit" in s["speech"] for s in state["steps"]) or grade_id == "graph", grade_id
        if grade_id.startswith("forward"):  # forward mode with respect to the exercise's input
            assert state["heading"].endswith("forward mode, d/dx1" if grade_id == "forward_dx1" else "d/dx0")
        for hidden in ("0.3, -1.2, 2.5", "-2, 0.5, -1.5", "-0.7, 1.9"):
            assert hidden not in state["heading"], (grade_id, hidden)
    assert seen == set(SLIPS)
