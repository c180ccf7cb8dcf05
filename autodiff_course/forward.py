"""Forward mode: dual numbers carry a value and its tangent (d value / d chosen input) through every primitive."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from . import primitives as P
from .node import Operators


class Dual(Operators):
    """A value with a tangent. ``Dual(3.0, 1.0)`` seeds the input we differentiate against.

    Every primitive gives the output tangent from its local partial derivatives: for ``v5 = v1 * v4`` the
    tangent is ``v4 * dv1 + v1 * dv4``, exactly the line a student writes by hand.
    """

    __slots__ = ("primal", "tangent")
    _dispatch_rank = 3

    def __init__(self, primal, tangent=0.0):
        self.primal = primal
        self.tangent = tangent

    @classmethod
    def _apply(cls, prim, args, params):
        primals = []
        tangents = []
        for a in args:
            if type(a) is Dual:
                primals.append(a.primal)
                tangents.append(a.tangent)
            else:
                primals.append(a)
                tangents.append(None)
        value = prim(*primals, **params)
        return cls(value, prim.jvp(tangents, value, primals, params))

    def _raw_value(self):
        return self.primal

    def __repr__(self) -> str:
        return f"Dual({self.primal!r}, tangent={self.tangent!r})"

    # A Dual is a number for every purpose but differentiation: comparisons look at the value.
    def __lt__(self, other):
        return P.raw(self) < P.raw(other)

    def __gt__(self, other):
        return P.raw(self) > P.raw(other)

    def __le__(self, other):
        return P.raw(self) <= P.raw(other)

    def __ge__(self, other):
        return P.raw(self) >= P.raw(other)

    def __float__(self) -> float:
        return float(P.raw(self))


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Evaluate ``f(*primals)`` and its directional derivative along ``tangents`` in one forward pass.

    Returns ``(output, output_tangent)``. ``len(tangents)`` must equal ``len(primals)``.
    """
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one tangent per primal")
    duals = [Dual(p, t) for p, t in zip(primals, tangents)]
    out = f(*duals)
    if type(out) is Dual:
        return out.primal, out.tangent
    return out, 0.0 * P.raw(out)
