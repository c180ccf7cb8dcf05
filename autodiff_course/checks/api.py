"""The in-notebook convenience API: ``check_reverse(fn, reference)`` = ``judge(spec, collect(spec, ...))``.

``reference`` may be a callable (it runs on the trusted side, as the instructor's code) or a numpy expression
in the argument names. Without ``points``, the exercise is checked at four seeded random points inside the
domain (``domain=[...]`` constraints in the argument names) where the reference is finite.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from .collect import collect
from .judge import judge
from .kinds import KINDS
from .points import random_points
from .result import CheckResult
from .reveal import notebook_view
from .spec import with_defaults


def _spec(kind: str, fn: Callable, reference, points, opts: dict) -> dict:
    try:
        args = [p.name for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        args = []
    spec: dict[str, Any] = with_defaults({
        **KINDS[kind].defaults,
        "id": opts.pop("id", getattr(fn, "__name__", kind)),
        "assignment": opts.pop("assignment", "notebook"),
        "kind": kind,
        "function": _name(fn),
        "reference": reference,
        "args": args,
    })
    if points is None:
        # Only drawn points: a fixed one such as (1, ..., 1) may lie outside the function's domain.
        spec["test_points"] = []
        spec["random_points"] = 4
    else:
        pts = (
            [list(points)]
            if points and not isinstance(points[0], (list, tuple))
            else [list(p) for p in points]
        )
        spec["test_points"] = [[float(v) for v in p] for p in pts]
    spec.update(opts)
    if points is None and not spec.get("hidden_points"):
        # The drawn points are the student's own (this runs in their notebook): nothing about them is hidden,
        # so they are the visible test points and feedback may quote them.
        spec["test_points"], spec["random_points"] = random_points(spec), 0
    return spec


def _name(fn: Callable) -> str:
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() else "function"


def _check(kind: str, fn: Callable, reference, points, opts: dict) -> CheckResult:
    spec = _spec(kind, fn, reference, points, opts)
    return notebook_view(judge(spec, collect(spec, {spec["function"]: fn})), spec)


def check_decomposition(fn: Callable, reference: Callable | str, *, points=None, **opts) -> CheckResult:
    """Check that ``fn(x0, x1, ...)`` computes ``reference`` with one elementary operation per intermediate
    variable.

    ``points``: one point (a list of numbers) or a list of points; ``opts``: any exercise spec key (``rtol``,
    ``domain``, ``time_limit``, ``show_expected``, ...). Never raises for the student's mistakes.
    """
    return _check("decomposition", fn, reference, points, opts)


def check_forward(
    fn: Callable, reference: Callable | str, *, wrt: int | str = 0, points=None, **opts
) -> CheckResult:
    """Check that ``fn`` returns ``(y, dy/dx_wrt)`` by forward mode, with every tangent it keeps in a
    local."""
    return _check("forward", fn, reference, points, {"wrt": wrt, **opts})


def check_reverse(fn: Callable, reference: Callable | str, *, points=None, **opts) -> CheckResult:
    """Check that ``fn`` returns ``(y, vbar0, ..., vbarN)``, one adjoint per intermediate variable in
    order."""
    return _check("reverse", fn, reference, points, opts)


def check_graph(fn: Callable, parents: dict, *, points=None, **opts) -> CheckResult:
    """Check a dict ``{variable: [its parents]}`` against the traced graph of ``fn``."""
    spec = _spec("graph", fn, opts.pop("reference", None), points, opts)
    spec["variable"] = "parents"
    return notebook_view(judge(spec, collect(spec, {spec["function"]: fn, "parents": parents})), spec)


def check_variables(namespace: dict, variables: list[str], expect: list[dict], **opts) -> CheckResult:
    """Check snapshots of ``variables`` (looked up in ``namespace``) against ``expect`` (see
    docs/interfaces.md)."""
    spec = with_defaults({
        "id": opts.pop("id", "variables"),
        "assignment": opts.pop("assignment", "notebook"),
        "kind": "variables",
        "variables": list(variables),
        "expect": list(expect),
    })
    spec.update(opts)
    return notebook_view(judge(spec, collect(spec, namespace)), spec)
