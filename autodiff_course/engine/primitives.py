"""Every elementary operation, declared once.

A primitive says what it computes (for a Python float and for a numpy array) and how derivatives flow through it.
Forward mode (dual numbers), reverse mode (the backward pass), tracing, the graph widget and the checkers all read
these declarations; nothing else in the package knows a derivative rule.

Elementwise primitives give their *local partial derivatives*: ``partials[k](ans, *args)`` is d out / d args[k],
the number a student writes as ``dv5dv1``. Both modes follow from them: a tangent is the sum of partial * input
tangent, an adjoint contribution is output adjoint * partial. A partial may be the constant ``1`` or ``-1`` so the
passes can skip a multiplication. Structural tensor primitives (matmul, sum, reshape, ...) have no elementwise
partials and give ``jvp`` and ``vjp`` rules instead.

Rules are written with the primitives themselves (``cos(x)``, ``x * y``), so the same rule runs on raw numbers (a
fast pass) and on graph nodes (``create_graph=True``, which is how higher derivatives work).
"""

from __future__ import annotations

import math
import operator
import types
from typing import Any, Callable

import numpy as np

from .errors import AutodiffError, DomainError, MissingRuleError, ShapeError
from .state import refuse_by_hand

PRIMITIVES: dict[str, "Primitive"] = {}

_PY_NUMBERS = (float, int)


def raw(x: Any) -> Any:
    """The plain number or array inside an engine value (a Scalar, Tensor or Dual); anything else as it is."""
    while True:
        v = getattr(x, "_raw_value", None)
        if v is None:
            return x
        x = v()


# Rules are written once, with the primitives (``cos(x)``), so that they also build graphs (higher derivatives).
# On plain floats, the hot case of Scalar backward passes and dual numbers, a primitive call would only dispatch
# to its float implementation; ``_on_floats`` compiles the same rule against a namespace where each primitive's
# name is bound to that implementation (``cos`` -> ``math.cos``). The namespace is filled at the end of this
# module, once every primitive is declared.
_FLOAT_NAMESPACE: dict[str, Any] = {}


def _on_floats(rule):
    """``rule`` (a partial derivative) calling primitives' float implementations directly; ints as they are.

    Only rules written in this module are recompiled: a rule declared elsewhere may use names of its own
    module, and runs as written (its primitive calls still take the float path of ``Primitive.__call__``).
    """
    if not isinstance(rule, types.FunctionType) or rule.__globals__ is not globals():
        return rule
    f = types.FunctionType(rule.__code__, _FLOAT_NAMESPACE, rule.__name__, rule.__defaults__, rule.__closure__)
    f.__doc__ = rule.__doc__
    return f


def _all_floats(args: tuple) -> bool:
    for a in args:
        if type(a) is not float:
            return False
    return True


_RANKS: dict[type, int] = {}  # type -> its _dispatch_rank (0 for plain numbers and arrays), looked up once


def _dispatch_class(args: tuple) -> type | None:
    """The engine class that applies a primitive to ``args`` (the highest ``_dispatch_rank``), or None."""
    best, rank = None, 0
    for a in args:
        t = type(a)
        r = _RANKS.get(t)
        if r is None:
            r = _RANKS[t] = getattr(t, "_dispatch_rank", 0)
        if r > rank:
            best, rank = t, r
    return best


class Primitive:
    """One elementary operation: its forward computation and its derivative rules.

    Calling a primitive on engine values records a node (or propagates a tangent); on plain numbers or arrays it
    just computes, after checking the domain so that, say, a log of a negative number is an error that names the
    operation rather than a silent NaN.
    """

    def __init__(
        self,
        name: str,
        arity: int,
        *,
        scalar: Callable | None,
        array: Callable,
        partials: tuple | None = None,
        jvp: Callable | None = None,
        vjp: Callable | None = None,
        domain: Callable | None = None,
        torch: Callable | None = None,
        grad_fn: str,
        grad_fn_variant: Callable | None = None,
        expr: str,
        partial_text: tuple[str, ...] = (),
        symbol: str | None = None,
        commutative: bool = False,
        linear: bool = False,
    ):
        self.name = name
        #: The operands may be swapped without changing the value (a graph's shape ignores their order).
        self.commutative = commutative
        #: The value is a fixed linear combination of the operands (+1/-1 partials): rounding in it is relative
        #: to the operands' sizes, not the result's, since terms can cancel.
        self.linear = linear
        self.arity = arity
        self.scalar_impl = scalar
        self.array_impl = array
        self._jvp = jvp
        self._vjp = vjp
        self.domain = domain
        self.torch_impl = torch
        self.grad_fn_name = grad_fn
        #: PyTorch names some grad_fns after more than the operation: ``(params, numbers, ranks) -> name``, where
        #: ``numbers[k]`` says operand k was a plain number and ``ranks[k]`` is its number of dimensions.
        self._grad_fn_variant = grad_fn_variant
        self.expr = expr
        self.partial_text = partial_text
        self.symbol = symbol
        self.elementwise = partials is not None
        self._partials = partials
        #: The same partials, run on plain floats: see ``_on_floats``.
        self._float_partials = None if partials is None else tuple(_on_floats(p) for p in partials)
        PRIMITIVES[name] = self

    # The derivative rules are read through these (and ``partial``, ``jvp``, ``vjp``), which refuse inside a
    # hand-written answer (see ``state.by_hand``); the engine's own passes read the private fields.
    @property
    def partials(self) -> tuple | None:
        """The local partial derivatives ``partials[k](ans, *args)`` (an int for a constant 1 or -1)."""
        refuse_by_hand("a primitive's derivative rule (partials)")
        return self._partials

    @partials.setter
    def partials(self, partials: tuple | None) -> None:
        # Replacing a rule (the tests' fault injection) leaves its float version, as a plain attribute would.
        self._partials = partials

    @property
    def float_partials(self) -> tuple | None:
        """``partials`` run on plain floats (see ``_on_floats``)."""
        refuse_by_hand("a primitive's derivative rule (float_partials)")
        return self._float_partials

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def grad_fn_for(self, params: dict, numbers: list[bool], ranks: list[int]) -> str:
        """The class name PyTorch gives the grad_fn of this operation on these operands (checked against torch
        in the tests): ``1 - x`` is RsubBackward1, ``2 / x`` MulBackward0 (PyTorch multiplies by the reciprocal),
        ``2 ** x`` PowBackward2; a matmul is named by its operands' ranks, an index by its kind."""
        if self._grad_fn_variant is None:
            return self.grad_fn_name
        return self._grad_fn_variant(params, numbers, ranks) or self.grad_fn_name

    # -- forward ------------------------------------------------------------------------------------------
    def __call__(self, *args, **params):
        # Plain floats are the hot case (derivative rules call primitives on raw numbers in every backward
        # pass), so they skip the generic dispatch; errors are re-raised by ``raw`` with a clear message.
        if not params and self.scalar_impl is not None and _all_floats(args):
            try:
                return self.scalar_impl(*args)
            except (ArithmeticError, ValueError):
                return self.raw(*args)
        cls = _dispatch_class(args)
        if cls is None:
            return self.raw(*args, **params)
        return cls._apply(self, args, params)

    def raw(self, *args, **params):
        """Compute on plain floats or numpy arrays (no graph). Raises DomainError outside the domain."""
        if self.domain is not None:
            self.domain(*args)
        impl = self.scalar_impl
        if impl is not None:
            for a in args:
                if not isinstance(a, _PY_NUMBERS):
                    impl = self.array_impl
                    break
        else:
            impl = self.array_impl
        try:
            return impl(*args, **params)
        except (ArithmeticError, ValueError) as e:
            raise self._error(e, args) from None

    def _error(self, e: Exception, args) -> Exception:
        """The engine's error for an exception raised by an implementation: it names this operation."""
        if isinstance(e, AutodiffError):
            return e
        message = str(e)
        if isinstance(e, ValueError) and any(w in message for w in ("shape", "broadcast", "dimension", "size")):
            shapes = " and ".join(str(np.shape(raw(a))) for a in args)
            what = f"operands of shapes {shapes} do not" if len(args) > 1 else f"an operand of shape {shapes} does not"
            return ShapeError(f"{self.name}: {what} fit ({message})")
        shown = ", ".join(_short(a) for a in args)
        return DomainError(f"{self.name}({shown}): {message}")

    def describe(self, names: list[str] | tuple[str, ...]) -> str:
        """The operation written with the given input names, e.g. ``'v1 * v4'`` or ``'sin(v0)'``."""
        return self.expr.format(*names)

    def partial_words(self, k: int, names, out: str) -> str:
        """The local derivative d out / d input k as a formula in the given names, e.g. ``'-sin(v0)'``."""
        if k >= len(self.partial_text):
            raise MissingRuleError(self.name, "text")
        return self.partial_text[k].format(*names, out=out)

    # -- derivatives --------------------------------------------------------------------------------------
    def partial(self, k: int, ans, args):
        """d out / d args[k] at these values (elementwise primitives only)."""
        refuse_by_hand("a primitive's local derivative (partial)")
        if self._partials is None:
            raise MissingRuleError(self.name, "local-derivative")
        p = self._partials[k]
        return p if isinstance(p, int) else p(ans, *args)

    def jvp(self, tangents, ans, args, params):
        """The output tangent from the input tangents (``None`` for an input that carries none)."""
        refuse_by_hand("a primitive's forward-mode rule (jvp)")
        if self._jvp is not None:
            return self._jvp(tangents, ans, *args, **params)
        if self._partials is None:
            raise MissingRuleError(self.name, "forward-mode (jvp)")
        total = None
        for k, t in enumerate(tangents):
            if t is None:
                continue
            p = self._partials[k]
            term = t if p == 1 and isinstance(p, int) else (-t if isinstance(p, int) else p(ans, *args) * t)
            total = term if total is None else total + term
        return total

    def vjp(self, g, ans, args, params, needs, broadcast=True):
        """Adjoint contributions to each input from the output adjoint ``g``.

        ``needs[k]`` says whether input k wants one (others get ``None``). With ``broadcast`` the contribution is
        summed back to the input's shape (see ``unbroadcast``).
        """
        refuse_by_hand("a primitive's reverse-mode rule (vjp)")
        if self._vjp is not None:
            return self._vjp(g, ans, *args, needs=needs, **params)
        if self._partials is None:
            raise MissingRuleError(self.name, "reverse-mode (vjp)")
        out = []
        for k, need in enumerate(needs):
            if not need:
                out.append(None)
                continue
            p = self._partials[k]
            if isinstance(p, int):
                c = g if p == 1 else -g
            else:
                c = g * p(ans, *args)
            if broadcast:
                c = unbroadcast(c, np.shape(raw(args[k])))
            out.append(c)
        return tuple(out)

    def torch(self, torch_module, *args, **params):
        """The same operation in PyTorch, for cross-checking."""
        if self.torch_impl is None:
            raise MissingRuleError(self.name, "PyTorch")
        return self.torch_impl(torch_module, *args, **params)


def _short(a) -> str:
    a = raw(a)
    if isinstance(a, np.ndarray) and a.size > 4:
        return f"array of shape {a.shape}"
    return repr(a.tolist() if isinstance(a, np.ndarray) else a)


def unbroadcast(g, shape: tuple):
    """Sum the adjoint ``g`` back down to ``shape``, the shape of an operand numpy broadcast.

    Broadcasting copies an operand along new leading axes and along its axes of length 1, so every copy sent
    an adjoint back: the operand's adjoint is the sum over those axes. This is the most common bug in tensor
    engines (an adjoint with the output's shape, not the input's), so it lives in this one place.
    """
    gshape = g.shape if type(g) is np.ndarray else np.shape(raw(g))
    shape = tuple(shape)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1
    )
    if type(g) is np.ndarray:  # a plain adjoint (no create_graph): no node to record, numpy directly
        return (g.sum(axis=axes, keepdims=True) if axes else g).reshape(shape)
    if axes:
        g = sum_(g, axis=axes, keepdims=True)
    return reshape(g, shape=shape)


# -- domain checks ----------------------------------------------------------------------------------------
def _any(cond) -> bool:
    return bool(np.any(cond))


def _check_positive(name, strict):
    # Plain floats are checked without numpy: this runs on every log and sqrt of a Scalar.
    def check(x):
        x = raw(x)
        if isinstance(x, float):
            bad = x <= 0.0 if strict else x < 0.0
            if not bad:
                return
        else:
            mask = np.less_equal(x, 0) if strict else np.less(x, 0)
            if not _any(mask):
                return
            x = float(np.asarray(x)[mask].flat[0]) if np.ndim(x) else float(x)
        raise DomainError(f"{name} of {x!r}: {name} is only defined for inputs {'> 0' if strict else '>= 0'}")

    return check


def _check_div(x, y):
    yv = raw(y)
    if (yv == 0.0) if isinstance(yv, (float, int)) else _any(np.equal(yv, 0)):
        raise DomainError(f"div: division by zero ({_short(x)} / {_short(y)})")


def _check_pow(x, y):
    xv, yv = raw(x), raw(y)
    if isinstance(yv, (float, int)):
        if yv >= 0 and float(yv).is_integer():  # x**2 and the like: defined for every x, checked at no cost
            return
        if isinstance(xv, (float, int)) and (xv > 0 or (xv < 0 and float(yv).is_integer()) or (xv == 0 and yv >= 0)):
            return
    if _any(np.less(xv, 0) & (np.asarray(yv) != np.round(yv))):
        raise DomainError(f"pow: a negative base ({_short(x)}) to a non-integer power ({_short(y)}) is not real")
    if _any(np.equal(xv, 0) & np.less(yv, 0)):
        raise DomainError(f"pow: zero to a negative power ({_short(y)}) divides by zero")


def _check_unit(name):
    # arcsin and arccos are real on [-1, 1] only; their derivatives are infinite at the ends (a DomainError
    # from the passes, as for sqrt at 0).
    def check(x):
        x = raw(x)
        if isinstance(x, float):
            if -1.0 <= x <= 1.0:
                return
        else:
            outside = np.greater(np.abs(x), 1)
            if not _any(outside):
                return
            x = float(np.asarray(x)[outside].flat[0]) if np.ndim(x) else float(x)
        raise DomainError(f"{name} of {x!r}: {name} is only defined for inputs from -1 to 1")

    return check


def _check_above_minus_one(x):
    xv = raw(x)
    if (xv <= -1.0) if isinstance(xv, (float, int)) else _any(np.less_equal(xv, -1)):
        raise DomainError(f"log1p of {_short(x)}: log1p is only defined for inputs > -1")


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _zero(x) -> Any:
    """0 with x's shape: the derivative of a piecewise constant function (sign)."""
    if type(x) is float:
        return 0.0
    x = raw(x)
    return 0.0 if isinstance(x, (float, int)) else np.zeros(np.shape(x), dtype=np.result_type(x, float))


def _indicator(cond) -> Any:
    """A 0/1 local derivative from a comparison of raw values (it has no derivative of its own)."""
    if isinstance(cond, (bool, np.bool_)):
        return 1.0 if cond else 0.0
    return np.asarray(cond, dtype=float)


# The local derivatives of relu, abs and maximum are step functions of the raw values: constants as far as
# any higher derivative is concerned. Plain floats are tested without numpy (they are the scalar hot path).
def _step(x) -> Any:
    """1 where x > 0, else 0 (so relu'(0) = 0, as in PyTorch)."""
    if type(x) is not float:
        x = raw(x)
        if type(x) is not float:
            return _indicator(np.greater(x, 0))
    return 1.0 if x > 0.0 else 0.0


def _sign(x) -> Any:
    """-1, 0 or 1: the derivative of abs (0 at 0, as PyTorch's sgn)."""
    if type(x) is not float:
        x = raw(x)
        if type(x) is not float:
            return np.sign(x).astype(float) if isinstance(x, np.ndarray) else float(np.sign(x))
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def _scalar_pow(x, y):
    r = x ** y
    if type(r) is complex:  # Python gives a complex number where numpy gives NaN and we give an error
        raise ValueError("a negative base to a non-integer power is not real")
    return r


def _scalar_maximum(x, y):
    # NaN propagates, as in numpy and PyTorch (the builtin max would depend on argument order).
    return x if (x > y or x != x) else y


def _scalar_sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _array_sigmoid(x):
    # PyTorch's formula, so float64 results agree to the last bit or so; exp(-x) overflowing to inf for
    # x < -709 gives the right limit 0, hence the silenced warning.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _max_partial(first: bool):
    # Ties split the adjoint evenly, as PyTorch's maximum does.
    def p(ans, x, y):
        xv, yv = raw(x), raw(y)
        if not first:
            xv, yv = yv, xv
        if type(xv) is float and type(yv) is float:
            return 1.0 if xv > yv else (0.5 if xv == yv else 0.0)
        return _indicator(np.greater(xv, yv)) + 0.5 * _indicator(np.equal(xv, yv))

    return p


# -- elementwise: binary ----------------------------------------------------------------------------------
add = Primitive("add", 2, scalar=operator.add, array=np.add, partials=(1, 1),
                torch=lambda t, x, y: x + y, grad_fn="AddBackward0", expr="{0} + {1}",
                partial_text=("1", "1"), symbol="+", commutative=True, linear=True)
sub = Primitive("sub", 2, scalar=operator.sub, array=np.subtract, partials=(1, -1),
                torch=lambda t, x, y: x - y, grad_fn="SubBackward0", expr="{0} - {1}",
                grad_fn_variant=lambda params, numbers, ranks: "RsubBackward1" if numbers[0] else None,
                partial_text=("1", "-1"), symbol="-", linear=True)
mul = Primitive("mul", 2, scalar=operator.mul, array=np.multiply,
                partials=(lambda ans, x, y: y, lambda ans, x, y: x),
                torch=lambda t, x, y: x * y, grad_fn="MulBackward0", expr="{0} * {1}",
                partial_text=("{1}", "{0}"), symbol="*", commutative=True)
div = Primitive("div", 2, scalar=operator.truediv, array=np.true_divide,
                partials=(lambda ans, x, y: 1 / y, lambda ans, x, y: -x / (y * y)), domain=_check_div,
                torch=lambda t, x, y: x / y, grad_fn="DivBackward0", expr="{0} / {1}",
                grad_fn_variant=lambda params, numbers, ranks: "MulBackward0" if numbers[0] else None,
                partial_text=("1/{1}", "-{0}/{1}^2"), symbol="/")
pow_ = Primitive("pow", 2, scalar=_scalar_pow, array=np.power,
                 partials=(lambda ans, x, y: y * x ** (y - 1), lambda ans, x, y: ans * log(x)),
                 domain=_check_pow, torch=lambda t, x, y: x ** y, grad_fn="PowBackward0",
                 grad_fn_variant=lambda params, numbers, ranks: (
                     "PowBackward2" if numbers[0] else "PowBackward0" if numbers[1] else "PowBackward1"),
                 expr="{0} ** {1}", partial_text=("{1} * {0}^({1} - 1)", "{out} * log({0})"), symbol="**")
maximum = Primitive("maximum", 2, scalar=_scalar_maximum, array=np.maximum,
                    partials=(_max_partial(True), _max_partial(False)),
                    torch=lambda t, x, y: t.maximum(x, y), grad_fn="MaximumBackward0",
                    expr="maximum({0}, {1})",
                    partial_text=("1 if {0} > {1} else 0", "1 if {1} > {0} else 0"), commutative=True)

# -- elementwise: unary -----------------------------------------------------------------------------------
neg = Primitive("neg", 1, scalar=operator.neg, array=np.negative, partials=(-1,),
                torch=lambda t, x: -x, grad_fn="NegBackward0", expr="-{0}", partial_text=("-1",), linear=True)
sin = Primitive("sin", 1, scalar=math.sin, array=np.sin, partials=(lambda ans, x: cos(x),),
                torch=lambda t, x: t.sin(x), grad_fn="SinBackward0", expr="sin({0})",
                partial_text=("cos({0})",))
cos = Primitive("cos", 1, scalar=math.cos, array=np.cos, partials=(lambda ans, x: -sin(x),),
                torch=lambda t, x: t.cos(x), grad_fn="CosBackward0", expr="cos({0})",
                partial_text=("-sin({0})",))
tan = Primitive("tan", 1, scalar=math.tan, array=np.tan, partials=(lambda ans, x: 1 + ans * ans,),
                torch=lambda t, x: t.tan(x), grad_fn="TanBackward0", expr="tan({0})",
                partial_text=("1 + tan({0})^2",))
exp = Primitive("exp", 1, scalar=math.exp, array=np.exp, partials=(lambda ans, x: ans,),
                torch=lambda t, x: t.exp(x), grad_fn="ExpBackward0", expr="exp({0})",
                partial_text=("exp({0})",))
log = Primitive("log", 1, scalar=math.log, array=np.log, partials=(lambda ans, x: 1 / x,),
                domain=_check_positive("log", True), torch=lambda t, x: t.log(x), grad_fn="LogBackward0",
                expr="log({0})", partial_text=("1/{0}",))
sqrt = Primitive("sqrt", 1, scalar=math.sqrt, array=np.sqrt, partials=(lambda ans, x: 0.5 / ans,),
                 domain=_check_positive("sqrt", False), torch=lambda t, x: t.sqrt(x),
                 grad_fn="SqrtBackward0", expr="sqrt({0})", partial_text=("1/(2*sqrt({0}))",))
tanh = Primitive("tanh", 1, scalar=math.tanh, array=np.tanh, partials=(lambda ans, x: 1 - ans * ans,),
                 torch=lambda t, x: t.tanh(x), grad_fn="TanhBackward0", expr="tanh({0})",
                 partial_text=("1 - tanh({0})^2",))
sigmoid = Primitive("sigmoid", 1, scalar=_scalar_sigmoid, array=_array_sigmoid,
                    partials=(lambda ans, x: ans * (1 - ans),), torch=lambda t, x: t.sigmoid(x),
                    grad_fn="SigmoidBackward0", expr="sigmoid({0})",
                    partial_text=("sigmoid({0}) * (1 - sigmoid({0}))",))
relu = Primitive("relu", 1, scalar=lambda x: x if x > 0 else 0.0, array=lambda x: np.maximum(x, 0.0),
                 partials=(lambda ans, x: _step(x),),
                 torch=lambda t, x: t.relu(x), grad_fn="ReluBackward0", expr="relu({0})",
                 partial_text=("1 if {0} > 0 else 0",))
abs_ = Primitive("abs", 1, scalar=abs, array=np.abs,
                 partials=(lambda ans, x: _sign(x),),
                 torch=lambda t, x: t.abs(x), grad_fn="AbsBackward0", expr="abs({0})",
                 partial_text=("sign({0})",))
# numpy's own spellings of two powers that students reach for: np.square(x) is x**2, np.reciprocal(x) is 1/x.
square = Primitive("square", 1, scalar=lambda x: x * x, array=np.square, partials=(lambda ans, x: 2 * x,),
                   torch=lambda t, x: t.square(x), grad_fn="PowBackward0", expr="square({0})",
                   partial_text=("2*{0}",))
reciprocal = Primitive("reciprocal", 1, scalar=lambda x: 1.0 / x, array=lambda x: np.reciprocal(x),
                       partials=(lambda ans, x: -(ans * ans),), domain=lambda x: _check_div(1.0, x),
                       torch=lambda t, x: t.reciprocal(x), grad_fn="ReciprocalBackward0", expr="reciprocal({0})",
                       partial_text=("-1/{0}^2",))
# Hyperbolic, inverse trigonometric and the other elementary functions numpy and math offer, so that an honest
# answer written with any of them (``t3 = t2 / np.cosh(v2)**2``) can be followed step by step.
sinh = Primitive("sinh", 1, scalar=math.sinh, array=np.sinh, partials=(lambda ans, x: cosh(x),),
                 torch=lambda t, x: t.sinh(x), grad_fn="SinhBackward0", expr="sinh({0})",
                 partial_text=("cosh({0})",))
cosh = Primitive("cosh", 1, scalar=math.cosh, array=np.cosh, partials=(lambda ans, x: sinh(x),),
                 torch=lambda t, x: t.cosh(x), grad_fn="CoshBackward0", expr="cosh({0})",
                 partial_text=("sinh({0})",))
arcsin = Primitive("arcsin", 1, scalar=math.asin, array=np.arcsin,
                   partials=(lambda ans, x: 1 / sqrt(1 - x * x),), domain=_check_unit("arcsin"),
                   torch=lambda t, x: t.asin(x), grad_fn="AsinBackward0", expr="arcsin({0})",
                   partial_text=("1/sqrt(1 - {0}^2)",))
arccos = Primitive("arccos", 1, scalar=math.acos, array=np.arccos,
                   partials=(lambda ans, x: -1 / sqrt(1 - x * x),), domain=_check_unit("arccos"),
                   torch=lambda t, x: t.acos(x), grad_fn="AcosBackward0", expr="arccos({0})",
                   partial_text=("-1/sqrt(1 - {0}^2)",))
arctan = Primitive("arctan", 1, scalar=math.atan, array=np.arctan, partials=(lambda ans, x: 1 / (1 + x * x),),
                   torch=lambda t, x: t.atan(x), grad_fn="AtanBackward0", expr="arctan({0})",
                   partial_text=("1/(1 + {0}^2)",))
# arctan2(y, x) is the angle of the point (x, y): numpy's and math's order of arguments, y first.
arctan2 = Primitive("arctan2", 2, scalar=math.atan2, array=np.arctan2,
                    partials=(lambda ans, y, x: x / (x * x + y * y), lambda ans, y, x: -y / (x * x + y * y)),
                    torch=lambda t, y, x: t.atan2(y, x), grad_fn="Atan2Backward0", expr="arctan2({0}, {1})",
                    partial_text=("{1}/({0}^2 + {1}^2)", "-{0}/({0}^2 + {1}^2)"))
hypot = Primitive("hypot", 2, scalar=math.hypot, array=np.hypot,
                  partials=(lambda ans, x, y: x / ans, lambda ans, x, y: y / ans),
                  torch=lambda t, x, y: t.hypot(x, y), grad_fn="HypotBackward0", expr="hypot({0}, {1})",
                  partial_text=("{0}/hypot({0}, {1})", "{1}/hypot({0}, {1})"), commutative=True)
log1p = Primitive("log1p", 1, scalar=math.log1p, array=np.log1p, partials=(lambda ans, x: 1 / (1 + x),),
                  domain=_check_above_minus_one, torch=lambda t, x: t.log1p(x), grad_fn="Log1PBackward0",
                  expr="log1p({0})", partial_text=("1/(1 + {0})",))
# expm1's derivative is exp(x) = expm1(x) + 1, read from the answer as PyTorch does.
expm1 = Primitive("expm1", 1, scalar=math.expm1, array=np.expm1, partials=(lambda ans, x: ans + 1,),
                  torch=lambda t, x: t.expm1(x), grad_fn="Expm1Backward0", expr="expm1({0})",
                  partial_text=("exp({0})",))
log2 = Primitive("log2", 1, scalar=math.log2, array=np.log2, partials=(lambda ans, x: 1 / (x * _LN2),),
                 domain=_check_positive("log2", True), torch=lambda t, x: t.log2(x), grad_fn="Log2Backward0",
                 expr="log2({0})", partial_text=("1/({0} * log(2))",))
log10 = Primitive("log10", 1, scalar=math.log10, array=np.log10, partials=(lambda ans, x: 1 / (x * _LN10),),
                  domain=_check_positive("log10", True), torch=lambda t, x: t.log10(x), grad_fn="Log10Backward0",
                  expr="log10({0})", partial_text=("1/({0} * log(10))",))
exp2 = Primitive("exp2", 1, scalar=lambda x: 2.0 ** x, array=np.exp2, partials=(lambda ans, x: ans * _LN2,),
                 torch=lambda t, x: t.exp2(x), grad_fn="Exp2Backward0", expr="exp2({0})",
                 partial_text=("exp2({0}) * log(2)",))
# PyTorch has no cbrt: its version is the real cube root spelled with the operations it has.
cbrt = Primitive("cbrt", 1, scalar=lambda x: float(np.cbrt(x)), array=np.cbrt,
                 partials=(lambda ans, x: 1 / (3 * ans * ans),),
                 torch=lambda t, x: t.sign(x) * t.abs(x) ** (1 / 3), grad_fn="MulBackward0", expr="cbrt({0})",
                 partial_text=("1/(3 * cbrt({0})^2)",))
# sign is piecewise constant: its derivative is 0 everywhere PyTorch defines it (SignBackward0 gives zeros).
sign = Primitive("sign", 1, scalar=lambda x: _sign(x), array=lambda x: np.sign(x).astype(np.result_type(x, float)),
                 partials=(lambda ans, x: _zero(x),),
                 torch=lambda t, x: t.sign(x), grad_fn="SignBackward0", expr="sign({0})", partial_text=("0",))
identity = Primitive("identity", 1, scalar=lambda x: x, array=lambda x: x, partials=(1,),
                     torch=lambda t, x: x * 1, grad_fn="CloneBackward0", expr="{0}", partial_text=("1",),
                     linear=True)


# -- structural tensor primitives -------------------------------------------------------------------------
def _ndim(x) -> int:
    return np.ndim(raw(x))


def _swap_last(x):
    n = _ndim(x)
    axes = list(range(n))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(x, axes=tuple(axes))


def _matmul_vjp(g, ans, a, b, needs):
    # Only the adjoints asked for are computed: in a network, x @ W needs W's and not the data's.
    an, bn = _ndim(a), _ndim(b)
    gshape = np.shape(raw(g))
    ga = gb = None
    if an == 1 and bn == 1:  # (n,) @ (n,) -> ()
        ga = g * b if needs[0] else None
        gb = g * a if needs[1] else None
    elif an == 1:  # (n,) @ (..., n, m) -> (..., m)
        if needs[0]:
            ga = matmul(b, reshape(g, shape=gshape + (1,)))
            ga = reshape(ga, shape=np.shape(raw(ga))[:-1])
        if needs[1]:
            gb = matmul(reshape(a, shape=(-1, 1)), reshape(g, shape=gshape[:-1] + (1, gshape[-1])))
    elif bn == 1:  # (..., k, n) @ (n,) -> (..., k)
        if needs[0]:
            ga = matmul(reshape(g, shape=gshape + (1,)), reshape(b, shape=(1, -1)))
        if needs[1]:
            gb = matmul(_swap_last(a), reshape(g, shape=gshape + (1,)))
            gb = reshape(gb, shape=np.shape(raw(gb))[:-1])
    else:
        ga = matmul(g, _swap_last(b)) if needs[0] else None
        gb = matmul(_swap_last(a), g) if needs[1] else None
    return (
        unbroadcast(ga, np.shape(raw(a))) if needs[0] else None,
        unbroadcast(gb, np.shape(raw(b))) if needs[1] else None,
    )


def _matmul_jvp(tangents, ans, a, b):
    ta, tb = tangents
    out = None
    if ta is not None:
        out = matmul(ta, b)
    if tb is not None:
        term = matmul(a, tb)
        out = term if out is None else out + term
    return out


def _reduced_shape(shape, axis, keepdims):
    # The reduction's output shape with the reduced axes kept as 1: an adjoint reshaped to it broadcasts back.
    if axis is None:
        return (1,) * len(shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(a % len(shape) for a in axes)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _count(shape, axis) -> int:
    if axis is None:
        return int(np.prod(shape)) if shape else 1
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return int(np.prod([shape[a] for a in axes]))


def _sum_vjp(g, ans, x, needs, axis=None, keepdims=False):
    shape = np.shape(raw(x))
    return (broadcast_to(reshape(g, shape=_reduced_shape(shape, axis, keepdims)), shape=shape),)


def _mean_vjp(g, ans, x, needs, axis=None, keepdims=False):
    shape = np.shape(raw(x))
    return (broadcast_to(reshape(g, shape=_reduced_shape(shape, axis, keepdims)), shape=shape)
            / _count(shape, axis),)


def _reduction_grad_fn(base: str) -> Callable:
    # A reduction over every element is ...Backward0, over an axis ...Backward1.
    return lambda params, numbers, ranks: base + ("0" if params.get("axis") is None else "1")


_MATMUL_GRAD_FNS = {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (1, 2): "SqueezeBackward4", (2, 2): "MmBackward0"}


def _index_grad_fn(params, numbers, ranks) -> str:
    # PyTorch applies a basic index item by item (an int selects, a slice slices, None unsqueezes), so the
    # grad_fn is named after the last item that did something; any array or list index makes it IndexBackward0.
    index = params.get("index")
    items = index if isinstance(index, tuple) else (index,)
    name = None
    for item in items:
        if isinstance(item, (list, np.ndarray)) and np.ndim(item) > 0:
            return "IndexBackward0"
        if item is None:
            name = "UnsqueezeBackward0"
        elif isinstance(item, slice):
            if item != slice(None):
                name = "SliceBackward0"
        elif item is not Ellipsis:
            name = "SelectBackward0"
    if name is None:
        return "SliceBackward0" if not isinstance(index, tuple) else "AliasBackward0"
    return name


matmul = Primitive("matmul", 2, scalar=None, array=np.matmul, jvp=_matmul_jvp, vjp=_matmul_vjp,
                   torch=lambda t, x, y: t.matmul(x, y), grad_fn="MmBackward0", expr="{0} @ {1}",
                   grad_fn_variant=lambda params, numbers, ranks: _MATMUL_GRAD_FNS.get(tuple(ranks),
                                                                                       "UnsafeViewBackward0"),
                   partial_text=("{1}ᵀ", "{0}ᵀ"), symbol="@")
sum_ = Primitive("sum", 1, scalar=None, array=lambda x, axis=None, keepdims=False: np.sum(x, axis=axis,
                                                                                          keepdims=keepdims),
                 jvp=lambda ts, ans, x, axis=None, keepdims=False: sum_(ts[0], axis=axis, keepdims=keepdims),
                 vjp=_sum_vjp,
                 torch=lambda t, x, axis=None, keepdims=False: (
                     x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims)),
                 grad_fn="SumBackward0", grad_fn_variant=_reduction_grad_fn("SumBackward"), expr="sum({0})",
                 partial_text=("1",))
mean = Primitive("mean", 1, scalar=None,
                 array=lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims),
                 jvp=lambda ts, ans, x, axis=None, keepdims=False: mean(ts[0], axis=axis, keepdims=keepdims),
                 vjp=_mean_vjp,
                 torch=lambda t, x, axis=None, keepdims=False: (
                     x.mean() if axis is None else x.mean(dim=axis, keepdim=keepdims)),
                 grad_fn="MeanBackward0", grad_fn_variant=_reduction_grad_fn("MeanBackward"),
                 expr="mean({0})", partial_text=("1/n",))
reshape = Primitive("reshape", 1, scalar=None, array=lambda x, shape: np.reshape(x, shape),
                    jvp=lambda ts, ans, x, shape: reshape(ts[0], shape=shape),
                    vjp=lambda g, ans, x, needs, shape: (reshape(g, shape=np.shape(raw(x))),),
                    torch=lambda t, x, shape: x.reshape(shape), grad_fn="ViewBackward0",
                    expr="reshape({0})", partial_text=("1",))


def _inverse_axes(axes, n):
    if axes is None:
        return None
    inv = [0] * n
    for i, a in enumerate(axes):
        inv[a] = i
    return tuple(inv)


transpose = Primitive("transpose", 1, scalar=None, array=lambda x, axes=None: np.transpose(x, axes),
                      jvp=lambda ts, ans, x, axes=None: transpose(ts[0], axes=axes),
                      vjp=lambda g, ans, x, needs, axes=None: (
                          transpose(g, axes=_inverse_axes(axes, _ndim(x))),),
                      torch=lambda t, x, axes=None: x.permute(*(axes if axes is not None
                                                                 else range(x.dim() - 1, -1, -1))),
                      grad_fn="PermuteBackward0", expr="{0}ᵀ", partial_text=("1",))
broadcast_to = Primitive("broadcast_to", 1, scalar=None, array=lambda x, shape: np.broadcast_to(x, shape),
                         jvp=lambda ts, ans, x, shape: broadcast_to(ts[0], shape=shape),
                         vjp=lambda g, ans, x, needs, shape: (unbroadcast(g, np.shape(raw(x))),),
                         torch=lambda t, x, shape: x.expand(*shape), grad_fn="ExpandBackward0",
                         expr="broadcast({0})", partial_text=("1",))


def _scatter(g, index, shape):
    out = np.zeros(shape, dtype=np.result_type(g, float))
    np.add.at(out, index, g)
    return out


getitem = Primitive("getitem", 1, scalar=None, array=lambda x, index: x[index],
                    jvp=lambda ts, ans, x, index: getitem(ts[0], index=index),
                    vjp=lambda g, ans, x, needs, index: (unindex(g, index=index, shape=np.shape(raw(x))),),
                    torch=lambda t, x, index: x[index], grad_fn="IndexBackward0", grad_fn_variant=_index_grad_fn,
                    expr="{0}[...]",
                    partial_text=("1",))
# The reverse of indexing: put an adjoint back at the indexed places of a zero array. Its own reverse is
# indexing, which is what makes second derivatives through indexing work.
unindex = Primitive("unindex", 1, scalar=None, array=_scatter,
                    jvp=lambda ts, ans, g, index, shape: unindex(ts[0], index=index, shape=shape),
                    vjp=lambda g, ans, x, needs, index, shape: (getitem(g, index=index),),
                    torch=None, grad_fn="IndexPutBackward0", expr="unindex({0})", partial_text=("1",))

#: The elementary functions, as students call them (``autodiff_course.sin(x)``).
ELEMENTARY = {p.name: p for p in (sin, cos, tan, exp, log, sqrt, tanh, sigmoid, relu, abs_, sinh, cosh, arcsin,
                                  arccos, arctan, log1p, expm1, log2, log10, exp2, cbrt, sign)}

#: The elementary functions of two arguments, called as students call them (``autodiff_course.arctan2(y, x)``).
ELEMENTARY_BINARY = {p.name: p for p in (arctan2, hypot)}

#: numpy ufuncs that run on engine values, and the primitive each one is.
UFUNCS = {
    np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div, np.divide: div,
    np.power: pow_, np.float_power: pow_, np.negative: neg, np.maximum: maximum, np.sin: sin, np.cos: cos,
    np.tan: tan, np.exp: exp, np.log: log, np.sqrt: sqrt, np.tanh: tanh, np.absolute: abs_,
    np.matmul: matmul, np.positive: identity, np.square: square, np.reciprocal: reciprocal, np.fabs: abs_,
    np.sinh: sinh, np.cosh: cosh, np.arcsin: arcsin, np.arccos: arccos, np.arctan: arctan, np.arctan2: arctan2,
    np.hypot: hypot, np.log1p: log1p, np.expm1: expm1, np.log2: log2, np.log10: log10, np.exp2: exp2,
    np.cbrt: cbrt, np.sign: sign,
}

#: functions of the ``math`` module and the primitive each one is (used when tracing math-style code).
MATH_FUNCTIONS = {
    math.sin: sin, math.cos: cos, math.tan: tan, math.exp: exp, math.log: log, math.sqrt: sqrt,
    math.tanh: tanh, math.fabs: abs_, math.pow: pow_, math.sinh: sinh, math.cosh: cosh, math.asin: arcsin,
    math.acos: arccos, math.atan: arctan, math.atan2: arctan2, math.hypot: hypot, math.log1p: log1p,
    math.expm1: expm1, math.log2: log2, math.log10: log10,
}
# Python 3.11 added these two.
MATH_FUNCTIONS.update({getattr(math, name): prim for name, prim in (("cbrt", cbrt), ("exp2", exp2))
                       if hasattr(math, name)})

_FLOAT_NAMESPACE.update(globals())
_FLOAT_NAMESPACE.update({name: value.scalar_impl for name, value in globals().items()
                         if isinstance(value, Primitive) and value.scalar_impl is not None})
