"""Arrays of numbers that can hold traced values, for the student's ``np.zeros(9)`` while tracing.

An honest answer may keep its adjoints or tangents in an array it made with ``np.zeros(9)`` (``vbar[4] =
vbar[5] * v1``). A numpy array of floats can hold nothing but plain floats, so storing a traced value there
would cut it off from the graph. While tracing, the array-making functions the student's code sees
(``np.zeros``, ``np.ones``, ``np.empty``, ``np.full`` and their ``_like`` forms, see ``tracing``) make a
``TracingArray`` instead: an array of objects that holds each plain number as a ``np.float64`` and each traced
value as itself, so a stored value keeps its place in the graph and reads back as it was stored.

It must compute what the float array computes in the plain run (tests/trace/test_tracing_arrays.py):

- while it holds no traced value, every numpy function and ufunc it is given runs on its float copy (the
  float array's own code, so the same results, warnings and errors) and a float array that comes out is made a
  ``TracingArray`` again, so a later store can still hold a traced value;
- once it holds one, a ufunc is applied element by element (each element's own numpy ufunc: a traced value
  records the operation, ``np.float64`` computes as in a float array) and other functions run numpy's code
  for arrays of objects (sums and products by Python's operators, which the engine records, adding in order
  where numpy adds floats pairwise, so a long sum may differ in its last bits); a function that has no such
  code (``np.linalg``) raises, and tracing says it cannot follow that step;
- a plain number stored is converted as a float array converts it (an int or a bool becomes a float, a complex
  number loses its imaginary part with numpy's warning), and an element read back is a ``np.float64``.

What it cannot be is a float array to code that asks (``a.dtype`` is ``object``): no answer of the course
looks.
"""

from __future__ import annotations

import numpy as np

from ..engine.scalar import Scalar, as_object_array

#: numpy's array makers the tracer replaces, by name (each also under ``numpy.<name>``).
MAKERS = ("zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like")

_as_float64 = np.frompyfunc(np.float64, 1, 1)


class TracingArray(np.ndarray):
    """An array of ``np.float64`` and traced values that computes like an array of floats (module docstring).
    Made by ``tracing_array``; slices are views, as numpy's are."""

    def __setitem__(self, key, value):
        super().__setitem__(key, _storable(value))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        args = [_base(x) for x in inputs]
        outs = tuple(out) if out is not None else ()
        if not any(_holds_traced(x) for x in args):
            result = getattr(ufunc, method)(*[_floats(x) for x in inputs], **kwargs)
        elif method == "__call__" and ufunc.signature is None and not kwargs:
            result = np.frompyfunc(ufunc, ufunc.nin, ufunc.nout)(*[as_object_array(x) for x in args])
        else:
            result = super().__array_ufunc__(ufunc, method, *args, **kwargs)
        if outs:
            results = result if isinstance(result, tuple) else (result,)
            for target, r in zip(outs, results):
                target[...] = r
            return outs[0] if len(outs) == 1 else outs
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        if not any(_holds_traced(x) for x in _flat_args(args, kwargs)):
            return _wrap(func(*_map_args(args, _floats), **{k: _map_args(v, _floats) for k, v in kwargs.items()}))
        return _wrap(super().__array_function__(func, types, args, kwargs))


def tracing_array(real: np.ndarray) -> np.ndarray:
    """``real`` (a float64 array just made) as a ``TracingArray`` of the same numbers; any other array as it
    is (an array of ints stays one: a traced value could not be stored in it honestly either), and so is an
    array of no dimensions (``np.zeros(())``, a seed: a number in all but its type, which the engine reads)."""
    if not isinstance(real, np.ndarray) or real.dtype != np.float64 or real.ndim == 0:
        return real
    out = np.empty(real.shape, dtype=object)
    out[...] = _as_float64(real)
    return out.view(TracingArray)


def maker(make, real=lambda x: x):
    """``make`` (``np.zeros`` and the like) making a ``TracingArray`` where it would make a float64 array. A
    ``_like`` form reads only the shape of a traced array or value; ``full`` fills with a traced value by
    storing it (as ``a[...] = value`` would). ``real`` maps what the traced function sees in place of a type
    back to the type (``dtype=float`` names the tracer's ``float``, which numpy would read as "objects")."""
    name = make.__name__

    def tracing_maker(*args, **kwargs):
        args = [real(a) for a in args]
        kwargs = {k: real(v) for k, v in kwargs.items()}
        fill = None
        if name.endswith("_like") and args:
            args[0] = _stand_in(args[0])
        at = 1 if name.startswith("full") else None
        if at is not None:
            if len(args) > at and _holds_traced(_base(args[at])):
                fill, args[at] = args[at], 0.0
            elif _holds_traced(_base(kwargs.get("fill_value"))):
                fill, kwargs["fill_value"] = kwargs["fill_value"], 0.0
        made = make(*[_floats(a) for a in args], **{k: _floats(v) for k, v in kwargs.items()})
        out = tracing_array(made)
        if fill is not None and isinstance(out, TracingArray):
            out[...] = fill
        return out

    tracing_maker.__name__ = name
    tracing_maker.__qualname__ = name
    tracing_maker.__doc__ = make.__doc__
    return tracing_maker


def _stand_in(like):
    """What a ``_like`` maker reads of ``like`` (its shape and float type) when it holds traced values."""
    if isinstance(like, Scalar):
        return np.float64(like.value)
    if isinstance(like, TracingArray) or (isinstance(like, np.ndarray) and _holds_traced(like)):
        return np.zeros(like.shape)
    if isinstance(like, (list, tuple)) and _holds_traced(np.asarray(like, dtype=object)):
        return np.zeros(np.shape(np.asarray(like, dtype=object)))
    return like


def _storable(value):
    """``value`` as an element (or elements) of the array: traced values as they are, plain numbers as a
    float array would hold them."""
    if isinstance(value, Scalar):
        return value
    if isinstance(value, TracingArray):
        return np.asarray(value)
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.dtype == object):
        items = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
        if _holds_traced(items):
            return np.frompyfunc(_storable, 1, 1)(items)
    converted = np.asarray(value).astype(np.float64)
    return _as_float64(converted) if converted.ndim else np.float64(converted)


def _base(x):
    return x.view(np.ndarray) if isinstance(x, TracingArray) else x


def _holds_traced(x) -> bool:
    if isinstance(x, Scalar):
        return True
    if isinstance(x, np.ndarray) and x.dtype == object:
        return any(isinstance(e, Scalar) for e in x.flat)
    return False


def _floats(x):
    """A ``TracingArray`` (holding no traced value) as the float array it stands for; anything else as it is."""
    if isinstance(x, TracingArray):
        return np.asarray(x.view(np.ndarray), dtype=np.float64)
    return x


def _map_args(x, f):
    if isinstance(x, (list, tuple)):
        return type(x)(_map_args(e, f) for e in x)
    return f(x)


def _flat_args(args, kwargs):
    for x in [*args, *kwargs.values()]:
        if isinstance(x, (list, tuple)):
            yield from (_base(e) for e in x)
        else:
            yield _base(x)


def _wrap(result):
    if isinstance(result, tuple):
        return tuple(_wrap(r) for r in result)
    if isinstance(result, np.ndarray) and not isinstance(result, TracingArray):
        if result.dtype == np.float64:
            return tracing_array(result)
        if result.dtype == object and result.ndim:
            return result.view(TracingArray)
        if result.dtype == object:
            return result[()]
    return result
