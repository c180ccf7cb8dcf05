"""Exporting notebooks that hold GraphSteppers to HTML that works with no kernel and no network.

nbconvert's HTML exporter shows a widget output as a live widget view only if the notebook's metadata holds
that widget's saved state, and then the page loads the jupyter-widgets HTML manager from a CDN. Offline, such
an output shows nothing. Every GraphStepper output also carries a self-contained `text/html` form; this
preprocessor drops the widget view from those outputs (and only those), so the exporter picks that form.

    jupyter nbconvert --to html \\
        --HTMLExporter.preprocessors='["autodiff_course.widgets.export.StandaloneWidgetsPreprocessor"]' \\
        nb.ipynb
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import Preprocessor

from .stepper import STANDALONE_MARKER

__all__ = ["StandaloneWidgetsPreprocessor", "export_html"]

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class StandaloneWidgetsPreprocessor(Preprocessor):
    """Make every GraphStepper output of a notebook render from its self-contained `text/html` form."""

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if _WIDGET_VIEW in data and STANDALONE_MARKER in str(data.get("text/html", "")):
                del data[_WIDGET_VIEW]
        return cell, resources


def export_html(notebook: str | Path, output: str | Path | None = None) -> Path:
    """Export an executed notebook to HTML whose GraphSteppers step with no kernel and no network.

    Returns the written path (default: the notebook's path with `.html`). Raises FileNotFoundError for a
    missing notebook and nbformat's ValidationError for a file that is not a notebook.
    """
    from nbconvert import HTMLExporter

    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    exporter = HTMLExporter()
    exporter.register_preprocessor(StandaloneWidgetsPreprocessor(), enabled=True)
    body, _ = exporter.from_notebook_node(nb)
    out = Path(output) if output is not None else notebook.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out
