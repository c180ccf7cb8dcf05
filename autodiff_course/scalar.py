"""Scalar: one number of a computational graph, with a Python float inside (micrograd-like, but complete)."""

from __future__ import annotations

import operator

from . import primitives as P
from .errors import TraceError
from .node import Operators, as_float
from .reverse import backprop, free_graph
from .state import STATE


def _refuse_while_tracing(what: str) -> None:
    tracer = STATE.tracer
    if tracer is not None:
        raise TraceError(tracer.explain(what))


class Scalar(Operators):
    """A number that remembers how it was computed.

    ``Scalar(2.0)`` is a leaf that requires grad. Arithmetic, ``autodiff_course.sin(x)``, ``np.sin(x)`` and the
    methods ``x.sin()`` build the graph; ``y.backward()`` fills ``.grad`` of every node y depends on with
    d y / d node (accumulating, as micrograd and PyTorch do).
    """

    __slots__ = ("value", "grad", "requires_grad", "_op", "_inputs", "_params", "_freed", "__weakref__")
    _dispatch_rank = 1

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
        self._params = None
        self._freed = False

    @classmethod
    def _constant(cls, value: float) -> "Scalar":
        c = cls.__new__(cls)
        c.value = value
        c.grad = 0.0
        c.requires_grad = False
        c._op = None
        c._inputs = ()
        c._params = None
        c._freed = False
        return c

    @classmethod
    def _apply(cls, prim, args, params):
        nodes = []
        values = []
        for a in args:
            if type(a) is Scalar:
                nodes.append(a)
                values.append(a.value)
                continue
            f = as_float(a)
            if f is None:
                raise TypeError(
                    f"{prim.name}: cannot combine a Scalar with {type(a).__name__} ({a!r}); "
                    "use autodiff_course.Tensor for arrays"
                )
            nodes.append(cls._constant(f))
            values.append(f)
        out = cls.__new__(cls)
        out.value = prim.raw(*values, **params) if params else prim.raw(*values)
        out.grad = 0.0
        out._params = params or None
        out._freed = False
        if STATE.grad_enabled and any(n.requires_grad for n in nodes):
            out.requires_grad = True
            out._op = prim
            out._inputs = tuple(nodes)
        else:
            out.requires_grad = False
            out._op = None
            out._inputs = ()
        tracer = STATE.tracer
        if tracer is not None:
            tracer.created(out, nodes)
        return out

    def _raw_value(self):
        return self.value

    # -- reverse mode -------------------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Add d self / d node to ``node.grad`` for every node this one depends on (including self).

        As in PyTorch, the graph is freed afterwards unless ``retain_graph`` (or ``create_graph``) is set, and a
        second backward through it raises an error that says so. With ``create_graph`` the grads are Scalars
        with a graph of their own, so they can be differentiated again.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a Scalar that does not require grad (no graph was recorded)")
        seed = 1.0 if gradient is None else gradient
        adjoints, order = backprop(self, seed, create_graph=create_graph, broadcast=False)
        for node in order:
            g = adjoints.get(id(node))
            if g is not None:
                node.grad = g if (node.grad == 0.0 and not isinstance(node.grad, Scalar)) else node.grad + g
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
        _refuse_while_tracing("float(...) or a math/library function turned a traced value into a plain number")
        return self.value

    def __int__(self) -> int:
        _refuse_while_tracing("int(...) turned a traced value into a plain number")
        return int(self.value)

    def __bool__(self) -> bool:
        _refuse_while_tracing("an `if`/`while`/`and`/`or` tested a traced value")
        return self.value != 0.0

    def _compare(self, other, op, symbol):
        _refuse_while_tracing(f"a comparison (`{symbol}`) of a traced value")
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
