"""The student's traced graph for feedback: the widget's static SVG with the wrong values and the culprit
marked and a short note under a node ("yours 2.11, right -2.564"). Pure SVG, no script, deterministic ids, so
it renders the same in a notebook, an e-mail, an LMS page or a PDF, and a repeated run writes the same file.
Registered as ``graph.graph.DISPLAY["feedback"]``."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from .svg import graph_to_svg, resolve_node

__all__ = ["feedback_graph_svg"]


def feedback_graph_svg(graph: Any, *, marks: Mapping[Any, str] | None = None,
                       notes: Mapping[Any, str] | None = None, title: str | None = None,
                       id_prefix: str = "adc-feedback") -> str:
    """SVG of ``graph`` (a Graph or its data) with ``marks`` (node -> ok/wrong/culprit) and ``notes`` (node ->
    a line of text under its value). Raises KeyError for a node the graph does not have."""
    svg = graph_to_svg(graph, marks=marks, title=title, id_prefix=re.sub(r"[^A-Za-z0-9_-]", "-", id_prefix))
    data = graph if isinstance(graph, Mapping) else graph.to_dict()
    for key, text in (notes or {}).items():
        nid = resolve_node(data, key)
        pattern = re.compile(rf'(data-node="{nid}"[^>]*>.*?<rect class="adc-box" width="([\d.]+)".*?)'
                             r'<text class="adc-der" x="([\d.]+)"[^>]*></text>', re.S)
        svg = pattern.sub(lambda m, t=text: m.group(1) + _note(t, float(m.group(2)), m.group(3)), svg, count=1)
    return svg


def _note(text: str, width: float, x: str) -> str:
    """The note row inside a node's box: small type, squeezed to the box's width when it is longer (SVG's
    textLength, which every renderer honours), so it never spills onto a neighbour."""
    fit = f' textLength="{width - 8:.0f}" lengthAdjust="spacingAndGlyphs"' if len(text) * 5.6 > width - 8 else ""
    return (f'<text class="adc-der adc-note" x="{x}" y="62" text-anchor="middle" font-size="10.5" '
            f'fill="#a31515"{fit}>{html.escape(text, quote=False)}</text>')
