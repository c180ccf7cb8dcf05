"""What every engine value shares: Python's operators and numpy's ufunc dispatch, all routed to primitives.

``Scalar``, ``Tensor`` and ``Dual`` inherit this; each only says how to apply a primitive (``_apply``). When
values of several kinds meet, the one with the highest ``_dispatch_rank`` applies the primitive.
"""

from __future__ import annotations

import numpy as np

from . import primitives as P


class Operators:
    __slots__ = ()
    _dispatch_rank = 0

    def __add__(self, other):
        return P.add(self, other)

    def __radd__(self, other):
        return P.add(other, self)

    def __sub__(self, other):
        return P.sub(self, other)

    def __rsub__(self, other):
        return P.sub(other, self)

    def __mul__(self, other):
        return P.mul(self, other)

    def __rmul__(self, other):
        return P.mul(other, self)

    def __truediv__(self, other):
        return P.div(self, other)

    def __rtruediv__(self, other):
        return P.div(other, self)

    def __pow__(self, other):
        return P.pow_(self, other)

    def __rpow__(self, other):
        return P.pow_(other, self)

    def __neg__(self):
        return P.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return P.abs_(self)

    def __matmul__(self, other):
        return P.matmul(self, other)

    def __rmatmul__(self, other):
        return P.matmul(other, self)

    # Elementary functions as methods, as PyTorch and numpy's object arrays spell them.
    def sin(self):
        return P.sin(self)

    def cos(self):
        return P.cos(self)

    def tan(self):
        return P.tan(self)

    def exp(self):
        return P.exp(self)

    def log(self):
        return P.log(self)

    def sqrt(self):
        return P.sqrt(self)

    def tanh(self):
        return P.tanh(self)

    def sigmoid(self):
        return P.sigmoid(self)

    def relu(self):
        return P.relu(self)

    def abs(self):
        return P.abs_(self)

    # numpy: np.sin(x) on an engine value becomes the engine's sin, so students' numpy code runs unchanged.
    __array_priority__ = 1000

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        prim = P.UFUNCS.get(ufunc)
        if method != "__call__" or prim is None or kwargs.get("out") is not None:
            supported = sorted({u.__name__ for u in P.UFUNCS})
            raise TypeError(
                f"numpy's {ufunc.__name__} ({method}) has no derivative rule in autodiff_course; "
                f"supported: {', '.join(supported)}"
            )
        return prim(*inputs)


def is_engine_value(x) -> bool:
    return isinstance(x, Operators)


def as_float(x) -> float | None:
    """A plain float from a Python or numpy number, else None."""
    if isinstance(x, (bool, np.bool_)):
        return None
    if isinstance(x, (int, float, np.integer, np.floating)):
        return float(x)
    return None
