"""Layered layout of a computational graph, computed in Python (no Graphviz binary).

Inputs sit in the leftmost layer and every other node one layer right of its deepest input, so edges always
point rightwards, as a student draws the graph by hand. Within a layer, nodes are ordered by a few barycentre
sweeps (fewer crossings), then each node is pulled towards the mean height of its neighbours and overlaps are
pushed apart. All of it is linear or n log n per sweep: a 500-node graph lays out in a few milliseconds.

The result is plain JSON-safe data, so the same geometry feeds the static SVG (`graph_svg`) and the browser
widget (`widgets.GraphStepper`), which therefore look the same.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

from ..engine.primitives import PRIMITIVES
from ..graph.data import check_format
from ..graph.data import format_number as format_value

__all__ = [
    "NODE_WIDTH",
    "NODE_HEIGHT",
    "graph_data",
    "layout_graph",
    "format_value",
    "node_label",
    "op_label",
]

NODE_WIDTH = 150
NODE_HEIGHT = 74
LAYER_GAP = 70  # horizontal space between layers: room for the edges' curves and arrowheads
ROW_GAP = 22
DUMMY_HEIGHT = 6  # the lane a long edge takes through a layer it crosses
DUMMY_GAP = 10
MARGIN = 16
_SWEEPS = 1


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
    check_format(data)
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
        return PRIMITIVES[op].describe(names)
    except KeyError:
        # The drawing must not fail because one primitive lacks a text form; the name of the op still says it.
        return f"{op}({', '.join(names)})"


def _layers(nodes: list[Mapping], consumers: dict[int, list[int]]) -> dict[int, int]:
    layer: dict[int, int] = {}
    for node in nodes:
        layer[node["id"]] = 1 + max((layer[s] for s in node["inputs"]), default=-1)
    for node in nodes:
        # A constant has no inputs, but drawing it beside its first reader beats stranding it by the inputs.
        if node["op"] == "const" and consumers[node["id"]]:
            layer[node["id"]] = max(0, min(layer[c] for c in consumers[node["id"]]) - 1)
    return layer


def _order_layers(rows: list[list[int]], inputs_of: dict, consumers: dict) -> None:
    pos = {n: i for row in rows for i, n in enumerate(row)}
    get = pos.__getitem__

    def sweep(row: list[int], neighbours: dict) -> None:
        keys = {}
        for i, n in enumerate(row):
            near = neighbours[n]
            k = len(near)
            keys[n] = pos[near[0]] if k == 1 else sum(map(get, near)) / k if k else float(i)
        row.sort(key=keys.__getitem__)  # stable: ties keep the student's order
        for i, n in enumerate(row):
            pos[n] = i

    for _ in range(_SWEEPS):
        for row in rows[1:]:
            sweep(row, inputs_of)
        for row in reversed(rows[:-1]):
            sweep(row, consumers)
    for row in rows[1:]:
        sweep(row, inputs_of)


def _place_rows(rows: list[list[int]], inputs_of: dict, consumers: dict, height: dict) -> dict[int, float]:
    """Centre heights: each node as near the mean of its neighbours as the order and spacing allow."""
    # gaps[r][i]: the distance between the centres of row r's nodes i-1 and i.
    gaps = []
    for row in rows:
        g = [0.0]
        for a, b in zip(row, row[1:], strict=False):
            ha, hb = height[a], height[b]
            g.append((ha + hb) / 2 + (ROW_GAP if ha == hb == NODE_HEIGHT else DUMMY_GAP))
        gaps.append(g)
    c: dict[int, float] = {}
    for row, g in zip(rows, gaps, strict=True):
        at = 0.0
        for n, d in zip(row, g, strict=True):
            at += d
            c[n] = at
    get = c.__getitem__

    def pull(row: list[int], g: list[float], neighbours: dict) -> None:
        if not row:
            return
        want = []
        for n in row:
            near = neighbours[n]
            k = len(near)
            want.append(c[near[0]] if k == 1 else sum(map(get, near)) / k if k else c[n])
        placed = []
        last = -1e300
        for w, d in zip(want, g, strict=True):
            last = w if w > last + d else last + d
            placed.append(last)
        # Pushing overlaps apart only moves nodes down; shift the row back to sit on its wishes on average.
        shift = (sum(want) - sum(placed)) / len(row)
        for n, p in zip(row, placed, strict=True):
            c[n] = p + shift

    pairs = list(zip(rows, gaps, strict=True))
    for row, g in pairs[1:]:
        pull(row, g, inputs_of)
    for row, g in reversed(pairs[:-1]):
        pull(row, g, consumers)
    for row, g in pairs[1:]:
        pull(row, g, inputs_of)
    return c


def layout_graph(graph: Any) -> dict:
    """Positions of every node and the path of every edge of `graph` (a `Graph` or its `to_dict()` data).

    Returns JSON-safe data: `width`, `height`, `layers` (count), `nodes` (in the graph's order: `id`, `name`,
    `label`, `op`, `op_label`, `value_text`, `layer`, `x`, `y` (top left), `w`, `h`, `output`), and `edges`
    (one per operand, so `v0 * v0` has two: `id` (`"e<dst>_<k>"`), `src`, `dst`, `k` (operand index), `path`
    (SVG path data)). An edge that spans several layers runs through a lane of its own in each layer it
    crosses, so it never passes behind a node. Raises what `graph_data` raises for data that is not a graph.
    """
    data = graph_data(graph)
    # The layout allocates thousands of small lists and dicts and frees them all on return, without cycles; a
    # garbage collection triggered meanwhile would scan every object of the process for nothing (it costs more
    # than the whole layout of a 500-node graph in a kernel holding a big course notebook).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _layout(data)
    finally:
        if collecting:
            gc.enable()


def _layout(data: dict) -> dict:
    nodes = data["nodes"]
    by_id = {n["id"]: n for n in nodes}
    first_consumers: dict[int, list[int]] = {n["id"]: [] for n in nodes}
    for n in nodes:
        for s in n["inputs"]:
            first_consumers[s].append(n["id"])
    layer = _layers(nodes, first_consumers)
    height = {n["id"]: NODE_HEIGHT for n in nodes}
    inputs_of: dict[int, list[int]] = {n["id"]: [] for n in nodes}
    consumers = {n["id"]: [] for n in nodes}
    # Long edges get dummy nodes in the layers they cross (Sugiyama), so the ordering keeps them out of the
    # way of real nodes and the drawing routes them through the dummies' lanes. The long edges leaving one
    # node share one trunk of dummies (edge concentration): at most one dummy per source and layer, which
    # keeps a 500-node graph fast to lay out and draws a node read far downstream as one line with branches,
    # not a fan.
    next_id = 1 + max((n["id"] for n in nodes), default=0)
    trunk: dict[int, list[int]] = {}
    for n in nodes:
        reach = max((layer[c] for c in first_consumers[n["id"]]), default=0)
        chain, prev = [], n["id"]
        for lay in range(layer[n["id"]] + 1, reach):
            d = next_id
            next_id += 1
            layer[d], height[d] = lay, DUMMY_HEIGHT
            inputs_of[d], consumers[d] = [prev], []
            consumers[prev].append(d)
            chain.append(d)
            prev = d
        trunk[n["id"]] = chain
    # via[(node, k)]: where operand k arrives from, its source or its trunk's lane in the layer before node.
    via: dict[tuple[int, int], int] = {}
    for n in nodes:
        for k, s in enumerate(n["inputs"]):
            span = layer[n["id"]] - layer[s] - 1
            prev = trunk[s][span - 1] if span > 0 else s
            inputs_of[n["id"]].append(prev)
            consumers[prev].append(n["id"])
            via[(n["id"], k)] = prev
    rows: list[list[int]] = [[] for _ in range(1 + max(layer.values(), default=0))]
    for n in nodes:
        rows[layer[n["id"]]].append(n["id"])
    for chain in trunk.values():
        for d in chain:
            rows[layer[d]].append(d)
    _order_layers(rows, inputs_of, consumers)
    c = _place_rows(rows, inputs_of, consumers, height)
    top = min((c[n] - height[n] / 2 for n in c), default=0.0)
    outputs = set(data.get("outputs", []))

    offset = MARGIN - top
    # Whole pixels: nothing finer shows, and integers format several times faster than floats.
    ys = {n: int(v + offset + 0.5) for n, v in c.items()}  # centre heights on the page
    xs = [MARGIN + lay * (NODE_WIDTH + LAYER_GAP) for lay in range(len(rows))]

    placed = []
    for n in nodes:
        nid = n["id"]
        placed.append(
            {
                "id": nid,
                "name": n["name"],
                "label": node_label(n),
                "op": n["op"],
                "op_label": op_label(n, [by_id[s]["name"] for s in n["inputs"]]),
                "value_text": format_value(n.get("value")),
                "layer": layer[nid],
                "x": xs[layer[nid]],
                "y": ys[nid] - NODE_HEIGHT // 2,
                "w": NODE_WIDTH,
                "h": NODE_HEIGHT,
                "output": nid in outputs,
            }
        )
    # A trunk's segments are shared by every edge that runs along it: format each once.
    # A trunk is shared by every edge that runs along it: the path up to each of its lanes is built once.
    lead: dict[int, str] = {}
    ends: dict[int, tuple[int, int]] = {}
    for s, chain in trunk.items():
        px, py = xs[layer[s]] + NODE_WIDTH, ys[s]
        ends[s] = (px, py)
        lead[s] = path = f"M{px},{py}"
        for d in chain:
            lx, dy = xs[layer[d]], ys[d]
            path = lead[d] = f"{path} {_curve(px, py, lx, dy)} L{lx + NODE_WIDTH},{dy}"
            px, py = lx + NODE_WIDTH, dy
            ends[d] = (px, py)
    edges = []
    for n in nodes:
        nid = n["id"]
        arity = len(n["inputs"])
        top_y = ys[nid] - NODE_HEIGHT // 2
        x_in = xs[layer[nid]] - 2
        for k, s in enumerate(n["inputs"]):
            last = via[(nid, k)]
            px, py = ends[last]
            # Operands enter at spread-out ports in argument order, so `v1 / v2` shows which is on top.
            port = top_y + NODE_HEIGHT * (k + 1) // (arity + 1)
            path = f"{lead[last]} {_curve(px, py, x_in, port)}"
            edges.append({"id": f"e{nid}_{k}", "src": s, "dst": nid, "k": k, "path": path})
    width = MARGIN * 2 + len(rows) * NODE_WIDTH + (len(rows) - 1) * LAYER_GAP
    bottom = max((ys[n] + (height[n] + 1) // 2 for n in ys), default=0)
    return {
        "width": float(width),
        "height": float(bottom + MARGIN),
        "layers": len(rows),
        "nodes": placed,
        "edges": edges,
    }


def _curve(x1: int, y1: int, x2: int, y2: int) -> str:
    bend = max(20, (x2 - x1) // 2)
    return f"C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"
