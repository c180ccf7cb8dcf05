"""Forward mode: dual numbers carry a value and its tangent (d value / d chosen input) through every primitive."""

from __future__ import annotations

from . import primitives as P
from .errors import DomainError
from .state import STATE, refuse_by_hand
from .value import ArrayMethods, Operators, install_fast_methods


class Dual(ArrayMethods, Operators):
    """A value with a tangent. ``Dual(3.0, 1.0)`` seeds the input we differentiate against.

    Every primitive gives the output tangent from its local partial derivatives: for ``v5 = v1 * v4`` the
    tangent is ``v4 * dv1 + v1 * dv4``, exactly the line a student writes by hand. Primals may be floats, arrays
    or other engine values (a Dual of Scalars is forward-over-reverse); tangents have the primal's shape.
    """

    # The tangent lives in ``_tangent``; ``tangent``, the way to read it, refuses inside a hand-written answer
    # (see ``state.by_hand``), as does making a Dual: both would hand the answer its derivative.
    __slots__ = ("primal", "_tangent")
    _dispatch_rank = 3

    def __init__(self, primal, tangent=0.0):
        if STATE.by_hand:
            refuse_by_hand("a dual number (autodiff_course.Dual)")
        self.primal = primal
        self._tangent = tangent

    @property
    def tangent(self):
        """d value / d the seeded input, carried through every operation."""
        if STATE.by_hand:
            refuse_by_hand("the tangent of a dual number")
        return self._tangent

    @tangent.setter
    def tangent(self, value):
        self._tangent = value

    @classmethod
    def _apply(cls, prim, args, params):
        """Apply ``prim`` to Duals and plain values (``autodiff_course.sin(x)``, numpy's ufuncs)."""
        fast = _FAST.get(prim) if not params else None
        if fast is not None:
            if type(args[0]) is Dual:
                return fast[0](*args)
            return fast[1](args[1], args[0])
        return cls._generic(prim, args, params)

    @classmethod
    def _generic(cls, prim, args, params):
        primals = []
        tangents = []
        for a in args:
            if type(a) is Dual:
                primals.append(a.primal)
                tangents.append(a._tangent)
            else:
                primals.append(a)
                tangents.append(None)
        value = prim(*primals, **params)
        return cls(value, prim.jvp(tangents, value, primals, params))

    def _raw_value(self):
        return self.primal

    def __repr__(self) -> str:
        return f"Dual({self.primal!r}, tangent={self.tangent!r})"  # refused in a hand-written answer, as .tangent

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


_new = object.__new__


def _not_finite(prim, error, *args) -> DomainError:
    if isinstance(error, DomainError):
        return error
    shown = ", ".join(repr(a) for a in args)
    return DomainError(f"{prim.name}({shown}): its local derivative is not finite there ({error})")


# The float hot path, made once per primitive from its declaration: value from the float implementation,
# tangent = sum of (local partial * input tangent), with the partials 1 and -1 costing no multiplication.
# Anything but float primals (arrays, nested engine values) takes the generic path.
def _unary_method(prim):
    f = prim.scalar_impl
    (p,) = prim._float_partials

    def method(self):
        x = self.primal
        if type(x) is not float:
            return Dual._generic(prim, (self,), {})
        try:
            v = f(x)
        except (ArithmeticError, ValueError):
            prim.raw(x)
            raise
        t = self._tangent
        try:
            t = (t if p == 1 else -t) if type(p) is int else p(v, x) * t
        except (ArithmeticError, ValueError) as e:
            raise _not_finite(prim, e, x) from None
        out = _new(Dual)
        out.primal = v
        out._tangent = t
        return out

    method.__name__ = prim.name
    return method


def _binary_method(prim, reflected: bool):
    f = prim.scalar_impl
    p0, p1 = prim._float_partials

    def method(self, other):
        if type(other) is Dual:
            y = other.primal
            dy = other._tangent
        elif type(other) is float or type(other) is int:
            y = other if type(other) is float else float(other)
            dy = None
        else:
            return Dual._generic(prim, (other, self) if reflected else (self, other), {})
        x = self.primal
        dx = self._tangent
        if reflected:
            x, dx, y, dy = y, dy, x, dx
        if type(x) is not float or type(y) is not float:
            return Dual._generic(prim, (other, self) if reflected else (self, other), {})
        try:
            v = f(x, y)
        except (ArithmeticError, ValueError):
            prim.raw(x, y)
            raise
        t = None
        try:
            if dx is not None:
                t = (dx if p0 == 1 else -dx) if type(p0) is int else p0(v, x, y) * dx
            if dy is not None:
                t1 = (dy if p1 == 1 else -dy) if type(p1) is int else p1(v, x, y) * dy
                t = t1 if t is None else t + t1
        except (ArithmeticError, ValueError) as e:
            raise _not_finite(prim, e, x, y) from None
        out = _new(Dual)
        out.primal = v
        out._tangent = t
        return out

    method.__name__ = ("__r%s__" if reflected else "__%s__") % prim.name
    return method


#: primitive -> its fast method(s): (method,) for unary, (method, reflected method) for binary primitives.
_FAST: dict = install_fast_methods(Dual, _binary_method, _unary_method)
