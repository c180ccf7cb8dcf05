"""Hypothesis strategies shared by the tests: inputs inside each primitive's domain, and broadcastable shapes.

Domains stay away from the places where a derivative is infinite or undefined (log and sqrt near 0, tan near
pi/2, a quotient near division by zero) and keep values moderate so that float64 comparisons with PyTorch can
be tight: far out, exp and pow overflow, and sin/cos of huge arguments lose all their digits in argument
reduction."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# name -> one (low, high) interval per input. "nonzero" intervals exclude a band around 0.
DOMAINS: dict[str, tuple] = {
    "add": ((-10, 10), (-10, 10)),
    "sub": ((-10, 10), (-10, 10)),
    "mul": ((-10, 10), (-10, 10)),
    "div": ((-10, 10), ("nonzero", 0.1, 10)),
    "pow": ((0.1, 5), (-3, 3)),
    "maximum": ((-5, 5), (-5, 5)),
    "neg": ((-10, 10),),
    "sin": ((-10, 10),),
    "cos": ((-10, 10),),
    "tan": ((-1.4, 1.4),),
    "exp": ((-10, 10),),
    "log": ((1e-3, 100),),
    "sqrt": ((1e-3, 100),),
    "tanh": ((-10, 10),),
    "sigmoid": ((-30, 30),),
    "relu": (("nonzero", 1e-3, 10),),
    "abs": (("nonzero", 1e-3, 10),),
    "square": ((-10, 10),),
    "reciprocal": (("nonzero", 0.1, 10),),
    "sinh": ((-5, 5),),
    "cosh": ((-5, 5),),
    "arcsin": ((-0.9, 0.9),),  # the derivative is infinite at -1 and 1
    "arccos": ((-0.9, 0.9),),
    "arctan": ((-10, 10),),
    # arctan2(y, x) jumps by 2 pi across y = 0 for x < 0: y keeps away from 0 so differences do not straddle it
    "arctan2": (("nonzero", 0.1, 5), (-5, 5)),
    "hypot": ((-5, 5), ("nonzero", 0.1, 5)),  # the derivative is undefined at (0, 0) only
    "log1p": ((-0.9, 10),),
    "expm1": ((-10, 10),),
    "log2": ((1e-3, 100),),
    "log10": ((1e-3, 100),),
    "exp2": ((-10, 10),),
    "cbrt": (("nonzero", 1e-2, 10),),  # the derivative is infinite at 0
    "sign": (("nonzero", 1e-3, 10),),
}

#: Elementwise primitives every property test runs over (``identity`` is internal: clone()).
ELEMENTWISE = tuple(DOMAINS)
UNARY = tuple(name for name, dom in DOMAINS.items() if len(dom) == 1)
BINARY = tuple(name for name, dom in DOMAINS.items() if len(dom) == 2)


def _interval(spec) -> st.SearchStrategy[float]:
    if spec[0] == "nonzero":
        _, low, high = spec
        magnitude = st.floats(low, high, allow_nan=False, allow_infinity=False)
        return st.tuples(magnitude, st.booleans()).map(lambda t: -t[0] if t[1] else t[0])
    low, high = spec
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def scalar_args(name: str) -> st.SearchStrategy[tuple[float, ...]]:
    """A tuple of plain floats inside ``name``'s domain, one per input.

    maximum's operands are either equal (a tie, where the derivative is split in halves) or at least 1e-3
    apart: in between, a central difference straddles the kink and means nothing.
    """
    args = st.tuples(*(_interval(spec) for spec in DOMAINS[name]))
    if name == "maximum":
        ties = _interval(DOMAINS[name][0]).map(lambda x: (x, x))
        return st.one_of(args.filter(lambda t: abs(t[0] - t[1]) > 1e-3), ties)
    return args


def _array(spec, shape) -> st.SearchStrategy[np.ndarray]:
    if spec[0] == "nonzero":
        _, low, high = spec
        mags = hnp.arrays(np.float64, shape, elements=st.floats(low, high))
        signs = hnp.arrays(np.bool_, shape)
        return st.tuples(mags, signs).map(lambda t: np.where(t[1], -t[0], t[0]))
    low, high = spec
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high))


#: Pairs of shapes numpy broadcasts together: (), (3,), (2, 1), (2, 3), (1, 3), (4, 1, 3), ...
broadcast_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1,
                                                     max_side=3)


@st.composite
def array_args(draw, name: str):
    """Arrays inside ``name``'s domain, with mutually broadcastable shapes for binary primitives."""
    domains = DOMAINS[name]
    if len(domains) == 1:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
        return (draw(_array(domains[0], shape)),)
    shapes = draw(broadcast_shapes).input_shapes
    return tuple(draw(_array(spec, shape)) for spec, shape in zip(domains, shapes))


def cotangent(shape) -> st.SearchStrategy[np.ndarray]:
    """A random output adjoint (the vector of a vector-Jacobian product) of the given shape."""
    return hnp.arrays(np.float64, shape, elements=st.floats(-2, 2))


@st.composite
def matmul_operands(draw):
    """Operands of every rank combination matmul accepts: vector, matrix, and batches of matrices."""
    n, m, k, b = (draw(st.integers(1, 4)) for _ in range(4))
    left = draw(st.sampled_from([(n,), (k, n), (b, k, n), (1, k, n)]))
    right = draw(st.sampled_from([(n,), (n, m), (b, n, m)]))
    elems = st.floats(-3, 3)
    return (draw(hnp.arrays(np.float64, left, elements=elems)),
            draw(hnp.arrays(np.float64, right, elements=elems)))


@st.composite
def reduction_case(draw):
    """An array, an axis argument for sum/mean (None, an int, negative or a tuple) and keepdims."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    x = draw(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)))
    ndim = len(shape)
    axis = draw(st.one_of(
        st.none(),
        st.integers(-ndim, ndim - 1),
        st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
    ))
    return x, axis, draw(st.booleans())


@st.composite
def index_case(draw):
    """A 2-d array and a basic or advanced index into it."""
    rows, cols = draw(st.integers(2, 4)), draw(st.integers(2, 4))
    x = draw(hnp.arrays(np.float64, (rows, cols), elements=st.floats(-5, 5)))
    index = draw(st.sampled_from([
        0, -1, (1, 0), (slice(None), 1), (slice(0, 2), slice(None)), (Ellipsis, 0), slice(1, None),
        [0, 1, 0], ([0, 1], [1, 0]), (slice(None), [1, 1]),
    ]))
    return x, index
