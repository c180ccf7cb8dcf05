"""The student's own graph in the feedback: a static SVG (drawn by the widgets' registered renderer,
``graph.graph.DISPLAY["feedback"]``) with the wrong values and the culprit marked and, at the visible test
point, their value beside the right one. No script: it renders in an e-mail, an LMS page or a PDF."""

from __future__ import annotations

from ..graph.data import format_number
from ..graph.graph import DISPLAY


def _short(value) -> str:
    try:
        return format_number(float(value), 4)
    except (TypeError, ValueError):
        return str(value)[:12]


def graph_marks(result) -> tuple[dict[str, str], dict[str, str]]:
    """(node name -> "wrong"/"culprit", node name -> note) of ``result``'s graph: its wrong values by their
    labels (``vbar4``) mapped to the nodes that hold them (``v4``); notes only where ``result`` quotes values
    (its point is a visible one)."""
    graph = result.graph or {}
    names = {name for node in graph.get("data", {}).get("nodes", []) for name in [node["name"], *node.get("names", [])]}
    by_label = {label: name for name, label in (graph.get("labels") or {}).items()}

    def node_of(label):
        name = by_label.get(label, label)
        return name if name in names else None

    marks: dict[str, str] = {}
    for label in result.wrong:
        if (node := node_of(label)) is not None:
            marks[node] = "wrong"
    if result.culprit and (node := node_of(result.culprit)) is not None:
        marks[node] = "culprit"
    notes: dict[str, str] = {}
    if result.point is not None:
        for label, node in ((label, node_of(label)) for label in result.wrong + [result.culprit or ""]):
            if node is None or label not in result.received:
                continue
            note = f"{label}: yours {_short(result.received[label])}"
            if result.show_expected and label in result.expected:
                note += f", right {_short(result.expected[label])}"
            notes[node] = note
    return marks, notes


def graph_figure(result) -> str:
    """An HTML ``<figure>`` with the student's graph, or "" when the result has none to draw (or no renderer
    is registered)."""
    draw = DISPLAY.get("feedback")
    if not result.graph or draw is None:
        return ""
    marks, notes = graph_marks(result)
    try:
        svg = draw(result.graph["data"], marks=marks, notes=notes, title=f"your graph for {result.exercise}",
                   id_prefix=f"adc-{result.exercise}")
    except (KeyError, ValueError):  # data that does not draw is left out rather than breaking the page
        return ""
    where = "" if result.point is None else " at the visible test point"
    return (f'<figure class="autodiff-graph" style="margin:.5rem 0;overflow-x:auto">{svg}'
            f"<figcaption>Your computation{where}: the culprit and the wrong values are marked.</figcaption>"
            "</figure>")
