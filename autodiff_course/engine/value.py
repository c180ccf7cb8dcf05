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

    # Elementary functions as methods (``x.sin()``, ``x.cosh()``, ``x.atan2(y)``) are made from the primitive
    # table below the class, as PyTorch and numpy's object arrays spell them.

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


def _unary(prim):
    def method(self):
        return prim(self)

    method.__name__ = prim.name
    method.__doc__ = f"{prim.describe(['x'])} of this value, recorded as the primitive {prim.name}."
    return method


def _binary(prim):
    def method(self, other):
        return prim(self, other)

    method.__name__ = prim.name
    method.__doc__ = f"{prim.describe(['x', 'other'])}, recorded as the primitive {prim.name}."
    return method


# PyTorch's spellings of numpy's names (x.asin() is np.arcsin(x)).
_TORCH_SPELLINGS = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2"}
for _name, _prim in P.ELEMENTARY.items():
    setattr(Operators, _name, _unary(_prim))
for _name, _prim in P.ELEMENTARY_BINARY.items():
    setattr(Operators, _name, _binary(_prim))
for _alias, _name in _TORCH_SPELLINGS.items():
    setattr(Operators, _alias, getattr(Operators, _name))


class ArrayMethods:
    """PyTorch's and numpy's array methods, as primitives, for the engine values that hold arrays (Tensor, and
    Dual so that ``jvp`` runs the same code as a Tensor does)."""

    __slots__ = ()

    @property
    def shape(self) -> tuple:
        return np.shape(P.raw(self))

    @property
    def ndim(self) -> int:
        return np.ndim(P.raw(self))

    def __getitem__(self, index):
        return P.getitem(self, index=_raw_index(index))

    def sum(self, axis=None, keepdims=False, dim=None, keepdim=None):
        """Sum over ``axis`` (numpy's name) or ``dim`` (PyTorch's), all axes by default."""
        axis = dim if dim is not None else axis
        keepdims = keepdim if keepdim is not None else keepdims
        return P.sum_(self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, dim=None, keepdim=None):
        axis = dim if dim is not None else axis
        keepdims = keepdim if keepdim is not None else keepdims
        return P.mean(self, axis=_axis(axis), keepdims=keepdims)

    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return P.reshape(self, shape=tuple(int(s) for s in shape))

    view = reshape

    def transpose(self, *axes):
        """``x.transpose()`` reverses the axes; ``x.transpose(0, 1)`` swaps two, as in PyTorch."""
        if not axes:
            return P.transpose(self, axes=None)
        if len(axes) == 2:
            perm = list(range(self.ndim))
            perm[axes[0]], perm[axes[1]] = perm[axes[1]], perm[axes[0]]
            return P.transpose(self, axes=tuple(perm))
        return P.transpose(self, axes=tuple(axes))

    def permute(self, *axes):
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return P.transpose(self, axes=tuple(axes))

    @property
    def T(self):
        return P.transpose(self, axes=None)

    def matmul(self, other):
        return P.matmul(self, other)

    def pow(self, other):
        return P.pow_(self, other)

    def maximum(self, other):
        return P.maximum(self, other)


def _axis(axis):
    if isinstance(axis, list):
        return tuple(axis)
    return axis


def _raw_index(index):
    # Indices are plain data: an engine value used as an index is read for its value (floats become ints).
    if isinstance(index, tuple):
        return tuple(_raw_index(i) for i in index)
    if isinstance(index, Operators):
        value = np.asarray(P.raw(index))
        return value.astype(int) if value.dtype.kind == "f" else value
    return index


def as_float(x) -> float | None:
    """A plain float from a Python or numpy number, or a 0-d numpy array of one (``np.array(1.0)``,
    ``np.zeros(())``: a number in every sense but its type, as students write seeds); else None."""
    if isinstance(x, (bool, np.bool_)):
        return None
    if isinstance(x, (int, float, np.integer, np.floating)):
        return float(x)
    # Checked last: the operators' fast paths never get here for floats and ints.
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
        return float(x)
    return None


def install_fast_methods(cls, binary_method, unary_method) -> dict:
    """Give ``cls`` operator methods built once per primitive by ``binary_method(prim, reflected)`` and
    ``unary_method(prim)``, and return ``{primitive: methods}`` for its ``_apply`` to reuse.

    Scalar and Dual each build methods specialised to their own representation (a float, a value and a
    tangent); which primitives get a fast path and under which operator names is decided here, once.
    """
    fast: dict = {}
    for name, prim in (("add", P.add), ("sub", P.sub), ("mul", P.mul), ("truediv", P.div), ("pow", P.pow_),
                       ("maximum", P.maximum)):
        fast[prim] = (binary_method(prim, reflected=False), binary_method(prim, reflected=True))
        if name != "maximum":
            setattr(cls, f"__{name}__", fast[prim][0])
            setattr(cls, f"__r{name}__", fast[prim][1])
    for prim in (P.neg, P.abs_, P.identity, *P.ELEMENTARY.values()):
        fast[prim] = (unary_method(prim),)
        if prim.name in P.ELEMENTARY:
            setattr(cls, prim.name, fast[prim][0])
    cls.__neg__ = fast[P.neg][0]
    cls.__abs__ = fast[P.abs_][0]
    return fast
