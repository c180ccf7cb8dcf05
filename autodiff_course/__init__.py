"""autodiff-course: a reference autodiff engine, checkers and widgets for a course on automatic differentiation.

The engine (``Scalar``, ``Tensor``, ``jvp``, ``vjp``, ``grad``, ``trace``) is exact and small enough to read.
"""

from . import optim
from .checks import (
    CheckResult,
    InternalCheckError,
    check_decomposition,
    check_forward,
    check_graph,
    check_reverse,
    check_variables,
)
from .errors import AutodiffError, DomainError, GraphFreedError, MissingRuleError, ShapeError, TraceError
from .forward import Dual, jvp
from .gradcheck import gradcheck, numerical_gradient
from .graph import Graph, GraphNode
from .primitives import (
    PRIMITIVES,
    Primitive,
    cos,
    exp,
    log,
    matmul,
    maximum,
    relu,
    sigmoid,
    sin,
    sqrt,
    tan,
    tanh,
    unbroadcast,
)
from .primitives import abs_ as abs
from .reverse import grad, vjp
from .scalar import Scalar
from .state import enable_grad, is_grad_enabled, no_grad
from .tensor import Tensor, linspace, ones, tensor, zeros
from .trace import trace

__version__ = "0.1.0"

__all__ = [
    "AutodiffError", "CheckResult", "DomainError", "Dual", "Graph", "GraphFreedError", "GraphNode",
    "InternalCheckError", "MissingRuleError", "PRIMITIVES", "Primitive", "Scalar", "ShapeError", "Tensor",
    "TraceError", "abs", "check_decomposition", "check_forward", "check_graph", "check_reverse",
    "check_variables", "cos", "enable_grad", "exp", "grad", "gradcheck", "is_grad_enabled", "jvp", "linspace",
    "log", "matmul", "maximum", "no_grad", "numerical_gradient", "ones", "optim", "relu", "sigmoid", "sin",
    "sqrt", "tan", "tanh", "tensor", "trace", "unbroadcast", "vjp", "zeros",
]
