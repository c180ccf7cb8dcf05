"""graph_layout: a layered left-to-right layout computed in Python, fast enough for 500-node graphs."""

import re

import pytest

from autodiff_course.widgets.layout import NODE_HEIGHT, NODE_WIDTH, ROW_GAP, format_value, layout_graph
from autodiff_course.widgets.samples import wide_graph


def _hand_graph():
    # y = sin(x0) + x1 cos(x0) + x1/x2, written as the plain data of docs/architecture.md.
    def node(i, name, op, inputs, names=None):
        return {
            "id": i,
            "name": name,
            "names": names or [name],
            "op": op,
            "inputs": inputs,
            "value": 0.5,
            "shape": [],
            "line": None,
            "source": None,
            "params": {},
        }

    nodes = [
        node(0, "v0", "input", [], ["x0", "v0"]),
        node(1, "v1", "input", [], ["x1", "v1"]),
        node(2, "v2", "input", [], ["x2", "v2"]),
        node(3, "v3", "sin", [0]),
        node(4, "v4", "cos", [0]),
        node(5, "v5", "mul", [1, 4]),
        node(6, "v6", "div", [1, 2]),
        node(7, "v7", "add", [3, 5]),
        node(8, "v8", "add", [6, 7]),
    ]
    return {"format": "autodiff-course.graph/1", "inputs": [0, 1, 2], "outputs": [8], "nodes": nodes}


def test_layers_run_from_inputs_to_output_by_longest_path():
    lay = layout_graph(_hand_graph())
    layer = {n["name"]: n["layer"] for n in lay["nodes"]}
    assert layer == {"v0": 0, "v1": 0, "v2": 0, "v3": 1, "v4": 1, "v6": 1, "v5": 2, "v7": 3, "v8": 4}
    x = {n["name"]: n["x"] for n in lay["nodes"]}
    assert x["v0"] < x["v3"] < x["v5"] < x["v7"] < x["v8"]


def test_every_operand_is_one_edge_pointing_right_with_its_own_port():
    lay = layout_graph(_hand_graph())
    edges = {(e["src"], e["dst"], e["k"]) for e in lay["edges"]}
    assert edges == {
        (0, 3, 0),
        (0, 4, 0),
        (1, 5, 0),
        (4, 5, 1),
        (1, 6, 0),
        (2, 6, 1),
        (3, 7, 0),
        (5, 7, 1),
        (6, 8, 0),
        (7, 8, 1),
    }
    at = {n["id"]: n for n in lay["nodes"]}
    for e in lay["edges"]:
        points = [tuple(map(float, p)) for p in re.findall(r"(-?[\d.]+),(-?[\d.]+)", e["path"])]
        start, end = points[0], points[-1]
        assert start[0] == pytest.approx(at[e["src"]]["x"] + NODE_WIDTH, abs=0.06)
        assert end[0] == pytest.approx(at[e["dst"]]["x"] - 2, abs=0.06)
    ports = {e["k"]: e["path"].rsplit(",", 1)[1] for e in lay["edges"] if e["dst"] == 6}
    assert float(ports[0]) < float(ports[1])  # v1 / v2: the numerator enters above the denominator


def test_nodes_of_a_layer_never_overlap_even_on_500_nodes():
    lay = layout_graph(wide_graph(500))
    by_layer = {}
    for n in lay["nodes"]:
        by_layer.setdefault(n["layer"], []).append(n["y"])
    for ys in by_layer.values():
        ys.sort()
        # Coordinates are whole pixels, so a gap may lose up to 1 px to rounding.
        assert all(b - a >= NODE_HEIGHT + ROW_GAP - 1 for a, b in zip(ys, ys[1:], strict=False))
    assert all(0 <= n["y"] and n["y"] + NODE_HEIGHT <= lay["height"] for n in lay["nodes"])
    assert all(n["x"] + NODE_WIDTH <= lay["width"] for n in lay["nodes"])


def test_long_edges_run_in_lanes_not_behind_nodes():
    # v0 -> v7 spans three layers; its lane points (the L segments) must clear every node of those layers.
    data = _hand_graph()
    data["nodes"][7]["inputs"] = [0, 5]
    lay = layout_graph(data)
    edge = next(e for e in lay["edges"] if e["dst"] == 7 and e["k"] == 0)
    lanes = [tuple(map(float, m)) for m in re.findall(r"L(-?[\d.]+),(-?[\d.]+)", edge["path"])]
    assert len(lanes) == 2  # one lane in each of layers 1 and 2
    for lx, ly in lanes:
        for n in lay["nodes"]:
            if n["x"] <= lx <= n["x"] + NODE_WIDTH:
                assert not n["y"] <= ly <= n["y"] + NODE_HEIGHT, (n["name"], ly)


def test_labels_carry_the_students_names_operation_and_value(seed_graph):
    lay = layout_graph(seed_graph)
    v0 = lay["nodes"][0]
    v5 = next(n for n in lay["nodes"] if n["name"] == "v5")
    assert (v0["label"], v0["op_label"], v0["value_text"]) == ("v0 (x0)", "input", "1.8")
    assert v5["op_label"] == "v1 * v4"
    assert v5["value_text"] == "-0.545285"  # 2.4 * cos(1.8) = -0.5452850272..., to 6 significant digits
    assert [n["output"] for n in lay["nodes"]].count(True) == 1 and lay["nodes"][-1]["output"]


def test_data_out_of_topological_order_is_refused_naming_the_node():
    data = _hand_graph()
    data["nodes"][3]["inputs"] = [5]
    with pytest.raises(ValueError, match=r"'v3'.*reads node id 5"):
        layout_graph(data)
    with pytest.raises(ValueError, match="format"):
        layout_graph({"format": "something/2", "nodes": []})


def test_format_value_keeps_six_significant_digits_and_summarises_arrays():
    assert format_value(-0.7734141034699129) == "-0.773414"
    assert format_value(2.0) == "2" and format_value(-0.0) == "0"
    assert format_value([1.0, 2.5]) == "[1, 2.5]"
    assert format_value([[0.0] * 5] * 5) == "array 5\u00d75"
