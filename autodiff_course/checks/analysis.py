"""Facts about a traced graph that every function check needs: local derivatives, uses, scales."""

from __future__ import annotations

import math

import numpy as np

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
            self.partials[n.id] = tuple(_float(p) for p in graph.local_partials(n.id))
            for k, i in enumerate(n.inputs):
                self.uses[i].append((n.id, k))
        self.output = graph.outputs[0]

    def value(self, node_id: int) -> float:
        return _float(self.graph.nodes[node_id].value)

    def value_scale(self) -> dict[int, float]:
        """|value| of every node, with sums and differences counting their operands' sizes (cancellation)."""
        scale: dict[int, float] = {}
        for n in self.graph.nodes:
            if n.op in ("add", "sub"):
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


def _float(v) -> float:
    try:
        return float(np.asarray(v, dtype=float).reshape(-1)[0]) if np.ndim(v) else float(v)
    except (TypeError, ValueError, IndexError):
        return math.nan
