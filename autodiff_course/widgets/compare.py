"""The compare stepper a failed check offers: the student's own graph, their values beside the expected ones,
the culprit marked.

Built from what the check already collected (the graph traced when the student's function ran for the
check), never by running the student's code again, and only at a point the student may see: a visible test
point of an exercise that shows expected values. Anything else gives no stepper.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from .stepper import StepperView

__all__ = ["CompareView", "check_stepper", "WATCH"]

# What to watch, one sentence per kind of exercise (shown above the stepper).
WATCH = {
    "decomposition": "Step through your forward pass: the node labelled \u201cculprit\u201d is the first "
    "value that differs from the exercise's function; compare its line with the formula.",
    "forward": "Step through your forward mode: watch the tangent of the node labelled \u201cculprit\u201d "
    "\u2014 your value stands beside the expected one; the nodes after it are wrong only because they use it.",
    "graph": "Step through your function's graph: each step lights up the arrows into the node it computes, "
    "which are that node's parents; compare the node labelled \u201cculprit\u201d with your entry for it.",
    "reverse": "Step through the backward pass of your own graph: watch the adjoint of the node labelled "
    "\u201cculprit\u201d; each step adds one path, so you can see which path your answer is missing.",
}
_MODE = {"decomposition": "forward", "graph": "forward", "forward": "forward", "reverse": "reverse"}


def check_stepper(result: Any, raw: Mapping, spec: Mapping) -> CompareView | None:
    """A CompareView (a StepperView and what to watch in it) comparing a failed check's values on the
    student's traced graph (no widget, so no kernel comm: it is embedded as self-contained HTML), or None
    when there is nothing to compare or nothing the student may see: a passed or errored check, a kind
    without a graph, hidden expected values, or a diagnosis at a hidden point.

    `result`: the CheckResult; `raw`: what `checks.collect` gathered for it; `spec`: the exercise.
    """
    from ..checks.points import test_points

    kind = spec.get("kind")
    if kind not in _MODE or getattr(result, "status", None) != "failed" or not result.show_expected:
        return None
    visible = test_points(dict(spec), hidden=False)
    # A graph exercise is judged on the graph traced at the first test point, and its result names no point.
    point = visible[0] if kind == "graph" and visible else result.point
    if point is None or [float(v) for v in point] not in visible:
        return None
    record = next(
        (
            p
            for p in raw.get("points") or []
            if isinstance(p, Mapping) and p.get("inputs") == [float(v) for v in point] and p.get("graph")
        ),
        None,
    )
    if record is None:
        return None
    from ..graph import Graph

    graph = Graph.from_dict(record["graph"])
    at = ", ".join(format(float(v), "g") for v in point)
    # A graph exercise's received values are lists of parents, not numbers: only its marks are compared.
    compare = {"culprit": result.culprit, "received": {}} if kind == "graph" else result
    view = StepperView(
        graph,
        mode=_MODE[kind],
        wrt=int(spec.get("wrt") or 0) if kind == "forward" else 0,
        compare=compare,
        title=f"your {spec.get('function') or 'function'} at ({at})",
    )
    return CompareView(view, WATCH[kind])


class CompareView:
    """A failed check's compare stepper and the sentence that says what to watch in it."""

    def __init__(self, stepper: StepperView, watch: str):
        self.stepper = stepper
        self.watch = watch
        self.marks = stepper.marks
        self.steps = stepper.steps
        self.checks = stepper.checks
        self.names = stepper._names

    def to_html(self) -> str:
        return (
            f'<div class="autodiff-compare"><p>{html.escape(self.watch)}</p>{self.stepper.to_html()}</div>'
        )
