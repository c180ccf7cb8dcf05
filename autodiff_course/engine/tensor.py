"""Tensor: a numpy array in a computational graph, with PyTorch's vocabulary where students meet it.

``requires_grad``, ``.grad``, ``.grad_fn`` (named like PyTorch's, e.g. ``MulBackward0``), ``backward(gradient,
retain_graph, create_graph)``, ``retain_grad()``, ``detach()``, ``zero_()`` and ``no_grad()`` behave as in PyTorch.
Values are float64 unless asked otherwise. Broadcasting follows numpy; gradients are summed back to each
operand's shape by ``primitives.unbroadcast``.
"""

from __future__ import annotations

import numpy as np

from . import primitives as P
from .backward import backprop, free_graph
from .errors import AutodiffError, ShapeError
from .state import STATE, refuse_by_hand
from .value import ArrayMethods, Operators


class GradFn:
    """The record of the operation that made a tensor, named as PyTorch names it (``type(t.grad_fn).__name__``)."""

    def __init__(self, tensor: "Tensor"):
        self._tensor = tensor

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self):
        return tuple((i.grad_fn if i._op is not None else ("AccumulateGrad" if i.requires_grad else None), 0)
                     for i in self._tensor._inputs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object>"


_GRAD_FN_CLASSES: dict[str, type] = {}


def _grad_fn_name(t: "Tensor") -> str:
    """The class name PyTorch gives the grad_fn of the operation that made ``t`` (see
    ``Primitive.grad_fn_for``); a name set by the operation itself (``_named``) wins."""
    if t._grad_fn_hint is not None:
        return t._grad_fn_hint
    return t._op.grad_fn_for(t._params or {}, [not isinstance(i.value, np.ndarray) for i in t._inputs],
                             [np.ndim(i.value) for i in t._inputs])


def _as_array(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.value
    try:
        arr = np.array(data, dtype=dtype if dtype is not None else None, copy=True)
    except (TypeError, ValueError) as e:
        raise TypeError(f"Tensor needs numbers, got {type(data).__name__}: {e}") from None
    if dtype is None:
        if arr.dtype.kind in "biuf":
            arr = arr.astype(np.float64) if arr.dtype.kind != "f" else arr
        else:
            shown = repr(data) if len(repr(data)) < 60 else repr(data)[:57] + "..."
            raise TypeError(f"Tensor needs numbers, got {type(data).__name__} of {arr.dtype.name} values: {shown}")
    return arr


class Tensor(ArrayMethods, Operators):
    """A numpy array that remembers how it was computed."""

    __slots__ = ("value", "grad", "requires_grad", "_op", "_inputs", "_params", "_freed", "_retain",
                 "_grad_fn_hint", "__weakref__")
    _dispatch_rank = 2

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        value = _as_array(data, dtype)
        if requires_grad and value.dtype.kind != "f":
            raise TypeError("only floating point tensors can require gradients")
        self._leaf(value, requires_grad)

    @classmethod
    def _wrap(cls, value, requires_grad=False) -> "Tensor":
        t = cls.__new__(cls)
        t._leaf(value, requires_grad)
        return t

    def _leaf(self, value, requires_grad: bool) -> None:
        """Every slot of a tensor with no history (`__init__` checks its data first; `_wrap` trusts it)."""
        self.value = value
        self.grad = None
        self.requires_grad = requires_grad
        self._op = None
        self._inputs = ()
        self._params = None
        self._freed = False
        self._retain = False
        self._grad_fn_hint = None

    @classmethod
    def _apply(cls, prim, args, params):
        """Apply ``prim`` to Tensors and plain values, recording a node when any input requires grad.

        Python numbers stay Python numbers (so ``x * 2`` keeps a float32 tensor float32, as in numpy and PyTorch,
        and a traced graph shows the constant as ``2``). Raises ShapeError for operands that do not broadcast,
        DomainError outside the primitive's domain, TypeError for non-numeric operands.
        """
        nodes = []
        values = []
        for a in args:
            if isinstance(a, Tensor):
                nodes.append(a)
                values.append(a.value)
                continue
            t = type(a)
            if t is float or t is int:
                v = a
            elif isinstance(a, Operators):
                raise TypeError(f"{prim.name}: cannot combine a Tensor with a {type(a).__name__}; "
                                "make both Tensors (or both Scalars)")
            else:
                try:
                    v = _as_array(a)
                except TypeError as e:
                    raise TypeError(f"{prim.name}: {e}") from None
            nodes.append(cls._wrap(v))
            values.append(v)
        value = prim.raw(*values, **params)
        out = cls._wrap(value if type(value) is np.ndarray else np.asarray(value))
        if params:
            out._params = params
        if STATE.grad_enabled:
            for n in nodes:
                if n.requires_grad:
                    out.requires_grad = True
                    out._op = prim
                    out._inputs = tuple(nodes)
                    break
        tracer = STATE.tracer
        if tracer is not None:
            tracer.created(out, nodes)
        return out

    def _raw_value(self):
        return self.value

    # -- PyTorch's vocabulary -----------------------------------------------------------------------------
    @property
    def grad_fn(self):
        if self._op is None:
            return None
        name = _grad_fn_name(self)
        cls = _GRAD_FN_CLASSES.get(name)
        if cls is None:
            cls = _GRAD_FN_CLASSES[name] = type(name, (GradFn,), {})
        return cls(self)

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    @property
    def retains_grad(self) -> bool:
        return self._retain

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on a Tensor that has requires_grad=False")
        if self._op is not None:
            self._retain = True

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if self._op is not None and not flag:
            raise RuntimeError("you can only change requires_grad flags of leaf tensors; use detach()")
        self.requires_grad = flag
        return self

    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Accumulate d self / d leaf into ``leaf.grad`` for every leaf that requires grad (and into tensors that
        called ``retain_grad()``).

        A tensor with more than one element needs ``gradient`` (the vector in the vector-Jacobian product), of
        the same shape. The graph is freed afterwards unless ``retain_graph`` (or ``create_graph``) is set.
        """
        if STATE.by_hand:
            refuse_by_hand("backward()")
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if gradient is None:
            if self.value.size != 1:
                raise AutodiffError(
                    f"grad can be implicitly created only for scalar outputs: this tensor has shape "
                    f"{tuple(self.shape)}; call backward(gradient) with a tensor of that shape"
                )
            seed = np.ones_like(self.value)
        else:
            seed = np.asarray(P.raw(gradient), dtype=float)
            if seed.shape != self.value.shape:
                raise ShapeError(
                    f"backward(gradient): gradient has shape {seed.shape} but the tensor has shape "
                    f"{self.value.shape}"
                )
        if create_graph:
            seed = Tensor(seed)
        adjoints, order = backprop(self, seed, create_graph=create_graph)
        for node in order:
            if node._op is not None and not node._retain:
                continue
            g = adjoints.get(node)
            if g is None:
                continue
            # A copy in the tensor's own dtype: the adjoint may share memory with another array, and
            # ``.grad`` is accumulated in place by later passes.
            dtype = node.value.dtype
            if isinstance(g, Tensor):
                g = g if create_graph else Tensor._wrap(np.array(g.value, dtype=dtype))
            else:
                if np.shape(g) != node.value.shape:  # a number seeded into a one-element tensor, say
                    g = np.broadcast_to(g, node.value.shape)
                g = Tensor._wrap(np.array(g, dtype=dtype))
            if node.grad is None:
                node.grad = g
            elif create_graph:
                node.grad = node.grad + g
            else:
                node.grad.value += g.value
        if not (retain_graph or create_graph):
            free_graph(order)

    def detach(self) -> "Tensor":
        return Tensor._wrap(self.value)

    @property
    def data(self) -> "Tensor":
        return Tensor._wrap(self.value)

    def zero_(self) -> "Tensor":
        self.value[...] = 0.0
        return self

    def clone(self) -> "Tensor":
        return P.identity(self) if self.requires_grad else Tensor._wrap(self.value.copy())

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad. Use tensor.detach().numpy().")
        return self.value

    def item(self) -> float:
        if self.value.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.value.shape}")
        return self.value.item()

    def tolist(self):
        return self.value.tolist()

    # -- shape and structure ------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def dtype(self):
        return self.value.dtype

    def size(self, dim=None):
        return self.value.shape if dim is None else self.value.shape[dim]

    def dim(self) -> int:
        return self.value.ndim

    def numel(self) -> int:
        return self.value.size

    def __len__(self) -> int:
        return len(self.value)

    def transpose(self, *axes):
        """``t.transpose()`` reverses the axes; ``t.transpose(0, 1)`` swaps two, as in PyTorch (which names a
        swap of two axes TransposeBackward0)."""
        out = super().transpose(*axes)
        return _named(out, "TransposeBackward0") if len(axes) == 2 else out

    def t(self):
        """The transpose of a tensor of at most two dimensions, as ``torch.Tensor.t``."""
        if self.ndim > 2:
            raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but this one has {self.ndim}")
        return _named(P.transpose(self, axes=None), "TBackward0")

    # Comparisons give plain boolean arrays: they have no derivative.
    def __eq__(self, other):
        return np.equal(self.value, P.raw(other))

    def __ne__(self, other):
        return np.not_equal(self.value, P.raw(other))

    def __lt__(self, other):
        return np.less(self.value, P.raw(other))

    def __le__(self, other):
        return np.less_equal(self.value, P.raw(other))

    def __gt__(self, other):
        return np.greater(self.value, P.raw(other))

    def __ge__(self, other):
        return np.greater_equal(self.value, P.raw(other))

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return bool(self.value)

    def __float__(self) -> float:
        return float(self.item())

    def __array_function__(self, func, types, args, kwargs):
        handler = _ARRAY_FUNCTIONS.get(func)
        if handler is None:
            raise TypeError(
                f"numpy.{func.__name__} has no derivative rule in autodiff_course; supported: "
                + ", ".join(sorted(f.__name__ for f in _ARRAY_FUNCTIONS))
            )
        return handler(*args, **kwargs)

    def norm(self):
        return P.sqrt(P.sum_(self * self))

    def __repr__(self) -> str:
        body = np.array2string(self.value, separator=", ", precision=4, prefix="tensor(")
        extra = ""
        if self._op is not None:
            extra = f", grad_fn=<{_grad_fn_name(self)}>"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        return f"tensor({body}{extra})"


def _named(t: Tensor, grad_fn: str) -> Tensor:
    # The same primitive under the name PyTorch gives this spelling of it (t() and transpose(i, j)).
    if t._op is not None:
        t._grad_fn_hint = grad_fn
    return t


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


_ARRAY_FUNCTIONS = {
    np.sum: lambda a, axis=None, keepdims=False: _as_tensor(a).sum(axis=axis, keepdims=keepdims),
    np.mean: lambda a, axis=None, keepdims=False: _as_tensor(a).mean(axis=axis, keepdims=keepdims),
    np.dot: lambda a, b: P.matmul(a, b),
    np.reshape: lambda a, shape: _as_tensor(a).reshape(shape),
    np.transpose: lambda a, axes=None: P.transpose(a, axes=None if axes is None else tuple(axes)),
    np.shape: lambda a: a.shape,
    np.ndim: lambda a: a.ndim,
}


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """A new leaf tensor (float64 unless ``dtype`` says otherwise), as ``torch.tensor``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, requires_grad: bool = False) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.zeros(shape), requires_grad=requires_grad)


def ones(*shape, requires_grad: bool = False) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.ones(shape), requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, requires_grad: bool = False) -> Tensor:
    return Tensor(np.linspace(start, end, steps), requires_grad=requires_grad)
