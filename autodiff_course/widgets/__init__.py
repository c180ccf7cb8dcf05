"""Widgets that show a traced graph: a static SVG anywhere, and the GraphStepper in a notebook.

They sit at the edge: they read the graph, the notation and feedback, and nothing below imports them. Importing
this package registers how a ``Graph`` displays itself (``graph.graph.DISPLAY``); the stepper, which needs
anywidget, is imported only when first used.
"""

from __future__ import annotations

from ..graph.graph import DISPLAY
from .svg import graph_to_svg

__all__ = ["GraphStepper"]


def _stepper(graph, **kwargs):
    from .stepper import GraphStepper

    return GraphStepper(graph, **kwargs)


DISPLAY["html"] = graph_to_svg
DISPLAY["stepper"] = _stepper


def __getattr__(name: str):
    if name == "GraphStepper":
        from .stepper import GraphStepper

        return GraphStepper
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
