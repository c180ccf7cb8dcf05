"""Reverse mode: the backward pass over a graph of engine values.

The pass sorts the graph iteratively (a 100,000-node chain must not hit Python's recursion limit) and keeps the
adjoints in a dictionary it owns, keyed by node identity, rather than piling them onto the nodes, so the same graph
can be differentiated twice and nested passes (``grad(grad(f))``) do not disturb each other.
"""

from __future__ import annotations

from collections import defaultdict

from .errors import AutodiffError, DomainError, GraphFreedError, MissingRuleError
from .state import refuse_by_hand


def topological_order(root) -> list:
    """Every node that ``root`` depends on and that requires grad, inputs before the nodes that read them.

    A depth-first search with an explicit stack instead of recursion: a node is finished (appended) once all
    its inputs are. Primitives have at most two inputs, so rescanning a node's inputs when the search comes
    back to it costs less than remembering where it stopped.
    """
    order: list = []
    seen = {root}
    stack = [root]
    while stack:
        node = stack[-1]
        for inp in node._inputs:
            if inp.requires_grad and inp not in seen:
                seen.add(inp)
                stack.append(inp)
                break
        else:
            order.append(stack.pop())
    return order


def _freed_error(op) -> GraphFreedError:
    return GraphFreedError(
        f"Trying to backward through the graph a second time (at a '{op.name}' node). The first "
        "backward() freed it; call backward(retain_graph=True) the first time if you need to go "
        "through the graph again."
    )


def backprop(root, seed, *, create_graph: bool = False, broadcast: bool = True,
             into_grad: bool = False) -> tuple[dict, list]:
    """Run the backward pass from ``root`` with output adjoint ``seed``.

    Returns ``(adjoints, order)``: ``adjoints[node]`` is d root / d node (times the seed) for every node in
    ``order`` (nodes hash by identity). With ``create_graph`` the adjoints are themselves engine values with a
    graph of their own. ``into_grad`` (Scalar graphs only, without ``create_graph``) also adds each node's
    adjoint to its ``.grad`` as soon as it is final, which saves ``Scalar.backward`` a second pass over
    the graph. Raises GraphFreedError when a node's graph was freed by an earlier pass that did not retain it,
    and MissingRuleError for a primitive without a reverse-mode rule.
    """
    refuse_by_hand("the backward pass (backprop)")  # backward() checks first, for its own name in the message
    order = topological_order(root)
    if not create_graph and type(root.value) is float and type(seed) is float:
        return _backprop_floats(order, root, seed, into_grad), order
    if into_grad:
        raise ValueError("backprop(into_grad=True) is for Scalar graphs without create_graph")
    adjoints: dict = {root: seed}
    for node in reversed(order):
        op = node._op
        if op is None:
            continue
        g = adjoints.get(node)
        if g is None:
            continue
        if node._freed:
            raise _freed_error(op)
        inputs = node._inputs
        needs = [i.requires_grad for i in inputs]
        if create_graph:
            contributions = op.vjp(g, node, inputs, node._params or {}, needs, broadcast)
        else:
            contributions = op.vjp(g, node.value, [i.value for i in inputs], node._params or {}, needs,
                                   broadcast)
        for inp, c in zip(inputs, contributions):
            if c is None:
                continue
            prev = adjoints.get(inp)
            adjoints[inp] = c if prev is None else prev + c
    return adjoints, order


def _backprop_floats(order: list, root, seed: float, into_grad: bool) -> dict:
    """``backprop`` on a graph of Scalars: the same rule (adjoint of an input += adjoint * local partial), with
    the declared partials called directly on the floats. This loop is the reverse-mode hot path."""
    adjoints: dict = defaultdict(float)  # a missing adjoint is 0.0, so `+=` accumulates
    adjoints[root] = seed
    node = root
    try:
        for node in reversed(order):
            # Every consumer of this node comes later in the order, so its adjoint is complete here.
            g = adjoints[node]
            op = node._op
            if node._freed:
                raise _freed_error(op)
            if into_grad:
                node.grad += g
            if op is None:
                continue
            partials = op._float_partials  # None for a primitive without partials: TypeError below
            inputs = node._inputs
            if len(inputs) == 1:
                x = inputs[0]
                p = partials[0]
                adjoints[x] += (g if p == 1 else -g) if type(p) is int else g * p(node.value, x.value)
                continue
            x, y = inputs
            ans, xv, yv = node.value, x.value, y.value
            if x.requires_grad:
                p = partials[0]
                adjoints[x] += (g if p == 1 else -g) if type(p) is int else g * p(ans, xv, yv)
            if y.requires_grad:
                p = partials[1]
                adjoints[y] += (g if p == 1 else -g) if type(p) is int else g * p(ans, xv, yv)
    except TypeError:
        if node._op is not None and node._op._float_partials is None:
            raise MissingRuleError(node._op.name, "reverse-mode (vjp)") from None
        raise
    except (ArithmeticError, ValueError) as e:
        if isinstance(e, AutodiffError):
            raise
        shown = ", ".join(repr(i.value) for i in node._inputs)
        raise DomainError(
            f"{node._op.name}({shown}): its local derivative is not finite there ({e}), so the backward pass "
            "cannot continue"
        ) from None
    return adjoints


def free_graph(order: list) -> None:
    """Mark the graph as used up, as PyTorch does when ``retain_graph`` is False."""
    for node in order:
        if node._op is not None:
            node._freed = True
