"""What the instructor's reference says at a test point, and how exactly a right answer must match it.

The expected output y and the expected derivatives dy/dx_i come from the exercise's reference, never from the
student's graph: the reference is traced at the point, its gradient is taken by the engine's backward pass and
by PyTorch (float64), and the two must agree (else the checker is at fault: ``InternalCheckError``).

The error bound. AD is exact up to rounding, so a right answer differs from the reference only by the rounding
of two float64 computations of the same quantity. With u = 2**-53 the unit roundoff, every elementary
operation rounds with a relative error of at most a few u (libm's sin, exp, pow: under 4 ulp). Writing, over
the reference's graph with N operations,

- |v|_s  the value scale of a node (its |value|, with sums and differences counting their operands' scales, so
  terms that cancel still count),
- A_n    the backward pass run on |local derivatives| (the sum over paths of |products|, which bounds every
  term summed into dy/dv_n),

first-order error analysis gives |fl(y) - y| <= c u sum_n A_n |v_n|_s, and for the reverse-mode derivative
|fl(dy/dx_i) - dy/dx_i| <= c N u A_i (each path's product rounds at most N times and the sum of paths adds at
most N roundings more, each of relative size u of a term bounded by A_i). Those bounds hold for ANY order of
the same operations (a student's), because they bound the sum of absolute terms, not a particular order's
partial sums. ``SAFETY`` = c takes 16 (four times the worst libm error, twice over for the two computations
compared), so the bound is about 1e-14 relative for the course's exercises, while the best central difference
is off by about u**(2/3) = 4e-11 and a forward difference by u**(1/2) = 1.5e-8: every finite difference fails.

Nothing a student writes widens the bound: it is computed from the reference alone. A student's intermediate
tangents and adjoints (which have no counterpart in the reference) are compared on their own graph, with the
same relative bound and the largest derivative scale of the reference as their scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from ..engine.errors import AutodiffError
from .analysis import GraphFacts
from .errors import InternalCheckError
from .points import reference_function, reference_value
from .torch_replay import ensure_agreement, torch_adjoints

#: Unit roundoff of float64.
UNIT_ROUNDOFF = 2.0**-53
#: The constant c of the module docstring's bounds.
SAFETY = 16.0


@dataclass(frozen=True)
class Expected:
    """The reference at one point. ``grad`` is None when the reference could not be traced (a callable
    reference that leaves the engine): derivatives are then judged on the student's graph alone.

    ``rel`` is the relative bound c N u; ``y_scale``, ``grad_scale[i]``, ``adjoint_scale`` and
    ``tangent_scale[i]`` are the scales it multiplies (see the module docstring), so ``close(received,
    expected, scale, rel, atol)`` is the comparison.
    """

    y: float
    grad: tuple[float, ...] | None
    rel: float
    y_scale: float
    grad_scale: tuple[float, ...]
    adjoint_scale: float
    tangent_scale: tuple[float, ...]
    operations: int
    #: The reference's traced graph (None when it could not be traced): its shape is the graph exercise's key.
    graph: object = field(default=None, compare=False, repr=False)


def expected_at(spec: dict, point) -> Expected:
    """The reference's value, gradient and error scales at ``point`` (cached: the reference is the
    instructor's and deterministic). Raises InternalCheckError if the reference is not finite there."""
    reference = spec.get("reference")
    try:
        hash(reference)
        key = reference
    except TypeError:  # an unhashable callable: not cached
        return _expected.__wrapped__(None, (), tuple(float(v) for v in point), _Ref(spec))
    return _expected(key, tuple(spec.get("args") or ()), tuple(float(v) for v in point), _Ref(spec))


class _Ref:
    """The spec, carried through the cache without being part of its key."""

    def __init__(self, spec: dict):
        self.spec = spec

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other) -> bool:
        return isinstance(other, _Ref)


@lru_cache(maxsize=512)
def _expected(key, args, point, ref: _Ref) -> Expected:
    spec = ref.spec
    y = reference_value(spec, point)
    if not math.isfinite(y):
        raise InternalCheckError(
            f"exercise {spec.get('id')!r}: the reference is not finite at the test point {list(point)}"
        )
    graph = _trace_reference(spec, point)
    if graph is None:
        rel = SAFETY * UNIT_ROUNDOFF
        return Expected(y, None, rel, abs(y), (), 0.0, (), 0)
    facts = GraphFacts(graph)
    ops = max(1, sum(1 for n in graph.nodes if n.op not in ("input", "const")))
    rel = SAFETY * ops * UNIT_ROUNDOFF
    engine = {k: float(v) for k, v in graph.adjoints().items()}
    adjoint_scale = facts.adjoint_scale()
    ensure_agreement("adjoint", engine, torch_adjoints(graph), adjoint_scale, graph)
    value_scale = facts.value_scale()
    y_error = sum(adjoint_scale[n.id] * value_scale[n.id] for n in graph.nodes if n.op not in ("input", "const"))
    inputs = list(graph.inputs)
    tangent_scale = tuple(max(facts.tangent_scale(i).values(), default=0.0) for i in inputs)
    return Expected(
        y=y,
        grad=tuple(engine.get(i, 0.0) for i in inputs),
        rel=rel,
        # rel * y_scale = SAFETY * u * sum_n A_n |v_n|_s (the value bound of the module docstring)
        y_scale=y_error / ops,
        grad_scale=tuple(adjoint_scale[i] for i in inputs),
        adjoint_scale=max((adjoint_scale[n.id] for n in graph.nodes if n.op != "const"), default=0.0),
        tangent_scale=tangent_scale,
        operations=ops,
        graph=graph,
    )


def _trace_reference(spec: dict, point):
    """The reference's graph at ``point``, or None if it cannot be traced or does not depend on its inputs."""
    from ..graph.tracing import trace

    try:
        graph = trace(reference_function(spec), *point)
    except InternalCheckError:
        raise
    except (AutodiffError, TypeError, ValueError, ArithmeticError):
        return None
    if len(graph.inputs) != len(point):
        return None
    args = list(spec.get("args") or [])
    for k, i in enumerate(graph.inputs):
        if k < len(args):
            # The reference is traced through ``*values``: its inputs take the exercise's argument names.
            graph.nodes[i].name = args[k]
    return graph
