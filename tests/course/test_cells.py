"""Test cells are generated from graders/*.toml: rendering, the visible/hidden split, keeping notebooks in
sync."""
from __future__ import annotations

import ast
import shutil

import nbformat
import pytest
from course_notebooks import ASSIGNMENTS, REPO, grade_cells, source_path

from autodiff_course.course import ConfigError, load_config, load_course, render_test_cell, sync_notebooks
from autodiff_course.course.cells import HIDDEN_ONLY_KEYS
from autodiff_course.course.config import DEFAULTS


def _grade_calls(source: str) -> list[dict]:
    """The keyword arguments (as Python values) of every grade(...) call in a cell, in order; namespace and
    the positional (assignment, id) are returned under their own keys."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "grade":
            call = {"assignment": ast.literal_eval(node.args[0]), "id": ast.literal_eval(node.args[1])}
            for kw in node.keywords:
                call[kw.arg] = ast.unparse(kw.value) if kw.arg == "namespace" else ast.literal_eval(kw.value)
            calls.append(call)
    # ast.walk is breadth-first over statements in order for a flat module
    return calls


def _without_defaults(spec: dict) -> dict:
    from autodiff_course.course.cells import GRADER_ONLY_KEYS

    return {k: v for k, v in spec.items()
            if k != "assignment" and k not in GRADER_ONLY_KEYS and not (k in DEFAULTS and v == DEFAULTS[k])}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_of_the_source_notebook_equals_its_rendering_from_the_toml(assignment):
    config = load_config(REPO / "graders" / f"{assignment}.toml")
    nb = nbformat.read(source_path(assignment), as_version=4)
    cells = dict(grade_cells(nb))
    assert sorted(cells) == sorted(spec["id"] for spec in config.exercises)
    for spec in config.exercises:
        assert cells[spec["id"]].source == render_test_cell(config, spec), spec["id"]
        assert cells[spec["id"]].metadata["nbgrader"]["points"] == spec["points"]


def test_sync_notebooks_finds_nothing_to_change_in_the_repository():
    assert sync_notebooks(REPO, check=True) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_call_carries_the_whole_toml_spec_and_the_visible_call_only_what_students_may_see(assignment):
    config = load_config(REPO / "graders" / f"{assignment}.toml")
    for spec in config.exercises:
        calls = _grade_calls(render_test_cell(config, spec))
        last = calls[-1]
        assert last["namespace"] == "globals()"
        assert (last["assignment"], last["id"]) == (assignment, spec["id"])
        rendered = {k: v for k, v in last.items() if k not in ("namespace", "assignment")}
        assert rendered == _without_defaults(spec), spec["id"]
        visible = calls[0]
        assert not set(HIDDEN_ONLY_KEYS) & set(visible)
        if "expect" in spec:
            shown = [e for e in spec["expect"] if not e.get("hidden")]
            assert visible["expect"] == shown
        has_hidden = bool(spec.get("hidden_points") or spec.get("random_points")
                          or any(e.get("hidden") for e in spec.get("expect", [])))
        assert len(calls) == (2 if has_hidden else 1), spec["id"]


def test_rendered_cell_places_the_hidden_call_last_between_nbgrader_markers():
    config = load_config(REPO / "graders" / "autodiff_by_hand.toml")
    source = render_test_cell(config, config.exercise("reverse"))
    lines = source.splitlines()
    assert lines[0].startswith('# Autograded check for exercise "reverse" (4 points).')
    begin, end = lines.index("### BEGIN HIDDEN TESTS"), lines.index("### END HIDDEN TESTS")
    assert end == len(lines) - 1 and begin < end
    assert "hidden_points" in "\n".join(lines[begin:end]) and "hidden_points" not in "\n".join(lines[:begin])
    assert all(len(line) <= 110 for line in lines if '"hint"' not in line)


def test_every_exercise_has_its_answer_cell_immediately_before_its_locked_test_cell():
    for assignment in ASSIGNMENTS:
        nb = nbformat.read(source_path(assignment), as_version=4)
        for index, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                assert meta["locked"] is True and meta["schema_version"] == 3
                before = nb.cells[index - 1].metadata.get("nbgrader", {})
                assert before.get("solution") is True, (assignment, meta["grade_id"])
                assert "### BEGIN SOLUTION" in nb.cells[index - 1].source


def test_sync_notebooks_rewrites_a_test_cell_whose_toml_changed(tmp_path):
    shutil.copytree(REPO / "graders", tmp_path / "graders")
    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks")
    toml = tmp_path / "graders" / "autodiff_by_hand.toml"
    old = "test_points = [[1.8, 2.4, 0.7]]\nhidden_points = [[0.3, -1.2, 2.5]]"
    assert toml.read_text().count(old) == 1
    toml.write_text(toml.read_text().replace(old, old.replace("[[1.8, 2.4, 0.7]]", "[[1.5, 2.0, 0.5]]")))
    nb_path = tmp_path / "notebooks" / "autodiff_by_hand" / "autodiff_by_hand.ipynb"
    assert sync_notebooks(tmp_path, check=True) == [nb_path]
    assert sync_notebooks(tmp_path) == [nb_path]
    cell = dict(grade_cells(nbformat.read(nb_path, as_version=4)))["decomposition"]
    assert "test_points=[[1.5, 2.0, 0.5]]" in cell.source
    assert sync_notebooks(tmp_path) == []
    load_course(tmp_path)  # still valid


def _worksheet_copy(tmp_path):
    """The repository's course copied into `tmp_path`; returns the worksheet notebook's path there."""
    shutil.copytree(REPO / "graders", tmp_path / "graders")
    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks")
    return tmp_path / "notebooks" / "worksheet" / "worksheet.ipynb"


def test_sync_notebooks_puts_a_deleted_test_cell_back_right_after_its_answer_cell(tmp_path):
    nb_path = _worksheet_copy(tmp_path)
    original = nbformat.read(nb_path, as_version=4)
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "plot_slope"]
    nbformat.write(nb, nb_path)
    assert sync_notebooks(tmp_path) == [nb_path]
    synced = nbformat.read(nb_path, as_version=4)
    assert [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in synced.cells] == [
        (c.cell_type, c.source, c.metadata.get("nbgrader")) for c in original.cells]
    load_course(tmp_path)  # valid again


def test_sync_notebooks_lists_every_exercise_with_neither_test_nor_answer_cell(tmp_path):
    nb_path = _worksheet_copy(tmp_path)
    nb = nbformat.read(nb_path, as_version=4)
    gone = {"plot_slope", "plot_slope-answer", "create_x", "create_x-answer"}
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in gone]
    nbformat.write(nb, nb_path)
    with pytest.raises(ConfigError) as caught:
        sync_notebooks(tmp_path, check=True)
    lines = caught.value.problems
    assert len(lines) == 2
    assert all(str(nb_path) in line for line in lines)
    assert any("'plot_slope'" in line and "'plot_slope-answer'" in line for line in lines)
    assert any("'create_x'" in line and "'create_x-answer'" in line for line in lines)


def test_source_notebooks_have_no_outputs_widget_state_or_external_pictures():
    for assignment in ASSIGNMENTS:
        nb = nbformat.read(source_path(assignment), as_version=4)
        assert "widgets" not in nb.metadata
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
            assert "drive.google" not in cell.source and "<img" not in cell.source
            assert "http" not in cell.source, (assignment, cell.source[:80])
