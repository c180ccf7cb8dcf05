"""Graph: a traced computation as plain records, the reference that checkers, feedback and widgets read.

Each node is one intermediate variable: its name (the student's own), its primitive, its ordered inputs and its
value. Tangents (forward mode) and adjoints (reverse mode) are computed from the primitives' declared rules on
these recorded values; the graph converts to and from JSON-safe data so it can cross a process boundary, and
``from_dict`` recomputes every value from the inputs rather than trusting the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..engine import primitives as P
from ..engine.errors import AutodiffError
from ..engine.state import refuse_by_hand
from .data import FORMAT, check_format, decode_param, decode_value, encode_param, encode_value, format_number

#: How a Graph shows itself in a notebook: "html" (a static picture) and "stepper" (the widget). The widgets
#: layer, which sits above the graph, fills these in when it is imported (the package's ``__init__`` imports
#: it), so the graph never imports upward.
DISPLAY: dict[str, Callable[..., Any]] = {}
_VARIABLE = re.compile(r"^[A-Za-z_]\w*$")


@dataclass
class GraphNode:
    id: int
    name: str
    names: list[str]
    op: str  # "input", "const" or a primitive's name
    inputs: tuple[int, ...]
    value: Any
    line: int | None = None
    source: str | None = None
    params: dict = field(default_factory=dict)

    @property
    def primitive(self) -> P.Primitive | None:
        return P.PRIMITIVES.get(self.op)


class Graph:
    """A computational graph in topological order (every node after the nodes it reads)."""

    def __init__(self, nodes: list[GraphNode], inputs: list[int], outputs: list[int]):
        self.nodes = nodes
        self.inputs = inputs
        self.outputs = outputs
        self._by_name = {}
        for n in nodes:
            for name in [n.name, *n.names]:
                self._by_name.setdefault(name, n.id)
        self._consumers: dict[int, list[int]] = {n.id: [] for n in nodes}
        for n in nodes:
            for i in n.inputs:
                if n.id not in self._consumers[i]:
                    self._consumers[i].append(n.id)

    # -- building -----------------------------------------------------------------------------------------
    @classmethod
    def from_run(cls, run, outputs: list) -> "Graph":
        """The graph of everything ``outputs`` depend on in a traced run (see ``trace.run_traced``)."""
        tracer = run.tracer
        seen: dict[int, Any] = {}
        stack = list(outputs)
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen[id(node)] = node
            stack.extend(node._inputs)
        for node in run.inputs:
            seen.setdefault(id(node), node)
        order = sorted(seen.values(), key=lambda n: tracer.seq.get(id(n), -1))
        ids = {id(n): k for k, n in enumerate(order)}
        input_keys = {id(n) for n in run.inputs}
        params_set = set(run.arg_names)
        nodes = []
        unnamed = 0
        for k, node in enumerate(order):
            key = id(node)
            names = list(tracer.names.get(key, []))
            if all(n in params_set for n in names):
                # A value no variable of its own holds goes by the items of the lists that hold it (``v[3]`` of
                # a tape ``v.append(...)``); an input, by those beside its parameter's name.
                names += [n for n in getattr(tracer, "items", {}).get(key, []) if n not in names]
            if key in input_keys:
                op = "input"
            elif node._op is None:
                op = "const"
            else:
                op = node._op.name
            if names:
                preferred = [n for n in names if n not in params_set]
                name = preferred[0] if preferred else names[0]
            elif op == "const":
                name = _format_const(node.value)
            else:
                unnamed += 1
                name = f"_t{unnamed}"
            line = tracer.lines.get(key)
            nodes.append(GraphNode(
                id=k, name=name, names=names, op=op, inputs=tuple(ids[id(i)] for i in node._inputs),
                value=np.array(node.value) if isinstance(node.value, np.ndarray) else node.value,
                line=line if op not in ("input", "const") else None,
                source=tracer.source(line) if op not in ("input", "const") else None,
                params=dict(node._params or {}),
            ))
        return cls(nodes, [ids[id(n)] for n in run.inputs], [ids[id(n)] for n in outputs])

    def to_dict(self) -> dict:
        """JSON-safe plain data (format ``autodiff-course.graph/1``, see docs/architecture.md)."""
        return {
            "format": FORMAT,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "nodes": [
                {
                    "id": n.id, "name": n.name, "names": list(n.names), "op": n.op, "inputs": list(n.inputs),
                    "value": encode_value(n.value), "shape": list(np.shape(n.value)), "line": n.line,
                    "source": n.source, "params": {k: encode_param(v) for k, v in n.params.items()},
                }
                for n in self.nodes
            ],
        }

    @classmethod
    def from_dict(cls, data: dict, *, recompute: bool = True) -> "Graph":
        """Rebuild a graph from ``to_dict`` data.

        With ``recompute`` (the default) every non-input value is computed again from the inputs with the
        engine's primitives; the recorded values are ignored, and nodes whose recorded value disagreed are
        listed in ``graph.mismatches``. Raises AutodiffError for malformed data (unknown primitive, an input
        that refers forward, a wrong format tag).
        """
        check_format(data, AutodiffError)
        nodes: list[GraphNode] = []
        mismatches = []
        for k, d in enumerate(data["nodes"]):
            if d["id"] != k:
                raise AutodiffError(f"graph node {k} has id {d['id']}; nodes must be numbered in order")
            inputs = tuple(int(i) for i in d["inputs"])
            if any(i >= k or i < 0 for i in inputs):
                raise AutodiffError(f"graph node {k} ({d.get('name')}) reads a node that comes after it")
            op = d["op"]
            params = {key: decode_param(v) for key, v in (d.get("params") or {}).items()}
            recorded = decode_value(d["value"])
            if op in ("input", "const") or not recompute:
                value = recorded
            else:
                prim = P.PRIMITIVES.get(op)
                if prim is None:
                    raise AutodiffError(f"graph node {k} ({d.get('name')}): unknown primitive {op!r}")
                value = prim.raw(*(nodes[i].value for i in inputs), **params)
                if not _close(value, recorded):
                    mismatches.append(k)
            line, source = d.get("line"), d.get("source")
            if not (line is None or (isinstance(line, int) and not isinstance(line, bool))) or not (
                    source is None or isinstance(source, str)):
                raise AutodiffError(f"graph node {k}: line must be an integer and source a string")
            nodes.append(GraphNode(id=k, name=str(d["name"]), names=[str(s) for s in d.get("names", [])], op=op,
                                   inputs=inputs, value=value, line=line, source=source, params=params))
        g = cls(nodes, [int(i) for i in data["inputs"]], [int(i) for i in data["outputs"]])
        g.mismatches = mismatches
        return g

    # -- looking things up --------------------------------------------------------------------------------
    def node(self, key: int | str) -> GraphNode:
        """A node by id or by any of the student's names for it. Raises KeyError naming what was asked."""
        if isinstance(key, str):
            if key not in self._by_name:
                raise KeyError(f"no intermediate variable named {key!r}; the graph has "
                               + ", ".join(n.name for n in self.nodes))
            key = self._by_name[key]
        return self.nodes[key]

    def consumers(self, node_id: int) -> list[int]:
        """The nodes that read ``node_id``, in topological order."""
        return list(self._consumers[node_id])

    @property
    def variables(self) -> list[GraphNode]:
        """The intermediate variables: every node but constants, in order."""
        return [n for n in self.nodes if n.op != "const"]

    def equation(self, node_id: int) -> str:
        """``'v5 = v1 * v4'``: the node written as one operation of its inputs."""
        n = self.nodes[node_id]
        if n.op in ("input", "const"):
            return f"{n.name} = {n.names[0] if n.op == 'input' and n.names else _format_const(n.value)}"
        return f"{n.name} = {n.primitive.describe([self.nodes[i].name for i in n.inputs])}"

    def _resolve_input(self, wrt) -> int:
        if isinstance(wrt, str):
            return self.node(wrt).id
        if isinstance(wrt, int) and 0 <= wrt < len(self.inputs):
            return self.inputs[wrt]
        raise KeyError(f"wrt={wrt!r}: give an input index (0..{len(self.inputs) - 1}) or a variable name")

    # -- derivatives from the primitives' rules -----------------------------------------------------------
    # Each refuses inside a hand-written forward or reverse answer (``engine.state.by_hand``), as ``grad`` and
    # ``backward`` do; the checkers call them on the trusted side, after the answer has run.
    def local_partials(self, node_id: int) -> tuple:
        """d node / d input_k for each input k, at the recorded values (elementwise primitives only).

        A constant input gets ``None``: it is not a variable, and its partial may not even exist (the exponent
        of ``x ** 2`` at a negative x would need the log of a negative number).
        """
        refuse_by_hand("Graph.local_partials()")
        n = self.nodes[node_id]
        prim = n.primitive
        if prim is None:
            return ()
        args = [self.nodes[i].value for i in n.inputs]
        return tuple(None if self.nodes[i].op == "const" else prim.partial(k, n.value, args)
                     for k, i in enumerate(n.inputs))

    def tangents(self, wrt: int | str = 0) -> dict[int, Any]:
        """Forward mode: d node / d (input ``wrt``) for every node (``wrt``: input index or variable name)."""
        refuse_by_hand("Graph.tangents()")
        start = self._resolve_input(wrt)
        tangents: dict[int, Any] = {}
        for n in self.nodes:
            if n.id == start:
                tangents[n.id] = np.ones_like(n.value) if isinstance(n.value, np.ndarray) else 1.0
                continue
            prim = n.primitive
            ts = [tangents.get(i) for i in n.inputs]
            if prim is None or all(t is None for t in ts):
                continue
            tangents[n.id] = prim.jvp(ts, n.value, [self.nodes[i].value for i in n.inputs], n.params)
        return {n.id: tangents.get(n.id, 0.0 * n.value if isinstance(n.value, np.ndarray) else 0.0)
                for n in self.nodes}

    def adjoints(self, output: int | str | None = None, seed=None) -> dict[int, Any]:
        """Reverse mode: d output / d node for every node (0 for nodes the output does not depend on)."""
        refuse_by_hand("Graph.adjoints()")
        out = self.outputs[0] if output is None else (self.node(output).id if isinstance(output, str) else output)
        value = self.nodes[out].value
        adj: dict[int, Any] = {out: (np.ones_like(value) if isinstance(value, np.ndarray) else 1.0)
                               if seed is None else seed}
        for n in reversed(self.nodes[: out + 1]):
            g = adj.get(n.id)
            prim = n.primitive
            if g is None or prim is None:
                continue
            args = [self.nodes[i].value for i in n.inputs]
            needs = [self.nodes[i].op != "const" for i in n.inputs]
            for i, c in zip(n.inputs, prim.vjp(g, n.value, args, n.params, needs)):
                if c is not None:
                    adj[i] = c if i not in adj else adj[i] + c
        return {n.id: adj.get(n.id, 0.0 * n.value if isinstance(n.value, np.ndarray) else 0.0)
                for n in self.nodes}

    def value(self, key: int | str):
        return self.node(key).value

    # -- display --------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        lines = [f"Graph with {len(self.nodes)} nodes:"]
        for n in self.nodes:
            lines.append(f"  {self.equation(n.id):<28} = {format_number(n.value)}")
        return "\n".join(lines)

    def _repr_html_(self) -> str | None:
        render = DISPLAY.get("html")
        return render(self) if render is not None else None  # None: Jupyter shows __repr__ instead

    def stepper(self, **kwargs):
        """An interactive step-through of this graph's forward or reverse pass (see widgets.GraphStepper)."""
        make = DISPLAY.get("stepper")
        if make is None:
            raise RuntimeError("the stepper lives in autodiff_course.widgets; import it first")
        return make(self, **kwargs)


def _close(a, b, rtol: float = 1e-12) -> bool:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    return bool(np.all((a == b) | np.isclose(a, b, rtol=rtol, atol=1e-300) | (np.isnan(a) & np.isnan(b))))


def _format_const(v) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, np.ndarray):
        return f"const{list(v.shape)}"
    return repr(v)
