"""Synthetic graphs for demonstrations and for measuring the widget on graphs far larger than the course's."""

from __future__ import annotations

import math
import random

from ..engine.primitives import PRIMITIVES
from ..graph.data import FORMAT

__all__ = ["wide_graph"]

_UNARY = ("sin", "cos", "tanh")
_BINARY = ("add", "mul", "sub")


def wide_graph(n_nodes: int = 500, n_inputs: int = 4, seed: int = 0) -> dict:
    """Graph data (format ``autodiff-course.graph/1``) of a deterministic random scalar expression.

    Each node reads one or two of the 24 nodes before it or the oldest node nobody has read yet (now and then
    an input, as real code re-reads its arguments); the last node is the output and depends on nearly all.
    That is the shape of an unrolled computation, long edges included.
    Values are computed with the engine's primitives; a node whose value would exceed 1e3 in size becomes a
    `tanh`, so no value overflows however long the graph. Raises ValueError for fewer nodes than inputs + 1.
    """
    if n_nodes <= n_inputs:
        raise ValueError(f"a graph of {n_nodes} nodes cannot have {n_inputs} inputs and an output")
    rng = random.Random(seed)
    nodes = [
        {
            "id": i,
            "name": f"v{i}",
            "names": [f"x{i}", f"v{i}"],
            "op": "input",
            "inputs": [],
            "value": 0.5 + i / n_inputs,
            "shape": [],
            "line": None,
            "source": None,
            "params": {},
        }
        for i in range(n_inputs)
    ]

    unread = list(
        range(n_inputs)
    )  # oldest first: reading these keeps (almost) every node on the output's path

    def pick(i: int) -> int:
        return rng.randrange(n_inputs) if rng.random() < 0.05 else rng.randrange(max(0, i - 24), i)

    for i in range(n_inputs, n_nodes):
        first = unread[0] if unread and rng.random() < 0.7 else pick(i)
        if rng.random() < 0.4:
            op, ins = rng.choice(_UNARY), [first]
        else:
            op, ins = rng.choice(_BINARY), [first, pick(i)]
        value = PRIMITIVES[op].raw(*(nodes[s]["value"] for s in ins))
        if not math.isfinite(value) or abs(value) > 1e3:
            op, ins = "tanh", ins[:1]
            value = PRIMITIVES[op].raw(nodes[ins[0]]["value"])
        nodes.append(
            {
                "id": i,
                "name": f"v{i}",
                "names": [f"v{i}"],
                "op": op,
                "inputs": ins,
                "value": value,
                "shape": [],
                "line": None,
                "source": None,
                "params": {},
            }
        )
        unread = [u for u in unread if u not in ins] + [i]
    return {
        "format": FORMAT,
        "inputs": list(range(n_inputs)),
        "outputs": [n_nodes - 1],
        "nodes": nodes,
    }
