"""Scalar: one number of a computational graph, with a Python float inside (micrograd-like, but complete).

Elementary functions apply three ways, all recording the same node: ``autodiff_course.sin(x)``, numpy's
``np.sin(x)`` (numpy hands the call to ``Scalar.__array_ufunc__``) and the method ``x.sin()``. ``math.sin(x)``
is different: the math module converts its argument to a float, so outside a trace it returns a plain number
(no graph, no derivative); inside ``autodiff_course.graph.tracing`` the traced function sees the engine's ``sin`` in
place of ``math.sin`` and the node is recorded (see ``trace.py``), while ``float(x)``, ``int(x)``, comparisons
and ``if x:`` on a traced value raise TraceError rather than silently cut the graph.

A Scalar met with an array of numbers (or of Scalars) broadcasts over it element by element, as numpy broadcasts a
float: ``x * np.array([1.0, 0.0])`` is an array of objects whose items are Scalars in the graph (forward mode
carrying a tangent vector per variable writes this). An array of anything else, and an operation that is not
element-wise (``x @ a``), are refused with the hint to use ``Tensor``, the engine's type for arrays.

Speed matters here (a student's MLP on Scalars is a graph of 100,000 nodes), so Python's operators and the
elementary methods are built once per primitive by ``_unary_method``/``_binary_method`` below: each calls the
primitive's declared float implementation directly instead of going through the generic dispatch. They read the
same declaration as everything else; no derivative rule lives here.
"""

from __future__ import annotations

import operator

import numpy as np

from . import primitives as P
from .backward import backprop, free_graph
from .errors import TraceError
from .state import STATE, refuse_by_hand
from .value import Operators, as_float, install_fast_methods


def _refuse_while_tracing(what: str, conversion: bool = False) -> None:
    # ``conversion``: a float was asked for, which the tracer may put in better words from the line's text
    # (numpy asks for one when a value is stored into an array of floats).
    tracer = STATE.tracer
    if tracer is not None:
        raise TraceError(tracer.explain(what, conversion=conversion))


class Scalar(Operators):
    """A number that remembers how it was computed.

    ``Scalar(2.0)`` is a leaf that requires grad. Arithmetic, ``autodiff_course.sin(x)``, ``np.sin(x)`` and the
    methods ``x.sin()`` build the graph; ``y.backward()`` fills ``.grad`` of every node y depends on with
    d y / d node (accumulating, as micrograd and PyTorch do).
    """

    __slots__ = ("value", "grad", "requires_grad", "_op", "_inputs", "_freed")
    _dispatch_rank = 1
    _params = None  # scalar primitives take no parameters; the graph code reads this like a Tensor's

    def __init__(self, value, requires_grad: bool = True):
        if isinstance(value, Scalar):
            value = value.value
        f = as_float(value)
        if f is None:
            raise TypeError(f"Scalar needs a real number, got {type(value).__name__}: {value!r}")
        self.value = f
        self.grad = 0.0
        self.requires_grad = requires_grad
        self._op = None
        self._inputs = ()
        self._freed = False

    @classmethod
    def _apply(cls, prim, args, params):
        """Apply ``prim`` to Scalars and plain numbers (``autodiff_course.sin(x)``, numpy's ufuncs)."""
        fast = _FAST.get(prim) if not params else None
        if fast is not None:
            first = type(args[0])
            if len(args) == 1:
                return fast[0](args[0])
            second = type(args[1])
            if first is Scalar and second in _PLAIN:
                return fast[0](*args)
            if second is Scalar and first in _PLAIN:
                return fast[1](args[1], args[0])
        nodes = []
        values = []
        for a in args:
            if type(a) is Scalar:
                nodes.append(a)
                values.append(a.value)
                continue
            f = as_float(a)
            if f is None:
                if _broadcasts(prim, a):
                    return _elementwise(prim, args, params)
                if isinstance(a, (complex, np.complexfloating)):
                    # A complex step (``f(x0 + 1e-30j)``) estimates a derivative by numbers, not by the chain rule.
                    _refuse_while_tracing(f"one of your values was combined with the complex number {a!r}; a "
                                          "complex step estimates a derivative numerically, it is not automatic "
                                          "differentiation")
                raise TypeError(
                    f"{prim.name}: cannot combine a Scalar with {type(a).__name__} ({a!r}); "
                    "use autodiff_course.Tensor for arrays"
                )
            nodes.append(_constant(f))
            values.append(f)
        value = prim.raw(*values, **params)
        if type(value) is not float:  # an int (math.floor) or numpy number: a Scalar holds a Python float
            number = as_float(value)
            if number is None:
                raise TypeError(f"{prim.name} of Scalars gave {type(value).__name__}, not a number; "
                                "use autodiff_course.Tensor for arrays")
            value = number
        return _node(value, prim, nodes, any(n.requires_grad for n in nodes))

    def _raw_value(self):
        return self.value

    # -- reverse mode -------------------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Add d self / d node to ``node.grad`` for every node this one depends on (including self).

        As in PyTorch, the graph is freed afterwards unless ``retain_graph`` (or ``create_graph``) is set, and a
        second backward through it raises GraphFreedError. With ``create_graph`` the grads are Scalars with a
        graph of their own, so they can be differentiated again. Raises RuntimeError on a Scalar that does not
        require grad, and DomainError when a local derivative is not finite (sqrt at 0, say).
        """
        if STATE.by_hand:
            refuse_by_hand("backward()")
        if not self.requires_grad:
            raise RuntimeError("backward() on a Scalar that does not require grad (no graph was recorded)")
        if gradient is None:
            seed = 1.0
        elif isinstance(gradient, Scalar):
            seed = gradient if create_graph else gradient.value
        else:
            seed = as_float(gradient)
            if seed is None:
                raise TypeError(f"backward(gradient): gradient must be a number, got {type(gradient).__name__}")
        if not create_graph and type(seed) is float:
            # the backward pass adds each adjoint to .grad itself, in the same loop
            _, order = backprop(self, seed, into_grad=True)
        else:
            adjoints, order = backprop(self, seed, create_graph=create_graph, broadcast=False)
            for node in order:
                g = adjoints.get(node)
                if g is not None:
                    grad = node.grad
                    # 0.0 + g would add a node to g's graph for nothing
                    node.grad = g if (type(grad) is float and grad == 0.0) else grad + g
        if not (retain_graph or create_graph):
            free_graph(order)

    def zero_grad(self) -> None:
        self.grad = 0.0

    def detach(self) -> "Scalar":
        return Scalar(self.value, requires_grad=False)

    def item(self) -> float:
        return self.value

    # -- conversions: fine on their own, refused while tracing (they would cut the graph) -------------------
    def __float__(self) -> float:
        _refuse_while_tracing("float(...), a math or library function, or a numpy array of floats turned one of "
                              "your values into a plain number", conversion=True)
        return self.value

    def __int__(self) -> int:
        _refuse_while_tracing("int(...) turned one of your values into a plain number")
        return int(self.value)

    def __bool__(self) -> bool:
        _refuse_while_tracing("an `if`/`while`/`and`/`or` tested one of your values")
        return self.value != 0.0

    def _compare(self, other, op, symbol):
        # `1.0 < v` reaches v.__gt__ (Python mirrors a comparison a plain number cannot make), so the operator
        # written may be either of a mirrored pair: both are named.
        mirrored = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(symbol)
        written = " or ".join(f"`{s}`" for s in sorted({symbol, mirrored or symbol}))
        _refuse_while_tracing(f"a comparison ({written}) of one of your values")
        return op(self.value, P.raw(other))

    def __lt__(self, other):
        return self._compare(other, operator.lt, "<")

    def __le__(self, other):
        return self._compare(other, operator.le, "<=")

    def __gt__(self, other):
        return self._compare(other, operator.gt, ">")

    def __ge__(self, other):
        return self._compare(other, operator.ge, ">=")

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        op = f", op={self._op.name}" if self._op is not None else ""
        return f"Scalar({self.value!r}, grad={self.grad!r}{op})"


def _broadcasts(prim, a) -> bool:
    """Whether ``a``, met by a Scalar in ``prim``, is an array of numbers (or of Scalars) that the operation
    broadcasts over, element by element, as numpy broadcasts a number over an array of floats (``v0 * dv0``
    with ``dv0 = np.array([1.0, 0.0])``: forward mode carrying the tangents of every input at once).
    Booleans, complex numbers and text stay refused; an operation that is not element-wise (matmul) too."""
    return isinstance(a, np.ndarray) and a.ndim > 0 and a.dtype.kind in "iufO" and prim.elementwise


def _elementwise(prim, args, params):
    """``prim`` applied to every element of the arrays among ``args`` (broadcast against each other and
    against the Scalars, as numpy does), giving an array of objects whose items are Scalars in the graph.
    While tracing, the tracer makes it the kind of array that keeps its items traced through numpy's
    functions (``np.maximum`` of two such arrays is the engine's maximum of each pair, not a comparison)."""
    out = np.frompyfunc(lambda *items: prim(*items, **params), len(args), 1)(*[as_object_array(a) for a in args])
    tracer = STATE.tracer
    return tracer.array(out) if tracer is not None else out


def as_object_array(a) -> np.ndarray:
    """``a`` as a plain numpy array (a number or a Scalar as one of no dimensions, holding it as an object),
    for an element-wise loop of ``np.frompyfunc``: numpy would hand a call with a Scalar (or an array
    subclass) among its operands back to ``Scalar.__array_ufunc__`` (or the subclass's), which has no rule
    for the loop."""
    if isinstance(a, np.ndarray):
        return np.asarray(a)
    box = np.empty((), dtype=object)
    box[()] = a
    return box


_new = object.__new__
_PLAIN = (Scalar, float, int)  # operand types the fast methods take as they are


def _constant(value: float) -> Scalar:
    """A Scalar for a plain number met in an operation: a graph node (tracing shows it) that needs no grad."""
    c = _new(Scalar)
    c.value = value
    c.grad = 0.0
    c.requires_grad = False
    c._op = None
    c._inputs = ()
    c._freed = False
    return c


def _node(value: float, prim, inputs, requires_grad: bool, state=STATE) -> Scalar:
    """The Scalar ``prim(*inputs)`` with the given value: recorded in the graph when any input requires grad."""
    out = _new(Scalar)
    out.value = value
    out.grad = 0.0
    out._freed = False
    if requires_grad and state.grad_enabled:
        out.requires_grad = True
        out._op = prim
        out._inputs = tuple(inputs)
    else:
        out.requires_grad = False
        out._op = None
        out._inputs = ()
    if state.tracer is not None:
        state.tracer.created(out, list(inputs))
    return out


# The methods below are the scalar hot path. Each is made once per primitive and inlines ``_node`` (a function
# call per node is measurable at 100,000 nodes). A value outside the float implementation's domain raises
# inside it; ``prim.raw`` is then called only to raise the DomainError that names the operation.
def _unary_method(prim):
    f = prim.scalar_impl
    state = STATE  # a closure variable: read faster than a module global

    def method(self):
        x = self.value
        try:
            v = f(x)
        except (ArithmeticError, ValueError):
            prim.raw(x)
            raise
        out = _new(Scalar)
        out.value = v
        out.grad = 0.0
        out._freed = False
        if self.requires_grad and state.grad_enabled:
            out.requires_grad = True
            out._op = prim
            out._inputs = (self,)
        else:
            out.requires_grad = False
            out._op = None
            out._inputs = ()
        if state.tracer is not None:
            state.tracer.created(out, [self])
        return out

    method.__name__ = prim.name
    method.__doc__ = f"{prim.describe(['x'])} as a Scalar in the graph."
    return method


def _binary_method(prim, reflected: bool):
    f = prim.scalar_impl
    state = STATE

    def method(self, other):
        if type(other) is Scalar:
            o = other
        elif type(other) is float or type(other) is int:
            o = _new(Scalar)  # a constant (inlined _constant)
            o.value = other if type(other) is float else float(other)
            o.grad = 0.0
            o.requires_grad = False
            o._op = None
            o._inputs = ()
            o._freed = False
        else:  # numpy numbers, Tensors, Duals, ...: the generic dispatch decides (and explains refusals)
            return prim(other, self) if reflected else prim(self, other)
        if reflected:
            a = o
            b = self
        else:
            a = self
            b = o
        x = a.value
        y = b.value
        try:
            v = f(x, y)
        except (ArithmeticError, ValueError):
            prim.raw(x, y)
            raise
        out = _new(Scalar)
        out.value = v
        out.grad = 0.0
        out._freed = False
        if (a.requires_grad or b.requires_grad) and state.grad_enabled:
            out.requires_grad = True
            out._op = prim
            out._inputs = (a, b)
        else:
            out.requires_grad = False
            out._op = None
            out._inputs = ()
        if state.tracer is not None:
            state.tracer.created(out, [a, b])
        return out

    method.__name__ = ("__r%s__" if reflected else "__%s__") % prim.name
    return method


#: primitive -> its fast method(s): (method,) for unary, (method, reflected method) for binary primitives.
_FAST: dict = install_fast_methods(Scalar, _binary_method, _unary_method)
