"""restore_test_cells: the instructor's locked cells go back into a submission; tampering is named."""

import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autodiff_course.grading.restore import is_locked_cell, restore_test_cells


def _nbg(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id, "schema_version": 3}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _source_nb():
    return new_notebook(cells=[
        new_markdown_cell("# Forward mode", metadata=_nbg("intro", locked=True)),
        new_code_cell("def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
                      metadata=_nbg("answer_f", solution=True)),
        new_code_cell("grade('forward')", metadata=_nbg("forward", grade=True, points=3)),
        new_code_cell("x = 1  # scratch"),
        new_code_cell("def g(x):\n    raise NotImplementedError()", metadata=_nbg("answer_g", solution=True)),
        new_code_cell("grade('reverse')", metadata=_nbg("reverse", grade=True, points=4)),
    ])


def _submission(src):
    sub = copy.deepcopy(src)
    sub.cells[1].source = "def f(x):\n    return 2 * x"
    sub.cells[4].source = "def g(x):\n    return x ** 2"
    sub.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok\n")]
    return sub


def _by_id(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def test_locked_cells_follow_nbgrader_rule():
    src = _source_nb()
    assert [is_locked_cell(c) for c in src.cells] == [True, False, True, False, False, True]
    both = new_code_cell("x", metadata=_nbg("auto", grade=True, solution=True, points=1))
    assert not is_locked_cell(both)  # an autograded answer is the student's


def test_intact_submission_is_not_tampered_and_keeps_answers():
    src = _source_nb()
    sub = _submission(src)
    restored, tampered = restore_test_cells(src, sub)
    assert tampered == {}
    assert [c.source for c in restored.cells] == [c.source for c in sub.cells]
    assert restored.cells[2].outputs[0]["text"] == "ok\n"


def test_changed_test_source_is_restored_and_reported():
    src = _source_nb()
    sub = _submission(src)
    sub.cells[5].source = "pass  # test removed"
    restored, tampered = restore_test_cells(src, sub)
    assert set(tampered) == {"reverse"}
    assert "source" in tampered["reverse"]
    assert _by_id(restored)["reverse"].source == "grade('reverse')"
    assert _by_id(restored)["answer_g"].source == "def g(x):\n    return x ** 2"


def test_changed_points_are_restored_and_reported():
    src = _source_nb()
    sub = _submission(src)
    sub.cells[2].metadata["nbgrader"]["points"] = 30
    restored, tampered = restore_test_cells(src, sub)
    assert tampered == {"forward": "its points were changed from 3 to 30.0"}
    assert _by_id(restored)["forward"].metadata["nbgrader"]["points"] == 3


def test_unlocking_a_test_cell_is_reported():
    src = _source_nb()
    sub = _submission(src)
    sub.cells[2].metadata["nbgrader"]["solution"] = True
    restored, tampered = restore_test_cells(src, sub)
    assert "solution" in tampered["forward"]
    assert _by_id(restored)["forward"].metadata["nbgrader"]["solution"] is False


def test_deleted_test_cell_is_inserted_at_its_source_position():
    src = _source_nb()
    sub = _submission(src)
    del sub.cells[2]
    restored, tampered = restore_test_cells(src, sub)
    assert tampered == {"forward": "it was deleted or its grade_id was changed"}
    assert [c.metadata.get("nbgrader", {}).get("grade_id") for c in restored.cells] == [
        "intro", "answer_f", "forward", None, "answer_g", "reverse"]


def test_renamed_grade_id_counts_as_deleted():
    src = _source_nb()
    sub = _submission(src)
    sub.cells[5].metadata["nbgrader"]["grade_id"] = "reverse_mine"
    restored, tampered = restore_test_cells(src, sub)
    assert set(tampered) == {"reverse"}
    assert _by_id(restored)["reverse"].source == "grade('reverse')"


def test_deleted_locked_markdown_is_restored():
    src = _source_nb()
    sub = _submission(src)
    sub.cells[0].source = "# my notes"
    restored, tampered = restore_test_cells(src, sub)
    assert set(tampered) == {"intro"}
    assert restored.cells[0].source == "# Forward mode"


def test_duplicated_test_cell_keeps_one_carrier():
    src = _source_nb()
    sub = _submission(src)
    dup = copy.deepcopy(sub.cells[5])
    dup.source = "fake"
    sub.cells.insert(3, dup)
    restored, tampered = restore_test_cells(src, sub)
    assert tampered == {"reverse": "it was duplicated"}
    carriers = [c for c in restored.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "reverse"]
    assert len(carriers) == 1 and carriers[0].source == "grade('reverse')"


def test_inputs_are_not_modified():
    src = _source_nb()
    sub = _submission(src)
    sub.cells[5].source = "tampered"
    before_src, before_sub = copy.deepcopy(src), copy.deepcopy(sub)
    restore_test_cells(src, sub)
    assert src == before_src and sub == before_sub


def test_locked_cell_without_grade_id_is_an_error_naming_the_cell():
    src = _source_nb()
    del src.cells[2].metadata["nbgrader"]["grade_id"]
    with pytest.raises(ValueError, match="cell 2"):
        restore_test_cells(src, _submission(_source_nb()))
