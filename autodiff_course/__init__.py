"""autodiff-course: a reference autodiff engine, checkers and widgets for a course on automatic differentiation.

The engine (``Scalar``, ``Tensor``, ``jvp``, ``vjp``, ``grad``, ``trace``) is exact and small enough to read.
"""

from ._version import __version__  # noqa: F401 - ad.__version__
from .checks import (
    CheckResult,
    InternalCheckError,
    check_decomposition,
    check_forward,
    check_graph,
    check_reverse,
    check_variables,
)
from .engine import (
    AutodiffError,
    DomainError,
    Dual,
    GraphFreedError,
    MissingRuleError,
    Scalar,
    ShapeError,
    Tensor,
    TraceError,
    enable_grad,
    grad,
    gradcheck,
    is_grad_enabled,
    jvp,
    linspace,
    no_grad,
    numerical_gradient,
    ones,
    optim,
    tensor,
    vjp,
    zeros,
)
from .engine.primitives import (
    PRIMITIVES,
    Primitive,
    arccos,
    arcsin,
    arctan,
    arctan2,
    cbrt,
    cos,
    cosh,
    exp,
    exp2,
    expm1,
    hypot,
    log,
    log1p,
    log2,
    log10,
    matmul,
    maximum,
    relu,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    tan,
    tanh,
    unbroadcast,
)
from .engine.primitives import abs_ as abs
from .graph import Graph, GraphNode, trace

# Feedback registers how a CheckResult renders, the widgets how a Graph displays itself (its SVG, its
# stepper), the course its trusted recomputations for expectations (`reference`); importing them here lets
# the lower layers use them without importing upward.
from . import feedback, widgets  # noqa: E402,F401  isort: skip
from .course import reference  # noqa: E402,F401  isort: skip


__all__ = [
    "AutodiffError", "CheckResult", "DomainError", "Dual", "Graph", "GraphFreedError", "GraphNode",
    "InternalCheckError", "MissingRuleError", "PRIMITIVES", "Primitive", "Scalar", "ShapeError", "Tensor",
    "TraceError", "abs", "arccos", "arcsin", "arctan", "arctan2", "cbrt", "check_decomposition", "check_forward",
    "check_graph", "check_reverse", "check_variables", "cos", "cosh", "enable_grad", "exp", "exp2", "expm1",
    "grad", "gradcheck", "hypot", "is_grad_enabled", "jvp", "linspace", "log", "log10", "log1p", "log2", "matmul",
    "maximum", "no_grad", "numerical_gradient", "ones", "optim", "relu", "sigmoid", "sign", "sin", "sinh", "sqrt",
    "tan", "tanh", "tensor", "trace", "unbroadcast", "vjp", "zeros",
]
