"""Facts about a traced graph that every function check needs: local derivatives, uses, scales."""

from __future__ import annotations

import math

import numpy as np

from ..engine.errors import DomainError
from ..graph import Graph


class GraphFacts:
    """A graph's local partial derivatives (as floats), every use of each node, and the scales of its values,
    adjoints and tangents (see ``numbers``)."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.partials: dict[int, tuple[float, ...]] = {}
        self.uses: dict[int, list[tuple[int, int]]] = {n.id: [] for n in graph.nodes}
        for n in graph.nodes:
            if n.op in ("input", "const"):
                continue
            self.partials[n.id] = self._local_partials(n)
            for k, i in enumerate(n.inputs):
                self.uses[i].append((n.id, k))
        self.output = graph.outputs[0]

    def _local_partials(self, n) -> tuple[float, ...]:
        """d n / d input_k at the traced values. Not ``Graph.local_partials``: that also differentiates with
        respect to constants, and d(x**2)/d(2) = x**2 log(x) is a domain error for x < 0. A derivative with
        respect to a constant is never used (constants carry no adjoint or tangent), so it is 0 here; one that
        is undefined at this point (x**y with x < 0, with respect to y) is nan, as in PyTorch."""
        args = [self.graph.nodes[i].value for i in n.inputs]
        out = []
        for k, i in enumerate(n.inputs):
            if self.graph.nodes[i].op == "const":
                out.append(0.0)
                continue
            try:
                out.append(_float(n.primitive.partial(k, n.value, args)))
            except DomainError:
                out.append(math.nan)
        return tuple(out)

    def value(self, node_id: int) -> float:
        return _float(self.graph.nodes[node_id].value)

    def value_scale(self) -> dict[int, float]:
        """|value| of every node, with sums and differences counting their operands' sizes (cancellation)."""
        scale: dict[int, float] = {}
        for n in self.graph.nodes:
            if n.primitive is not None and n.primitive.linear:
                scale[n.id] = sum(scale[i] for i in n.inputs)
            else:
                scale[n.id] = abs(self.value(n.id))
        return scale

    def adjoint_scale(self) -> dict[int, float]:
        """The backward pass on |local derivatives|: an upper bound of every term summed into each adjoint."""
        scale = {n.id: 0.0 for n in self.graph.nodes}
        scale[self.output] = 1.0
        for n in reversed(self.graph.nodes):
            for c, k in self.uses[n.id]:
                scale[n.id] += scale[c] * abs(self.partials[c][k])
        return scale

    def tangent_scale(self, wrt_id: int) -> dict[int, float]:
        """The forward pass on |local derivatives| from the input ``wrt_id``."""
        scale: dict[int, float] = {}
        for n in self.graph.nodes:
            if n.id == wrt_id:
                scale[n.id] = 1.0
            elif n.id in self.partials:
                scale[n.id] = sum(
                    abs(p) * scale[i] for p, i in zip(self.partials[n.id], n.inputs, strict=True)
                )
            else:
                scale[n.id] = 0.0
        return scale


#: An operation written out longer than this is cut (a graph that doubles in a loop would be 2^N long).
_EXPRESSION_CHARS = 120


def written_out(graph) -> dict[int, str]:
    """Every unnamed operation written out, unnamed inputs expanded: ``cos(v0)``, ``v1 * cos(v0)``. Built in
    one pass in topological order (no recursion, each node written once), long expressions cut, so the
    cost is linear in the graph."""
    out: dict[int, str] = {}
    for n in graph.nodes:
        if n.op in ("input", "const") or n.primitive is None:
            continue
        parts = []
        for i in n.inputs:
            m = graph.nodes[i]
            if i in out and not m.names:
                parts.append(f"({out[i]})" if m.primitive.symbol else out[i])
            else:
                parts.append(m.name)
        text = n.primitive.describe(parts)
        out[n.id] = text if len(text) <= _EXPRESSION_CHARS else text[: _EXPRESSION_CHARS - 3] + "..."
    return out


def shapes(graph: Graph) -> dict[int, str]:
    """Every node's shape as text, independent of names: ``x0`` for input 0, a constant's value, ``op(...)``
    of its inputs' shapes (sorted for a commutative primitive). Two graphs compute a node the same way exactly
    when their shapes are equal. Long shapes are hashed, so the cost stays linear."""
    import hashlib

    out: dict[int, str] = {}
    for n in graph.nodes:
        if n.op == "input":
            out[n.id] = f"x{graph.inputs.index(n.id)}"
        elif n.op == "const":
            out[n.id] = repr(_float(n.value))
        else:
            parts = [out[i] for i in n.inputs]
            if n.primitive is not None and n.primitive.commutative:
                parts.sort()
            text = f"{n.op}({','.join(parts)})"
            out[n.id] = text if len(text) < 200 else "#" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return out


def name_unnamed(graph: Graph) -> None:
    """Give every operation no local held (``_t3``: a step folded into a longer line) its written-out form as
    its name, ``(v1 * cos(v0))``, so feedback quotes only what the student wrote."""
    written = written_out(graph)
    for n in graph.nodes:
        if n.op not in ("input", "const") and not n.names and n.id in written:
            n.name = f"({written[n.id]})"


def _float(v) -> float:
    try:
        return float(np.asarray(v, dtype=float).reshape(-1)[0]) if np.ndim(v) else float(v)
    except (TypeError, ValueError, IndexError):
        return math.nan
