"""GraphStepper driven from Python: its steps, the values every node shows, what each step highlights.

Expected numbers come from the closed-form derivatives of the course's functions (or from the course text),
never
from the engine under test. Values are shown to 6 significant digits, so they are compared with rel=5e-6.
"""

import math

import pytest
import traitlets
from seed_functions import SEED_POINT, seed_function

from autodiff_course.checks.result import CheckResult
from autodiff_course.widgets import GraphStepper
from autodiff_course.widgets.stepper import STANDALONE_MARKER

X0, X1, X2 = SEED_POINT
SHOWN = 5e-6  # relative rounding of a number printed to 6 significant digits


def _number(text: str) -> float:
    return float(text.rsplit("=", 1)[1])


def _final(w: GraphStepper) -> dict:
    w.go(w.n_steps)
    return w.labels()


def test_reverse_mode_steps_forward_pass_then_seed_then_one_step_per_edge(seed_graph):
    w = GraphStepper(seed_graph, mode="reverse")
    assert w.n_steps == 9 + 1 + 10
    titles = [s["title"] for s in w.steps]
    assert all(t.startswith("Forward pass") for t in titles[:9])
    assert titles[9] == "Reverse pass: seed the output's adjoint vbar8"
    assert all(t.startswith("Reverse pass: edge") for t in titles[10:])


def test_reverse_pass_ends_with_the_adjoints_of_the_seed_function(seed_graph):
    shown = _final(GraphStepper(seed_graph, mode="reverse"))
    expected = {
        "v0": math.cos(X0) - X1 * math.sin(X0),
        "v1": math.cos(X0) + 1 / X2,
        "v2": -X1 / X2**2,
        "v3": 1.0,
        "v4": X1,
        "v5": 1.0,
        "v6": 1.0,
        "v7": 1.0,
        "v8": 1.0,
    }
    for name, value in expected.items():
        text = shown[name]["derivative"]
        assert text.startswith(f"vbar{name[1:]} = ")
        assert _number(text) == pytest.approx(value, rel=SHOWN), name
        assert shown[name]["state"] == "done"
    assert _number(shown["v5"]["value"]) == pytest.approx(X1 * math.cos(X0), rel=SHOWN)


def test_an_adjoint_visibly_sums_its_paths(seed_graph):
    w = GraphStepper(seed_graph, mode="reverse")
    into_v0 = [k + 1 for k, s in enumerate(w.steps) if s["title"].startswith("Reverse") and s["node"] == 0]
    assert [w.steps[k - 1]["title"].split(", ")[1] for k in into_v0] == [
        "path 1 of 2 into vbar0",
        "path 2 of 2 into vbar0",
    ]
    w.go(into_v0[0])
    # v4 = cos(v0) is processed before v3 = sin(v0): first vbar4 * (-sin v0), with vbar4 = x1.
    assert _number(w.labels()["v0"]["derivative"]) == pytest.approx(-X1 * math.sin(X0), rel=SHOWN)
    assert w.labels()["v0"]["state"] == "der"
    assert "vbar0 += vbar4 * dv4/dv0" in w.current["lines"]
    assert "dv4/dv0 = -sin(v0) = -0.973848" in w.current["lines"]
    w.go(into_v0[1])
    assert "vbar0 is complete: all 2 paths summed" in w.current["lines"]
    assert w.labels()["v0"]["state"] == "done"


def test_worked_example_adjoints_match_the_course_text(worked_graph):
    shown = _final(GraphStepper(worked_graph, mode="reverse"))
    course = {
        "v0": -0.7734141034699129,
        "v1": -0.5337613269265994,
        "v2": 1.708036246165118,
        "v3": -0.2272020946930871,
        "v4": 1,
        "v5": 1.35,
        "v6": 1,
        "v7": 1,
    }
    for name, value in course.items():
        assert _number(shown[name]["derivative"]) == pytest.approx(value, rel=SHOWN), name
    assert _number(shown["v7"]["value"]) == pytest.approx(1.810277188777007, rel=SHOWN)


def test_reverse_step_highlights_the_edge_and_the_node_it_reads(seed_graph):
    w = GraphStepper(seed_graph, mode="reverse")
    k = next(i + 1 for i, s in enumerate(w.steps) if s["title"].startswith("Reverse pass: edge v2 \u2192 v6"))
    w.go(k)
    assert w.highlighted == {"node": "v2", "reads": ["v6"], "edges": ["e6_1"]}
    assert "dv6/dv2 = -v1/v2^2 = -4.89796" in w.current["lines"]  # -2.4 / 0.49


def test_forward_mode_computes_values_and_tangents_node_by_node(seed_graph):
    w = GraphStepper(seed_graph, mode="forward", wrt=0)
    assert w.n_steps == 9
    w.go(6)
    assert w.highlighted == {"node": "v5", "reads": ["v1", "v4"], "edges": ["e5_0", "e5_1"]}
    line = w.current["lines"][1]
    assert line.startswith("dv5 = dv1 * v4 + dv4 * v1 = 0 * (-0.227202) + (-0.973848) * 2.4 = ")
    assert _number(line) == pytest.approx(-X1 * math.sin(X0), rel=SHOWN)
    assert w.labels()["v6"] == {"value": "", "derivative": "", "state": ""}  # not computed yet
    assert _number(_final(w)["v8"]["derivative"]) == pytest.approx(
        math.cos(X0) - X1 * math.sin(X0), rel=SHOWN
    )


def test_forward_mode_with_respect_to_another_input_by_name(seed_graph):
    w = GraphStepper(seed_graph, mode="forward", wrt="x1")
    shown = _final(w)
    assert _number(shown["v8"]["derivative"]) == pytest.approx(math.cos(X0) + 1 / X2, rel=SHOWN)
    assert w.steps[1]["lines"][1] == "dv1 = 1 (the seed: we differentiate with respect to x1)"
    assert w.steps[0]["lines"][1] == "dv0 = 0 (v0 does not depend on x1)"


def test_constants_are_shown_from_the_start_and_take_no_steps_or_adjoints():
    def scaled_square(x):
        a = x * x
        b = 3.0 * a
        c = b + 1.0
        return c

    for mode, n_steps in (("forward", 4), ("reverse", 4 + 1 + 4)):  # x * x is two edges
        w = GraphStepper(scaled_square, 2.0, mode=mode)
        assert w.n_steps == n_steps, mode
        assert w.labels()["3"] == {"value": "= 3", "derivative": "", "state": "val"}
        shown = _final(w)
        assert shown["3"]["derivative"] == "" and shown["1"]["derivative"] == ""
        assert _number(shown["x" if mode == "reverse" else "c"]["derivative"]) == 12.0  # d(3x^2+1)/dx = 6x
    assert GraphStepper(scaled_square, 2.0).steps[2]["lines"][1] == "db = da * 3 = 4 * 3 = 12"


def test_stepper_traces_a_plain_function_and_graph_stepper_delegates(seed_graph):
    w = GraphStepper(seed_function, *SEED_POINT, mode="reverse")
    assert w.heading.startswith("seed_function(1.8, 2.4, 0.7)")
    assert _final(w) == _final(seed_graph.stepper(mode="reverse"))


def test_navigation_stays_in_range_and_rejects_steps_outside_it(seed_graph):
    w = GraphStepper(seed_graph, mode="reverse")
    assert w.previous().step == 0 and w.current is None
    assert w.next().next().step == 2
    w.go(w.n_steps)
    assert w.next().step == w.n_steps
    assert w.reset().step == 0 and all(v["value"] == "" for v in w.labels().values())
    with pytest.raises(traitlets.TraitError, match="step 21 is outside 0..20"):
        w.go(21)


def test_compare_view_marks_wrong_values_and_the_culprit_from_a_dict(seed_graph):
    received = {"v3": math.sin(X0), "v4": 1.2, "v5": 2.88}
    w = GraphStepper(seed_graph, mode="forward", compare={"culprit": "v4", "received": received})
    assert w.marks == {4: "culprit", 5: "wrong"}
    assert 'class="adc-node adc-op-cos adc-mark-culprit"' in w.svg
    assert "adc-mark-wrong" in w.svg and w.svg.count("adc-mark-") == 2
    w.go(5)
    assert w.current["lines"][-1] == "expected v4 = -0.227202, yours = 1.2 \u2717 differs"
    w.go(4)
    assert w.current["lines"][-1] == "expected v3 = 0.973848, yours = 0.973848 \u2713 matches"


def test_compare_view_reads_a_check_result_with_adjoint_names(seed_graph):
    result = CheckResult(
        exercise="reverse",
        kind="reverse",
        status="failed",
        passed=False,
        score=0.5,
        culprit="vbar4",
        received={"vbar4": 2.0, "vbar3": 1.0},
    )
    w = GraphStepper(seed_graph, mode="reverse", compare=result)
    assert w.marks == {4: "culprit"}
    k = next(i + 1 for i, s in enumerate(w.steps) if s["check"] and s["check"]["name"] == "vbar4")
    w.go(k)
    assert w.current["lines"][-1] == "expected vbar4 = 2.4, yours = 2 \u2717 differs"
    assert {c["name"]: c["ok"] for c in w.checks} == {"vbar4": False, "vbar3": True}


def test_mime_bundle_carries_the_widget_view_and_a_self_contained_html_form(seed_graph):
    w = GraphStepper(seed_graph, mode="reverse")
    data, _ = w._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    html = data["text/html"]
    assert STANDALONE_MARKER in html and "<svg" in html and "__adcWidget.render" in html
    assert "export default" not in html  # a classic inline script cannot hold a module export
    # No CDN, no fetch: the only URLs are XML namespaces.
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")
    assert (
        html.count("vbar0 = ") >= 1
        and "</script" not in html.split("application/json")[1].split("</script>")[0]
    )


def test_bad_arguments_are_errors_that_say_what_to_do(seed_graph):
    with pytest.raises(TypeError, match=r"GraphStepper\(seed_function, 1.8, 2.4, 0.7\)"):
        GraphStepper(seed_function)
    with pytest.raises(ValueError, match="'sideways'"):
        GraphStepper(seed_graph, mode="sideways")
    with pytest.raises(KeyError, match="v5, which is not an input"):
        GraphStepper(seed_graph, mode="forward", wrt="v5")
    with pytest.raises(TypeError, match="not with a Graph"):
        GraphStepper(seed_graph, 1.0)
