"""The reference autodiff engine: primitives declared once, values (Scalar, Tensor, Dual), the backward pass and
the transforms built on them. Nothing here knows about graphs of named variables, checkers or widgets."""

from . import optim
from .dual import Dual
from .errors import AutodiffError, DomainError, GraphFreedError, MissingRuleError, ShapeError, TraceError
from .gradcheck import gradcheck, numerical_gradient
from .primitives import PRIMITIVES, Primitive
from .scalar import Scalar
from .state import enable_grad, is_grad_enabled, no_grad
from .tensor import Tensor, linspace, ones, tensor, zeros
from .transforms import grad, jvp, vjp

__all__ = [
    "AutodiffError", "DomainError", "Dual", "GraphFreedError", "MissingRuleError", "PRIMITIVES", "Primitive",
    "Scalar", "ShapeError", "Tensor", "TraceError", "enable_grad", "grad", "gradcheck", "is_grad_enabled", "jvp",
    "linspace", "no_grad", "numerical_gradient", "ones", "optim", "tensor", "vjp", "zeros",
]
