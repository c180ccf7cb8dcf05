"""Widgets that show a traced graph: a static SVG anywhere, and the GraphStepper in a notebook.

They sit at the edge: they read the graph, the notation and feedback, and nothing below imports them. Importing
this package registers how a ``Graph`` displays itself (``graph.graph.DISPLAY``) and the compare stepper a
failed check offers (``feedback.views.CHECK_VIEWS``); the stepper, which needs anywidget, is imported only when
first used.
"""

from __future__ import annotations

from ..feedback.views import CHECK_VIEWS
from ..graph.graph import DISPLAY
from .feedback_svg import feedback_graph_svg
from .svg import graph_to_svg

__all__ = ["GraphStepper", "autograd_stepper"]


def _stepper(graph, **kwargs):
    from .stepper import GraphStepper

    return GraphStepper(graph, **kwargs)


def _compare_view(result, raw, spec):
    from .compare import check_stepper

    return check_stepper(result, raw, spec)


DISPLAY["html"] = graph_to_svg
DISPLAY["stepper"] = _stepper
# A failed check's feedback offers the compare stepper (course.api.grade asks feedback.views for it).
CHECK_VIEWS["compare stepper"] = _compare_view
DISPLAY["feedback"] = feedback_graph_svg


def __getattr__(name: str):
    if name == "GraphStepper":
        from .stepper import GraphStepper

        return GraphStepper
    if name == "autograd_stepper":
        from .autograd import autograd_stepper

        return autograd_stepper
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
