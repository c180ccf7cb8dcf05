"""Central differences: the numerical check of any derivative the engine computes."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .state import refuse_by_hand
from .transforms import vjp


def numerical_gradient(f: Callable, inputs: Sequence, eps: float = 1e-6) -> list:
    """d f / d input for each input by central differences (f must return one number)."""
    refuse_by_hand("numerical_gradient")
    base = [np.array(x, dtype=float) for x in inputs]
    grads = []
    for k, x in enumerate(base):
        g = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            h = eps * max(1.0, abs(float(x[idx])))
            plus = [b.copy() for b in base]
            minus = [b.copy() for b in base]
            plus[k][idx] += h
            minus[k][idx] -= h
            fp = float(np.asarray(f(*[p if p.ndim else float(p) for p in plus])).sum())
            fm = float(np.asarray(f(*[m if m.ndim else float(m) for m in minus])).sum())
            g[idx] = (fp - fm) / (2 * h)
        grads.append(g if g.ndim else float(g))
    return grads


def gradcheck(f: Callable, inputs: Sequence, *, eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-7,
              raise_exception: bool = True) -> bool:
    """Compare the engine's reverse-mode gradient of ``f`` at ``inputs`` with central differences.

    The step ``eps`` (scaled by each input's magnitude) balances truncation error (O(eps^2)) against rounding
    error (O(1e-16 / eps)); the default tolerances sit well above both. Returns True when they agree; otherwise
    raises AssertionError naming the input and both values (or returns False with ``raise_exception=False``).
    """
    inputs = list(inputs)
    _, fn = vjp(f, *inputs)
    analytic = fn(1.0)
    numeric = numerical_gradient(f, inputs, eps)
    for k, (a, n) in enumerate(zip(analytic, numeric)):
        if not np.allclose(a, n, rtol=rtol, atol=atol):
            if raise_exception:
                raise AssertionError(f"gradcheck: input {k}: engine gives {a!r}, central differences {n!r}")
            return False
    return True
