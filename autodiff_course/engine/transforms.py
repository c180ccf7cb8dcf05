"""The transforms a student calls: ``vjp`` and ``grad`` (reverse mode) and ``jvp`` (forward mode).

They sit above the values and the backward pass, so ``backward.py`` never needs to know about ``Scalar`` or
``Tensor`` and nothing imports in a cycle.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import primitives as P
from .backward import backprop
from .dual import Dual
from .errors import AutodiffError, ShapeError
from .scalar import Scalar
from .state import refuse_by_hand
from .tensor import Tensor


def _lift(x, argnum: int):
    # A fresh leaf for this differentiation. When x is already an engine value (an outer grad is running),
    # an identity node keeps the link to the outer graph so the outer pass can differentiate through this one.
    if isinstance(x, (Scalar, Tensor)):
        if x.requires_grad:
            return P.identity(x), True
        x = x.value
    if isinstance(x, (int, float)) or type(x).__module__ == "numpy" and getattr(x, "ndim", 1) == 0:
        return Scalar(float(x)), False
    try:
        return Tensor(x, requires_grad=True), False
    except Exception as e:  # noqa: BLE001 - re-raised with the argument named
        raise TypeError(f"argument {argnum}: cannot differentiate with respect to {type(x).__name__}: {e}") from None


def vjp(f: Callable, *primals) -> tuple[Any, Callable]:
    """Evaluate ``f(*primals)`` and return ``(output, vjp_fn)``.

    ``vjp_fn(cotangent=1.0)`` returns a tuple with one adjoint per primal: cotangent times d output / d primal
    (a number is spread over every element of an array output). The output is a plain number/array, or an
    engine value when called inside an outer ``grad``/``vjp`` (then the adjoints are engine values too, so the
    outer pass can differentiate them). An output that is an engine value but does not depend on the inputs
    has zero adjoints. Raises TypeError when ``f`` returns something that is not an engine value at all (it
    computed outside the engine, e.g. through ``float()``, so no derivative can be right), ShapeError for a
    cotangent of the wrong shape.
    """
    refuse_by_hand("grad/vjp")
    lifted, nested = zip(*(_lift(x, i) for i, x in enumerate(primals))) if primals else ((), ())
    nested = any(nested)
    out = f(*lifted)
    if not isinstance(out, (Scalar, Tensor)):
        raise TypeError(
            f"{getattr(f, '__name__', 'f')} returned {type(out).__name__}, which does not depend on its inputs "
            "through engine operations; return the result of operations on the arguments"
        )

    def constant(value, like):
        # A zero or constant adjoint inside an outer pass must still be an engine value the outer pass can read.
        if not nested or isinstance(value, (Scalar, Tensor)):
            return value
        return Scalar(float(value), requires_grad=False) if isinstance(like, Scalar) else Tensor(value)

    def vjp_fn(cotangent=1.0):
        if isinstance(out, Tensor):
            seed = np.asarray(P.raw(cotangent), dtype=out.value.dtype)
            if seed.shape != out.value.shape:
                if seed.ndim:
                    raise ShapeError(f"vjp: cotangent of shape {seed.shape} for an output of shape "
                                     f"{out.value.shape}")
                seed = np.broadcast_to(seed, out.value.shape)
            if nested:
                seed = Tensor(seed)
        else:
            seed = cotangent if isinstance(cotangent, Scalar) else float(cotangent)
        if not out.requires_grad:
            return tuple(constant(0.0 * P.raw(x), x) for x in lifted)
        adjoints, _ = backprop(out, seed, create_graph=nested)
        grads = []
        for x in lifted:
            g = adjoints.get(x)
            if g is None:
                g = 0.0 * P.raw(x)
            elif isinstance(x, Tensor) and np.shape(P.raw(g)) != x.value.shape:
                g = np.broadcast_to(P.raw(g), x.value.shape).copy() if not nested else g
            grads.append(constant(g, x) if nested else np.copy(P.raw(g)) if isinstance(x, Tensor) else P.raw(g))
        return tuple(grads)

    return (out if nested else P.raw(out)), vjp_fn


def grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The gradient of a scalar-valued ``f`` with respect to argument(s) ``argnums``.

    ``grad(grad(f))`` gives second derivatives. Raises AutodiffError if f's output is not a single number.
    """
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)

    def gradf(*args):
        out, fn = vjp(f, *args)
        size = getattr(P.raw(out), "size", 1)
        if size != 1:
            raise AutodiffError(
                f"grad needs a function with one output number; {getattr(f, '__name__', 'f')} returned "
                f"shape {getattr(P.raw(out), 'shape', ())}. Use vjp with a cotangent for non-scalar outputs."
            )
        grads = fn(1.0)
        picked = tuple(grads[i] for i in nums)
        return picked[0] if single else picked

    gradf.__name__ = f"grad_{getattr(f, '__name__', 'f')}"
    return gradf


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Evaluate ``f(*primals)`` and its directional derivative along ``tangents`` in one forward pass.

    Returns ``(output, output_tangent)``. Raises ValueError unless there is one tangent per primal.
    """
    refuse_by_hand("jvp")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one tangent per primal")
    duals = [Dual(p, t) for p, t in zip(primals, tangents)]
    out = f(*duals)
    if type(out) is Dual:
        return out.primal, out._tangent
    return out, 0.0 * P.raw(out)
