"""Layered layout of a computational graph, computed in Python (no Graphviz binary).

Inputs sit in the leftmost layer and every other node one layer right of its deepest input, so edges always
point rightwards, as a student draws the graph by hand. Within a layer, nodes are ordered by a few barycentre
sweeps (fewer crossings), then each node is pulled towards the mean height of its neighbours and overlaps are
pushed apart. All of it is linear or n log n per sweep: a 500-node graph lays out in a few milliseconds.

The result is plain JSON-safe data, so the same geometry feeds the static SVG (`graph_svg`) and the browser
widget (`widgets.GraphStepper`), which therefore look the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["NODE_WIDTH", "NODE_HEIGHT", "graph_data", "layout_graph", "format_value", "node_label", "op_label"]

NODE_WIDTH = 150
NODE_HEIGHT = 74
LAYER_GAP = 70  # horizontal space between layers: room for the edges' curves and arrowheads
ROW_GAP = 22
MARGIN = 16
_SWEEPS = 4
_GRAPH_FORMAT = "autodiff-course.graph/1"


def graph_data(graph: Any) -> dict:
    """The plain-data form (format `autodiff-course.graph/1`) of a `Graph` or of such a dict.

    Raises TypeError for anything else and ValueError for a dict in another format or whose nodes are not in
    topological order (a node reading a node that comes after it).
    """
    if isinstance(graph, Mapping):
        data = graph
    elif hasattr(graph, "to_dict"):
        data = graph.to_dict()
    else:
        raise TypeError(f"expected a Graph or its to_dict() data, got {type(graph).__name__}")
    if data.get("format") != _GRAPH_FORMAT:
        raise ValueError(f"graph data has format {data.get('format')!r}, expected {_GRAPH_FORMAT!r}")
    position = {}
    for index, node in enumerate(data["nodes"]):
        for src in node["inputs"]:
            if src not in position:
                raise ValueError(
                    f"graph node {node['name']!r} (id {node['id']}) reads node id {src}, which does not come "
                    "before it: nodes must be in topological order"
                )
        position[node["id"]] = index
    return dict(data)


def format_value(value: Any, digits: int = 6) -> str:
    """A short text form of a node's value: `digits` significant digits for a number, the shape for an array
    of more than four elements."""
    if value is None:
        return ""
    array = np.asarray(value)
    if array.ndim == 0:
        number = float(array)
        if number == 0:
            return "0"  # also folds -0.0, which only confuses a student
        if number == int(number) and abs(number) < 1e15:
            return str(int(number))
        return format(number, f".{digits}g")
    if array.size <= 4:
        return "[" + ", ".join(format_value(x, digits) for x in array.reshape(-1)) + "]"
    return "array " + "\u00d7".join(str(n) for n in array.shape)


def node_label(node: Mapping) -> str:
    """The name a student knows a node by, with its other names: `v0 (x0)`."""
    others = [n for n in node.get("names", []) if n != node["name"]]
    return node["name"] + (f" ({', '.join(others)})" if others else "")


def op_label(node: Mapping, names: list[str]) -> str:
    """What a node computes, in the input nodes' names: `v1 * v4`, `sin(v0)`, `input`, `const 2`."""
    op = node["op"]
    if op == "input":
        return "input"
    if op == "const":
        return "const " + format_value(node.get("value"))
    try:
        from autodiff_course.primitives import PRIMITIVES

        return PRIMITIVES[op].describe(names)
    except (ImportError, KeyError):
        # The drawing must not fail because one primitive lacks a text form; the name of the op still says it.
        return f"{op}({', '.join(names)})"


def _layers(nodes: list[Mapping], consumers: dict[int, list[int]]) -> dict[int, int]:
    layer: dict[int, int] = {}
    for node in nodes:
        layer[node["id"]] = 1 + max((layer[s] for s in node["inputs"]), default=-1)
    for node in nodes:
        # A constant has no inputs, but drawing it beside its first reader beats stranding it among the inputs.
        if node["op"] == "const" and consumers[node["id"]]:
            layer[node["id"]] = max(0, min(layer[c] for c in consumers[node["id"]]) - 1)
    return layer


def _order_layers(rows: list[list[int]], inputs_of: dict, consumers: dict) -> None:
    pos = {n: i for row in rows for i, n in enumerate(row)}

    def sweep(row: list[int], neighbours: dict) -> None:
        keys = {}
        for i, n in enumerate(row):
            near = neighbours[n]
            keys[n] = sum(pos[m] for m in near) / len(near) if near else float(i)
        row.sort(key=lambda n: keys[n])  # stable: ties keep the student's order
        for i, n in enumerate(row):
            pos[n] = i

    for _ in range(_SWEEPS):
        for row in rows[1:]:
            sweep(row, inputs_of)
        for row in reversed(rows[:-1]):
            sweep(row, consumers)
    for row in rows[1:]:
        sweep(row, inputs_of)


def _place_rows(rows: list[list[int]], inputs_of: dict, consumers: dict) -> dict[int, float]:
    pitch = NODE_HEIGHT + ROW_GAP
    y = {n: i * pitch for row in rows for i, n in enumerate(row)}

    def pull(row: list[int], neighbours: dict) -> None:
        if not row:
            return
        want = [
            sum(y[m] for m in neighbours[n]) / len(neighbours[n]) if neighbours[n] else y[n] for n in row
        ]
        placed = []
        for i, w in enumerate(want):
            placed.append(w if i == 0 else max(w, placed[-1] + pitch))
        # Pushing overlaps apart only moves nodes down; shift the row back so it sits on its wishes on average.
        shift = sum(w - p for w, p in zip(want, placed)) / len(row)
        for n, p in zip(row, placed):
            y[n] = p + shift

    for row in rows[1:]:
        pull(row, inputs_of)
    pull(rows[0], consumers)
    for row in rows[1:]:
        pull(row, inputs_of)
    return y


def _edge_path(x1: float, y1: float, x2: float, y2: float) -> str:
    bend = max(30.0, (x2 - x1) / 2)
    return f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"


def layout_graph(graph: Any) -> dict:
    """Positions of every node and the path of every edge of `graph` (a `Graph` or its `to_dict()` data).

    Returns JSON-safe data: `width`, `height`, `layers` (count), `nodes` (in the graph's order: `id`, `name`,
    `label`, `op`, `op_label`, `value_text`, `layer`, `x`, `y`, `w`, `h`, `output`), and `edges` (one per
    operand, so `v0 * v0` has two: `id` (`"e<dst>_<k>"`), `src`, `dst`, `k` (operand index), `path` (SVG path
    data)). Raises what `graph_data` raises for data that is not a graph.
    """
    data = graph_data(graph)
    nodes = data["nodes"]
    by_id = {n["id"]: n for n in nodes}
    consumers: dict[int, list[int]] = {n["id"]: [] for n in nodes}
    inputs_of: dict[int, list[int]] = {}
    for n in nodes:
        inputs_of[n["id"]] = list(n["inputs"])
        for s in n["inputs"]:
            consumers[s].append(n["id"])
    layer = _layers(nodes, consumers)
    rows: list[list[int]] = [[] for _ in range(1 + max(layer.values(), default=0))]
    for n in nodes:
        rows[layer[n["id"]]].append(n["id"])
    _order_layers(rows, inputs_of, consumers)
    y = _place_rows(rows, inputs_of, consumers)
    top = min(y.values(), default=0.0)
    outputs = set(data.get("outputs", []))

    placed = []
    for n in nodes:
        nid = n["id"]
        placed.append({
            "id": nid,
            "name": n["name"],
            "label": node_label(n),
            "op": n["op"],
            "op_label": op_label(n, [by_id[s]["name"] for s in n["inputs"]]),
            "value_text": format_value(n.get("value")),
            "layer": layer[nid],
            "x": float(MARGIN + layer[nid] * (NODE_WIDTH + LAYER_GAP)),
            "y": round(MARGIN + y[nid] - top, 1),
            "w": NODE_WIDTH,
            "h": NODE_HEIGHT,
            "output": nid in outputs,
        })
    at = {p["id"]: p for p in placed}
    edges = []
    for n in nodes:
        dst = at[n["id"]]
        arity = len(n["inputs"])
        for k, s in enumerate(n["inputs"]):
            src = at[s]
            # Operands enter at spread-out ports in argument order, so `v1 / v2` shows which is on top.
            port = dst["y"] + NODE_HEIGHT * (k + 1) / (arity + 1)
            path = _edge_path(src["x"] + NODE_WIDTH, src["y"] + NODE_HEIGHT / 2, dst["x"] - 2, port)
            edges.append({"id": f"e{n['id']}_{k}", "src": s, "dst": n["id"], "k": k, "path": path})
    width = MARGIN * 2 + len(rows) * NODE_WIDTH + (len(rows) - 1) * LAYER_GAP
    height = MARGIN * 2 + max((p["y"] - MARGIN + NODE_HEIGHT for p in placed), default=0)
    return {"width": float(width), "height": float(round(height, 1)), "layers": len(rows),
            "nodes": placed, "edges": edges}
