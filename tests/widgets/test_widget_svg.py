"""graph_svg: a self-contained static SVG of a graph, with highlights and marks, for places no widget runs."""

import xml.etree.ElementTree as ET

import pytest

from autodiff_course.widgets.svg import graph_to_svg

SVG = "{http://www.w3.org/2000/svg}"


def _nodes(svg: str) -> dict:
    root = ET.fromstring(svg)
    return {
        g.get("data-name"): g for g in root.iter(SVG + "g") if "adc-node" in (g.get("class") or "").split()
    }


def test_svg_is_well_formed_and_self_contained(seed_graph):
    svg = graph_to_svg(seed_graph)
    root = ET.fromstring(svg)  # raises on malformed markup
    assert root.tag == SVG + "svg"
    assert set(_nodes(svg)) == {f"v{i}" for i in range(9)}
    assert len([p for p in root.iter(SVG + "path") if p.get("class") == "adc-edge"]) == 10
    # Nothing fetched from elsewhere, and no <style> that would leak into the page around it.
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<style" not in svg and "<script" not in svg


def test_nodes_show_name_operation_and_value(seed_graph):
    v5 = _nodes(graph_to_svg(seed_graph))["v5"]
    texts = {t.get("class"): t.text for t in v5.iter(SVG + "text")}
    assert texts["adc-name"] == "v5" and texts["adc-opl"] == "v1 * v4" and texts["adc-val"] == "= -0.545285"
    assert (
        _nodes(graph_to_svg(seed_graph, values=False))["v5"].find(SVG + "text[@class='adc-val']").text is None
    )


def test_marks_colour_wrong_nodes_and_badge_the_culprit(seed_graph):
    svg = graph_to_svg(seed_graph, marks={"v4": "culprit", "v5": "wrong"}, highlight=["v0", "v3"])
    nodes = _nodes(svg)
    box = {name: g.find(SVG + "rect") for name, g in nodes.items()}
    assert box["v4"].get("stroke") == "#a31515" and float(box["v4"].get("stroke-width")) > 3
    assert box["v5"].get("stroke") == "#c62828"
    assert box["v0"].get("stroke") == "#e07b00" and box["v3"].get("stroke") == "#e07b00"
    assert box["v1"].get("stroke") == "#6b7a89"
    assert "culprit" in "".join(nodes["v4"].itertext()) and "culprit" not in "".join(nodes["v5"].itertext())
    lit = [p for p in ET.fromstring(svg).iter(SVG + "path") if p.get("stroke") == "#e07b00"]
    assert [p.get("data-edge") for p in lit] == ["e3_0"]  # only the edge between two highlighted nodes


def test_marks_and_highlights_accept_the_input_argument_names(seed_graph):
    svg = graph_to_svg(seed_graph, highlight=["x0"], marks={"x1": "ok"})
    box = {n: g.find(SVG + "rect").get("stroke") for n, g in _nodes(svg).items()}
    assert box["v0"] == "#e07b00" and box["v1"] == "#2e7d32"


def test_unknown_nodes_and_marks_are_errors_that_name_them(seed_graph):
    with pytest.raises(KeyError, match="'v42'.*v0, v1"):
        graph_to_svg(seed_graph, highlight=["v42"])
    with pytest.raises(ValueError, match="'purple' for node 'v3'"):
        graph_to_svg(seed_graph, marks={"v3": "purple"})


def test_two_svgs_on_one_page_do_not_share_marker_ids(seed_graph):
    a, b = graph_to_svg(seed_graph), graph_to_svg(seed_graph)
    ids = lambda s: {m.get("id") for m in ET.fromstring(s).iter(SVG + "marker")}  # noqa: E731
    assert ids(a) and not ids(a) & ids(b)


def test_graph_repr_html_is_this_svg(seed_graph):
    html = seed_graph._repr_html_()
    assert set(_nodes(html)) == {f"v{i}" for i in range(9)}


def test_svg_scales_to_the_width_it_is_given_between_min_scale_and_natural_size(seed_graph):
    from autodiff_course.widgets.layout import layout_graph
    from autodiff_course.widgets.svg import MIN_SCALE

    root = ET.fromstring(graph_to_svg(seed_graph))
    width = layout_graph(seed_graph.to_dict())["width"]
    assert root.get("viewBox") == f"0 0 {width:.0f} {root.get('height')}"
    style = dict(part.split(":", 1) for part in root.get("style").split(";"))
    # Fills its container but never grows past its natural size nor shrinks below MIN_SCALE of it (below that
    # it scrolls): the browser tests check the result on screen.
    assert style["width"] == "100%"
    assert style["max-width"] == f"{width:.0f}px"
    assert style["min-width"] == f"{width * MIN_SCALE:.0f}px"
    assert 0.6 <= MIN_SCALE < 1
