"""GraphStepper: step through the forward or reverse pass of a traced function, a node or an edge at a time.

Why anywidget: the layout, the SVG and every step are computed once in Python and synced as traits; the
browser inserts the SVG once and a step only restyles it. anywidget ships its front end as a prebuilt
JupyterLab / Notebook 7 extension and works in VS Code and Colab, so no build step and no CDN. `step` is a
synced trait, so a notebook can drive the widget (`w.step = 5`) and read where a student is.

Why a `text/html` form as well: a notebook exported to HTML has no kernel. The widget's mime bundle also
carries a self-contained snippet (the same JavaScript and CSS inline, the state embedded as JSON, the static
SVG as the content a script-less viewer shows). nbconvert's HTML exporter uses it whenever the notebook's
metadata holds no widget state for this widget (JupyterLab's default save). When the state *is* saved
(`jupyter nbconvert --execute` saves it), nbconvert prefers the widget view, which needs the jupyter-widgets
HTML manager from a CDN; `autodiff_course.widgets.export.StandaloneWidgetsPreprocessor` removes the widget
view from our outputs so the self-contained form is used there too.
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .layout import graph_data, layout_graph, node_label, op_label
from .steps import SLOT_DERIV, SLOT_STATE, SLOT_VALUE, build_steps, labels_at
from .svg import graph_to_svg

__all__ = ["GraphStepper", "StepperView", "STANDALONE_MARKER", "graph_table", "standalone_html"]

_HERE = Path(__file__).parent
STANDALONE_MARKER = "data-adc-standalone"


def _as_graph(fn_or_graph: Any, inputs: tuple) -> Any:
    """The engine Graph behind the stepper's first argument."""
    if isinstance(fn_or_graph, Mapping):
        if inputs:
            raise TypeError("GraphStepper: inputs are given with a function, not with graph data")
        from ..graph import Graph

        return Graph.from_dict(fn_or_graph)
    if hasattr(fn_or_graph, "to_dict") and hasattr(fn_or_graph, "adjoints"):
        if inputs:
            raise TypeError("GraphStepper: inputs are given with a function, not with a Graph")
        return fn_or_graph
    if callable(fn_or_graph):
        if not inputs:
            name = getattr(fn_or_graph, "__name__", "the function")
            raise TypeError(
                f"GraphStepper: give the inputs at which to trace {name}, e.g. "
                f"GraphStepper({name}, 1.8, 2.4, 0.7)"
            )
        from ..graph.tracing import trace

        return trace(fn_or_graph, *inputs)
    raise TypeError(f"GraphStepper needs a function, a Graph or graph data, got {type(fn_or_graph).__name__}")


_MARK_WORDS = {"culprit": "culprit: your first wrong value, start here", "wrong": "wrong"}


def graph_table(
    data: Mapping, marks: Mapping[int, str], initial: list, mode: str, autograd: Mapping[int, str] | None = None
) -> str:
    """The graph as an HTML table, for readers who cannot see the drawing: every node, what it computes, the
    nodes it reads, its value and its derivative (tangent or adjoint) as the steps have left them, and the
    compare view's mark (and the `grad_fn` PyTorch records, where given). The value and derivative cells
    carry ``data-node``/``data-slot``: the browser keeps them in step with the drawing."""
    by_id = {n["id"]: n for n in data["nodes"]}
    shown: dict[tuple[int, int], str] = {(nid, slot): text for nid, slot, text in initial}
    derivative = "tangent" if mode == "forward" else "adjoint"
    rows = []
    for node in data["nodes"]:
        nid = node["id"]
        reads = ", ".join(by_id[s]["name"] for s in node["inputs"]) or "nothing"
        computes = op_label(node, [by_id[s]["name"] for s in node["inputs"]])
        live = []
        for slot in (SLOT_VALUE, SLOT_DERIV):
            text = shown.get((nid, slot), "").removeprefix("= ") or "not yet"
            live.append(f'<td data-node="{nid}" data-slot="{slot}">{html.escape(text)}</td>')
        mark = _MARK_WORDS.get(marks.get(nid, ""), "")
        grad_fn = f"<td>{html.escape(autograd.get(nid, ''))}</td>" if autograd else ""
        rows.append(
            f"<tr><th scope=\"row\">{html.escape(node_label(node))}</th><td><code>{html.escape(computes)}</code></td>"
            f"<td>{html.escape(reads)}</td>{grad_fn}{''.join(live)}"
            + (f'<td class="adc-t-mark">{html.escape(mark)}</td>' if marks else "")
            + "</tr>"
        )
    head = (
        '<tr><th scope="col">node</th><th scope="col">computes</th><th scope="col">reads</th>'
        + ('<th scope="col">grad_fn in PyTorch</th>' if autograd else "")
        +         f'<th scope="col">value</th><th scope="col">{derivative}</th>'
        + ('<th scope="col">check</th>' if marks else "")
        + "</tr>"
    )
    outputs = ", ".join(by_id[o]["name"] for o in data["outputs"])
    return (
        '<details class="adc-table"><summary>The graph as a table</summary>'
        f'<table class="adc-graph-table"><caption>{len(data["nodes"])} nodes; output {html.escape(outputs)}. '
        "Value and derivative show what the steps so far have computed.</caption>"
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></details>"
    )


def _say_autograd(steps: list[dict], data: Mapping, autograd: Mapping[int, str]) -> None:
    """Add to each step what PyTorch records for it: a node's `grad_fn` as it is computed, and which
    `grad_fn` sends an adjoint back along an edge (see widgets/autograd.py)."""
    names = {n["id"]: n["name"] for n in data["nodes"]}
    for step in steps:
        nid = step["node"]
        if step["title"].startswith("Reverse pass: edge") and step["reads"]:
            sender = step["reads"][0]
            if sender in autograd:
                line = f"in PyTorch: {names[sender]}.grad_fn ({autograd[sender]}) sends this back to {names[nid]}"
                step["lines"].append(line)
                step["speech"] += f" In PyTorch, {autograd[sender]} of {names[sender]} sends it."
        elif nid in autograd and not step["title"].startswith("Reverse pass"):
            gf = autograd[nid]
            line = (
                f"in PyTorch: {names[nid]} is a leaf; backward() accumulates its gradient in .grad ({gf})"
                if gf == "AccumulateGrad"
                else f"in PyTorch: {names[nid]}.grad_fn is {gf}"
            )
            step["lines"].append(line)
            step["speech"] += f" PyTorch records {gf}."


def _script_json(value: Any) -> str:
    # Inside <script>, "</" would end the element early and "<!--" can confuse the HTML parser.
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")


class StepperView:
    """Everything a stepper shows, computed once, with no widget (so no kernel comm): the SVG, the table, the
    steps. `GraphStepper` is this state as a live widget; `to_html()` is it as a self-contained snippet, which
    is what a check's feedback embeds (widgets/compare.py). Arguments and errors as for `GraphStepper`."""

    def __init__(
        self,
        fn_or_graph: Any,
        *inputs: Any,
        mode: str = "forward",
        wrt: Any = 0,
        compare: Any = None,
        title: str | None = None,
        autograd: Mapping[int, str] | None = None,
    ):
        graph = _as_graph(fn_or_graph, inputs)
        built = build_steps(graph, mode, wrt=wrt, compare=compare)
        data = graph_data(graph)
        if autograd:
            _say_autograd(built["steps"], data, autograd)
        self.graph = graph
        self.graph_layout = layout_graph(data)
        if autograd:
            # The drawing names each node's record as PyTorch does; the expression stays in the table and steps.
            for node in self.graph_layout["nodes"]:
                grad_fn = autograd.get(node["id"])
                if grad_fn:
                    node["op_label"] = "leaf (AccumulateGrad)" if grad_fn == "AccumulateGrad" else grad_fn
        self.marks = {int(k): v for k, v in built["marks"].items()}
        self.checks = built["checks"]
        self._data = data
        self._names = {n["id"]: n["name"] for n in data["nodes"]}
        label = title or getattr(fn_or_graph, "__name__", None) or "graph"
        if inputs:
            label += (
                "("
                + ", ".join(
                    format(float(x), "g") if isinstance(x, (int, float)) else "\u2026" for x in inputs
                )
                + ")"
            )
        what = f"forward mode, d/d{built['wrt']}" if mode == "forward" else "reverse mode"
        intro = (
            "Each step computes one node's value and its tangent."
            if mode == "forward"
            else "First the forward pass computes every value; then each step sends an adjoint back along "
            "one edge, so you can watch an adjoint sum its paths."
        )
        if self.marks:
            intro += (
                " Nodes labelled \u201cwrong\u201d (dashed outline) hold your wrong values; the one labelled "
                "\u201cculprit\u201d (thick outline) is the first: start there."
            )
        self.state = {
            "svg": graph_to_svg(data, marks=self.marks, values=False, layout=self.graph_layout, title=label),
            "table": graph_table(data, self.marks, built["initial"], mode, autograd),
            "steps": built["steps"],
            "initial": built["initial"],
            "heading": f"{label} \u2014 {what}",
            "intro": intro,
            "mode": mode,
        }

    @property
    def steps(self) -> list[dict]:
        return self.state["steps"]

    def to_html(self, step: int = 0, speed: float = 2.0) -> str:
        """A self-contained HTML snippet of this stepper: the static SVG and the table (what a viewer without
        JavaScript shows), the same JavaScript and CSS as the widget inline, and the state as JSON. Needs no
        kernel and no network; steps like the widget. Starts after step `step`."""
        return standalone_html(self.state, step=step, speed=speed)


def standalone_html(state: Mapping, step: int = 0, speed: float = 2.0) -> str:
    """The kernel-free snippet of a stepper's `state` (see `StepperView.to_html`)."""
    uid = "adc-" + uuid.uuid4().hex[:12]
    shipped = {k: state[k] for k in ("steps", "initial", "heading", "intro", "mode")}
    shipped.update(step=step, speed=speed)
    js = (_HERE / "stepper.js").read_text(encoding="utf-8").replace("export default", "var __adcWidget =")
    css = (_HERE / "stepper.css").read_text(encoding="utf-8")
    return (
        f'<div id="{uid}" class="adc-stepper adc-standalone" {STANDALONE_MARKER}="1">'
        f'<div class="adc-heading">{html.escape(state["heading"])}</div>{state["svg"]}{state["table"]}</div>'
        f"<style>{css}</style>"
        f'<script type="application/json" id="{uid}-state">{_script_json(shipped)}</script>'
        "<script>(function () {\n"
        f"{js}\n"
        f'var root = document.getElementById("{uid}");\n'
        "if (!root || root.dataset.ready) return;\n"
        f'var state = JSON.parse(document.getElementById("{uid}-state").textContent);\n'
        "__adcWidget.render({model: __adcWidget.localModel(state), el: root});\n"
        "})();</script>"
    )


class GraphStepper(anywidget.AnyWidget):
    """A computational graph, laid out in layers from inputs to output, that steps through a pass.

    ``GraphStepper(fn, *inputs, mode="forward", wrt=0)`` traces ``fn`` at ``inputs``; ``GraphStepper(graph)``
    takes a traced ``Graph`` (or its ``to_dict()`` data). Forward mode: one step per node (value and tangent
    with respect to input ``wrt``). Reverse mode: the forward pass, then the output's seed, then one step per
    edge. ``compare``: a ``CheckResult`` or ``{"culprit": "v4", "received": {"v4": 1.2, ...}}``; wrong nodes
    are marked, the culprit stands out, and steps show expected beside received. ``autograd``: node id ->
    the ``grad_fn`` PyTorch records for it (see ``autograd_stepper``).

    Raises TypeError for arguments that are not a function with inputs, a Graph or graph data, ValueError for
    an unknown mode, KeyError for a ``wrt`` that is not an input, and what tracing raises for the function.
    """

    _esm = _HERE / "stepper.js"
    _css = _HERE / "stepper.css"

    svg = traitlets.Unicode("").tag(sync=True)
    table = traitlets.Unicode("").tag(sync=True)
    steps = traitlets.List([]).tag(sync=True)
    initial = traitlets.List([]).tag(sync=True)
    heading = traitlets.Unicode("").tag(sync=True)
    intro = traitlets.Unicode("").tag(sync=True)
    mode = traitlets.Unicode("forward").tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    speed = traitlets.Float(2.0).tag(sync=True)

    def __init__(
        self,
        fn_or_graph: Any,
        *inputs: Any,
        mode: str = "forward",
        wrt: Any = 0,
        compare: Any = None,
        title: str | None = None,
        autograd: Mapping[int, str] | None = None,
        **kwargs: Any,
    ):
        view = StepperView(
            fn_or_graph, *inputs, mode=mode, wrt=wrt, compare=compare, title=title, autograd=autograd
        )
        self.graph = view.graph
        self.graph_layout = view.graph_layout
        self.marks = view.marks
        self.checks = view.checks
        self._data = view._data
        self._names = view._names
        super().__init__(**view.state, **kwargs)

    @traitlets.validate("step")
    def _valid_step(self, proposal: Any) -> int:
        k = proposal["value"]
        if not 0 <= k <= len(self.steps):
            raise traitlets.TraitError(f"step {k} is outside 0..{len(self.steps)} for this {self.mode} pass")
        return k

    # -- driving it from Python (and from tests) -------------------------------------------------------------
    @property
    def n_steps(self) -> int:
        return len(self.steps)

    def next(self) -> GraphStepper:
        """Take one step (stays at the last step)."""
        self.step = min(self.step + 1, len(self.steps))
        return self

    def previous(self) -> GraphStepper:
        """Undo one step (stays at the start)."""
        self.step = max(self.step - 1, 0)
        return self

    def reset(self) -> GraphStepper:
        self.step = 0
        return self

    def go(self, k: int) -> GraphStepper:
        """Jump to after step `k` (0 = nothing computed). Raises TraitError outside 0..n_steps."""
        self.step = k
        return self

    @property
    def current(self) -> dict | None:
        """The record of the step just taken (see widgets/steps.py), or None at the start."""
        return self.steps[self.step - 1] if self.step else None

    @property
    def highlighted(self) -> dict:
        """What the current step lights up: ``{"node": name, "reads": [names], "edges": [edge ids]}``."""
        step = self.current
        if step is None:
            return {"node": None, "reads": [], "edges": []}
        return {
            "node": self._names[step["node"]],
            "reads": [self._names[r] for r in step["reads"]],
            "edges": list(step["edges"]),
        }

    def labels(self) -> dict[str, dict[str, str]]:
        """What every node shows now: name -> ``{"value", "derivative", "state"}``."""
        shown = labels_at(self.initial, self.steps, self.step)
        return {
            self._names[nid]: {"value": t[SLOT_VALUE], "derivative": t[SLOT_DERIV], "state": t[SLOT_STATE]}
            for nid, t in shown.items()
        }

    # -- the kernel-free form -------------------------------------------------------------------------------
    def to_html(self) -> str:
        """The self-contained HTML snippet of this stepper (see `StepperView.to_html`), starting at the
        widget's current step."""
        state = {k: getattr(self, k) for k in ("svg", "table", "steps", "initial", "heading", "intro", "mode")}
        return standalone_html(state, step=self.step, speed=self.speed)

    def save_html(self, path: str | Path) -> Path:
        """Write a complete HTML page holding `to_html()`; returns the path."""
        path = Path(path)
        path.write_text(
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(self.heading)}</title>'
            f"</head><body>{self.to_html()}</body></html>\n",
            encoding="utf-8",
        )
        return path

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = dict(data or {})
        data["text/html"] = self.to_html()
        return data, metadata
