"""Exporting notebooks with GraphSteppers: the preprocessor picks the self-contained form of ours only."""

import nbformat
import pytest

from autodiff_course.widgets import GraphStepper
from autodiff_course.widgets.export import StandaloneWidgetsPreprocessor, export_html

VIEW = "application/vnd.jupyter.widget-view+json"


def _notebook_with(seed_graph):
    data, _ = GraphStepper(seed_graph, mode="reverse")._repr_mimebundle_()
    other = {VIEW: {"model_id": "a-slider", "version_major": 2, "version_minor": 0}, "text/plain": "Slider"}
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("w")
    cell.outputs = [nbformat.v4.new_output("display_data", data=data),
                    nbformat.v4.new_output("display_data", data=other)]
    nb.cells = [cell]
    state = {o.data[VIEW]["model_id"]: {"model_name": "AnyModel", "state": {}} for o in cell.outputs}
    saved = {"state": state, "version_major": 2, "version_minor": 0}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": saved}
    return nb


def test_preprocessor_drops_the_widget_view_of_steppers_only(seed_graph):
    nb = _notebook_with(seed_graph)
    nb, _ = StandaloneWidgetsPreprocessor().preprocess(nb, {})
    ours, other = nb.cells[0].outputs
    assert VIEW not in ours.data and "data-adc-standalone" in ours.data["text/html"]
    assert VIEW in other.data  # someone else's widget keeps its live view


def test_export_html_embeds_the_stepper_even_with_widget_state_saved(seed_graph, tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(_notebook_with(seed_graph), path)
    html = export_html(path).read_text(encoding="utf-8")
    assert html.count('data-adc-standalone="1"') == 1
    assert "__adcWidget.render" in html and 'class="adc-graph"' in html


def test_export_html_names_a_missing_notebook(tmp_path):
    with pytest.raises(FileNotFoundError):
        export_html(tmp_path / "missing.ipynb")
