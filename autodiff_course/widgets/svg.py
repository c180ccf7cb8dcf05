"""A static, self-contained SVG of a computational graph: for GitHub, PDF, nbgrader feedback and anywhere else
no widget runs.

Colours are SVG presentation attributes, not a `<style>` element: a `<style>` inside inline SVG applies to the
whole HTML page it lands in, and some renderers (GitHub's sanitiser, e-mail clients) drop it. Presentation
attributes have the lowest precedence in CSS, so the browser widget, which shows this very SVG, restyles the
nodes per step with class rules and no attribute rewriting.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from .layout import graph_data, layout_graph

__all__ = ["graph_to_svg", "resolve_node", "MARK_KINDS", "MIN_SCALE"]

MIN_SCALE = 0.7  # smallest scale a graph is drawn at: 13 px labels stay above 9 px

MARK_KINDS = ("ok", "wrong", "culprit")

# (fill, stroke, stroke-width) per look; the widget's CSS mirrors these in stepper.css.
_BOX = {
    "plain": ("#ffffff", "#6b7a89", 1.2),
    "input": ("#eef4fb", "#6b7a89", 1.2),
    "highlight": ("#fff3df", "#e07b00", 2.6),
    "ok": ("#e9f6ea", "#2e7d32", 1.8),
    "wrong": ("#fde9e9", "#c62828", 2.2),
    "culprit": ("#f9c7c7", "#a31515", 3.4),
}
_DASH = {"wrong": ' stroke-dasharray="5 3"'}
_BADGE = {"culprit": ("culprit", 62), "wrong": ("wrong", 50)}
_EDGE = {"plain": ("#9aa6b2", 1.3), "highlight": ("#e07b00", 2.6)}
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
_MONO = "ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace"


def resolve_node(data: Mapping, key: Any) -> int:
    """The id of the node of graph data `data` named `key` (its `name` or any of its `names`) or with id
    `key`.

    Raises KeyError naming `key` and the graph's node names when no node matches.
    """
    for node in data["nodes"]:
        if (
            key == node["id"]
            and not isinstance(key, bool)
            or key == node["name"]
            or key in node.get("names", ())
        ):
            return node["id"]
    known = ", ".join(n["name"] for n in data["nodes"])
    raise KeyError(f"no node {key!r} in the graph (its nodes are {known})")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def graph_to_svg(
    graph: Any,
    highlight: Iterable[Any] | None = None,
    marks: Mapping[Any, str] | None = None,
    *,
    values: bool = True,
    title: str | None = None,
    layout: Mapping | None = None,
    id_prefix: str | None = None,
) -> str:
    """Inline SVG markup of `graph` (a `Graph` or its `to_dict()` data), laid out by `graph_layout`.

    `highlight`: nodes (names or ids) drawn in the highlight colour; edges between two highlighted nodes too.
    `marks`: node (name or id) -> one of `MARK_KINDS`, e.g. `{"v4": "culprit", "v5": "wrong"}`; a culprit also
    gets a "culprit" badge. `values`: print each node's value. `layout`: a precomputed `layout_graph(graph)`.
    `id_prefix`: prefix of the ids inside the SVG (unique per call by default, so two SVGs on one page never
    share arrowhead markers). Raises KeyError for a highlighted or marked node the graph does not have and
    ValueError for an unknown mark kind.
    """
    data = graph_data(graph)
    lay = layout if layout is not None else layout_graph(data)
    prefix = id_prefix or "adc" + uuid.uuid4().hex[:10]
    lit = {resolve_node(data, k) for k in (highlight or ())}
    marked: dict[int, str] = {}
    for key, kind in (marks or {}).items():
        if kind not in MARK_KINDS:
            raise ValueError(f"mark {kind!r} for node {key!r} is not one of {', '.join(MARK_KINDS)}")
        marked[resolve_node(data, key)] = kind

    width, height = lay["width"], lay["height"]
    # Scales with the width it is given (viewBox + width 100%), never above its natural size and never below
    # MIN_SCALE of it, where 13 px labels would turn unreadable: a wider graph scrolls sideways instead (the
    # widget's scroll box, or the output area). The width/height attributes are the fallback where a sanitiser
    # drops the style attribute.
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="adc-graph" width="{width:.0f}" '
        f'height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{_e(_FONT)}" role="img" '
        f'aria-label="{_e(title or "computational graph")}" '
        f'style="width:100%;max-width:{width:.0f}px;min-width:{width * MIN_SCALE:.0f}px;height:auto">',
    ]
    if title:
        out.append(f"<title>{_e(title)}</title>")
    out.append("<defs>")
    for look, (colour, _) in _EDGE.items():
        out.append(
            f'<marker id="{prefix}-arrow-{look}" viewBox="0 0 10 10" refX="9" refY="5" '
            f'markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        )
    out.append("</defs>")

    out.append('<g class="adc-edges">')
    for edge in lay["edges"]:
        look = "highlight" if edge["src"] in lit and edge["dst"] in lit else "plain"
        colour, stroke_width = _EDGE[look]
        out.append(
            f'<path class="adc-edge" data-edge="{edge["id"]}" data-src="{edge["src"]}" '
            f'data-dst="{edge["dst"]}" '
            f'd="{edge["path"]}" fill="none" stroke="{colour}" stroke-width="{stroke_width}" '
            f'marker-end="url(#{prefix}-arrow-{look})"/>'
        )
    out.append("</g>")

    out.append('<g class="adc-nodes">')
    for node in lay["nodes"]:
        nid = node["id"]
        mark = marked.get(nid)
        look = mark or ("highlight" if nid in lit else "input" if node["op"] == "input" else "plain")
        fill, stroke, stroke_width = _BOX[look]
        if node["output"] and look in ("plain", "input"):
            stroke_width = 2.4  # the output is the node a student reads the answer from
        classes = f"adc-node adc-op-{_e(node['op'])}" + (" adc-output" if node["output"] else "")
        classes += f" adc-mark-{mark}" if mark else ""
        classes += " adc-lit" if nid in lit else ""
        w, h = node["w"], node["h"]
        tooltip = (
            f"{node['label']} = {node['op_label']}" if node["op"] not in ("input", "const") else node["label"]
        )
        if values and node["value_text"]:
            tooltip += f"\nvalue {node['value_text']}"
        cx = w / 2
        out.append(
            f'<g class="{classes}" data-node="{nid}" data-name="{_e(node["name"])}" '
            f'transform="translate({node["x"]:.1f},{node["y"]:.1f})">'
            f"<title>{_e(tooltip)}</title>"
            f'<rect class="adc-box" width="{w}" height="{h}" rx="9" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{stroke_width}"{_DASH.get(mark, "")}/>'
            f'<text class="adc-name" x="{cx}" y="17" text-anchor="middle" font-size="13" font-weight="600" '
            f'fill="#1d2733">{_e(_clip(node["label"], 20))}</text>'
            f'<text class="adc-opl" x="{cx}" y="33" text-anchor="middle" font-size="11.5" '
            f'font-family="{_e(_MONO)}" fill="#4b5968">{_e(_clip(node["op_label"], 21))}</text>'
            f'<text class="adc-val" x="{cx}" y="50" text-anchor="middle" font-size="12" fill="#1d2733">'
            f"{_e('= ' + node['value_text']) if values and node['value_text'] else ''}</text>"
            f'<text class="adc-der" x="{cx}" y="66" text-anchor="middle" font-size="12" '
            f'fill="#5a2d91"></text>'
        )
        if mark in _BADGE:
            # Said in words as well as in colour and outline (dashed for wrong, thick for the culprit).
            word, badge_w = _BADGE[mark]
            out.append(
                f'<g class="adc-badge adc-badge-{mark}"><rect x="{w - badge_w + 4}" y="-10" width="{badge_w}" '
                f'height="17" rx="8" fill="#a31515"/>'
                f'<text x="{w - badge_w / 2 + 4}" y="3" text-anchor="middle" font-size="11" font-weight="700" '
                f'fill="#ffffff">{word}</text></g>'
            )
        out.append("</g>")
    out.append("</g></svg>")
    return "".join(out)
