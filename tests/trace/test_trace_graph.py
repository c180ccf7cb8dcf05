"""Tracing a student's plain function into a named graph, and the graph's plain-data round trip."""

import json
import math
import re

import numpy as np
import pytest
from seed_functions import seed_function
from seed_functions import seed_function_math_style as math_style

import autodiff_course as ad
from autodiff_course.engine.errors import TraceError


def expected_adjoints(x0, x1, x2):
    # Derived by hand from y = sin(x0) + x1 cos(x0) + x1/x2.
    return {
        "v0": math.cos(x0) - x1 * math.sin(x0),
        "v1": math.cos(x0) + 1 / x2,
        "v2": -x1 / x2**2,
        "v3": 1.0, "v4": x1, "v5": 1.0, "v6": 1.0, "v7": 1.0, "v8": 1.0,
    }


def test_nodes_are_named_by_the_students_own_variables_in_order():
    g = ad.trace(seed_function, 1.8, 2.4, 0.7)
    assert [n.name for n in g.nodes] == [f"v{i}" for i in range(9)]
    assert g.node("v0").names == ["x0", "v0"]
    assert [n.op for n in g.nodes] == ["input"] * 3 + ["sin", "cos", "mul", "div", "add", "add"]
    assert g.node("v5").inputs == (g.node("v1").id, g.node("v4").id)


def test_each_node_records_the_line_and_source_that_made_it():
    g = ad.trace(seed_function, 1.8, 2.4, 0.7)
    v5 = g.node("v5")
    assert v5.source == "v5 = v1 * v4"
    assert v5.line == seed_function.__code__.co_firstlineno + 6
    assert g.equation(v5.id) == "v5 = v1 * v4"


def test_values_and_every_adjoint_match_the_hand_derivation():
    x = (1.8, 2.4, 0.7)
    g = ad.trace(seed_function, *x)
    assert g.value("v8") == pytest.approx(math.sin(1.8) + 2.4 * math.cos(1.8) + 2.4 / 0.7, rel=1e-15)
    adj = g.adjoints()
    for name, want in expected_adjoints(*x).items():
        assert adj[g.node(name).id] == pytest.approx(want, rel=1e-14), name


def test_tangents_match_the_adjoints_of_the_inputs():
    g = ad.trace(seed_function, 1.8, 2.4, 0.7)
    adj = g.adjoints()
    for k, name in enumerate(["v0", "v1", "v2"]):
        assert g.tangents(k)[g.outputs[0]] == pytest.approx(adj[g.node(name).id], rel=1e-14)


def test_math_module_functions_are_traced_like_numpy_ones():
    a = ad.trace(math_style, 1.8, 2.4, 0.7)
    b = ad.trace(seed_function, 1.8, 2.4, 0.7)
    assert [n.op for n in a.nodes] == [n.op for n in b.nodes]
    assert a.adjoints() == b.adjoints()


def test_local_partials_are_the_derivatives_a_student_writes():
    g = ad.trace(seed_function, 1.8, 2.4, 0.7)
    assert g.local_partials(g.node("v5").id) == (g.value("v4"), 2.4)
    assert g.local_partials(g.node("v4").id)[0] == pytest.approx(-math.sin(1.8), rel=1e-15)
    assert g.local_partials(g.node("v6").id)[1] == pytest.approx(-2.4 / 0.7**2, rel=1e-15)


def test_an_operation_no_variable_holds_is_an_unnamed_node_on_its_line():
    def squashed(x0, x1):
        v0 = x0
        v1 = x1
        v2 = v1 * np.cos(v0)
        return v2

    g = ad.trace(squashed, 0.5, 2.0)
    cos_node = next(n for n in g.nodes if n.op == "cos")
    assert cos_node.names == [] and cos_node.name.startswith("_t")
    assert cos_node.source == "v2 = v1 * np.cos(v0)"


def test_constants_become_const_nodes_that_are_not_variables():
    def f(x):
        v1 = x ** 2
        return v1

    g = ad.trace(f, 3.0)
    assert [n.op for n in g.nodes] == ["input", "const", "pow"]
    assert [n.name for n in g.variables] == ["x", "v1"]
    assert g.adjoints()[0] == pytest.approx(6.0, rel=1e-15)


def test_python_if_on_a_traced_value_is_a_clear_error_naming_the_line():
    def branchy(x):
        if x > 0:
            return x * 2
        return x

    with pytest.raises(TraceError, match=r"line \d+ \(`if x > 0:`\).*comparison"):
        ad.trace(branchy, 1.0)


@pytest.mark.parametrize("line, named", [("if 1.0 < x:", "`<` or `>`"), ("if x >= 2.0:", "`<=` or `>=`")])
def test_a_mirrored_comparison_names_the_operator_written(line, named):
    # `1.0 < x` reaches x.__gt__ (Python mirrors what a float cannot compare): an outside review read "`>`" for
    # a line with only `<` in it.
    namespace = {}
    exec(compile(f"def branchy(x):\n    {line}\n        return x * 2\n    return x\n", "<cell>", "exec"), namespace)
    with pytest.raises(TraceError, match=f"a comparison \\({named}\\)"):
        ad.trace(namespace["branchy"], 3.0)


def test_float_of_a_traced_value_keeps_it_in_the_graph_and_int_is_refused():
    # float() and np.float64() do not change a number's value, so an honest `float(np.cos(v0))` is followed;
    # also inside a helper function the student wrote, and with math functions there.
    def helper(v):
        return math.cos(float(v))

    def honest(x):
        # isinstance still asks the real types while tracing
        assert isinstance(1.0, float) and isinstance(np.float64(1.0), np.float64) and not isinstance(x, float)
        return np.float64(x) * helper(x)

    g = ad.trace(honest, 0.5)
    assert g.adjoints()[g.inputs[0]] == pytest.approx(math.cos(0.5) - 0.5 * math.sin(0.5), rel=1e-15)

    def escapes(x):
        return ad.Scalar(int(x)) * 2

    with pytest.raises(TraceError, match="plain number"):
        ad.trace(escapes, 1.0)


def test_a_function_whose_output_does_not_depend_on_inputs_is_rejected():
    with pytest.raises(TraceError, match="does not depend on its inputs"):
        ad.trace(lambda x: 3.0, 1.0)


def test_plain_data_round_trip_recomputes_values_and_keeps_names():
    g = ad.trace(seed_function, 1.8, 2.4, 0.7)
    data = json.loads(json.dumps(g.to_dict()))
    h = ad.Graph.from_dict(data)
    assert [n.name for n in h.nodes] == [n.name for n in g.nodes]
    assert h.mismatches == []
    assert h.adjoints() == g.adjoints()


def test_from_dict_ignores_and_reports_forged_values():
    g = ad.trace(seed_function, 1.8, 2.4, 0.7)
    data = g.to_dict()
    data["nodes"][8]["value"] = 123.0
    h = ad.Graph.from_dict(data)
    assert h.mismatches == [8]
    assert h.value("v8") == pytest.approx(g.value("v8"), rel=1e-15)


def test_from_dict_rejects_unknown_primitives_and_forward_references():
    data = ad.trace(seed_function, 1.8, 2.4, 0.7).to_dict()
    bad = json.loads(json.dumps(data))
    bad["nodes"][3]["op"] = "os.system"
    with pytest.raises(ad.AutodiffError, match="unknown primitive"):
        ad.Graph.from_dict(bad)
    bad = json.loads(json.dumps(data))
    bad["nodes"][3]["inputs"] = [7]
    with pytest.raises(ad.AutodiffError, match="comes after it"):
        ad.Graph.from_dict(bad)


def test_tensor_functions_trace_with_shapes_and_round_trip():
    def layer(x, w):
        h = x @ w
        s = ad.sigmoid(h)
        loss = s.sum()
        return loss

    x = np.array([[0.1, 0.2], [0.3, -0.4]])
    w = np.array([[1.0], [-2.0]])
    g = ad.trace(layer, x, w)
    assert [n.name for n in g.nodes] == ["x", "w", "h", "s", "loss"]
    h = ad.Graph.from_dict(json.loads(json.dumps(g.to_dict())))
    np.testing.assert_allclose(h.adjoints()[1], g.adjoints()[1], rtol=1e-15)


def test_tracing_restores_any_previous_trace_function():
    import sys

    calls = []

    def outer_tracer(frame, event, arg):
        calls.append(event)
        return None

    sys.settrace(outer_tracer)
    try:
        ad.trace(seed_function, 1.0, 2.0, 3.0)
        assert sys.gettrace() is outer_tracer
    finally:
        sys.settrace(None)


def _median_seconds(f, repeats=3):
    import time

    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        f()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def _loop_answer(x0, x1, x2):
    s = 0.0
    for i in range(100_000):  # an honest answer may loop; tracing must not make each iteration slower
        s += i * 0.5
    v3 = np.sin(x0)
    v5 = x1 * np.cos(x0)
    return v3 + v5 + x1 / x2, s


def test_a_plain_python_loop_in_the_answer_costs_about_as_much_traced_as_untraced():
    from autodiff_course.graph.tracing import run_traced

    point = [1.8, 2.4, 0.7]
    untraced = _median_seconds(lambda: _loop_answer(*point))
    traced = _median_seconds(lambda: run_traced(_loop_answer, point))
    # A line tracer costs 70-170x here; the graph itself (5 operations) is microseconds.
    assert traced < 3 * untraced, (traced, untraced)


def test_names_are_read_without_a_line_tracer_and_no_trace_function_is_left_behind():
    import sys

    def aliased(x0, x1):
        a = x0 * x1
        b = a  # no operation on this line: the alias is still a name of the product
        c = b + x0
        d = c
        return d

    g = ad.trace(aliased, 2.0, 3.0)
    assert g.node("a").names == ["a", "b"] and g.node("c").names == ["c", "d"]
    assert sys.gettrace() is None


def test_a_graph_past_the_tracers_limit_stops_the_function_even_if_it_catches_everything():
    from autodiff_course.graph.tracing import GraphTooLarge, run_traced

    def swallowing(x0):
        t = x0
        for _ in range(10**4):
            try:
                t = t + 0.0 * x0
            except BaseException:  # noqa: BLE001 - a hostile answer hides the stop
                pass
        return t

    with pytest.raises(GraphTooLarge):
        run_traced(swallowing, [1.0], max_operations=100)


# -- every elementary function a student may reach for, in numpy's, math's and PyTorch's spellings -------------
# An outside review's answer: d tanh(u) = du / cosh(u)**2, the textbook form, in forward mode wrt x1; written
# with numpy's, math's and the engine's functions as a student's module-level code reads them.
def tangent_np(x0, x1):
    v2 = x0 * x1
    v3 = np.tanh(v2)
    t3 = x0 / np.cosh(v2) ** 2
    return v3 + x0 / x1, t3 - x0 / x1 ** 2


def tangent_math(x0, x1):
    v2 = x0 * x1
    v3 = math.tanh(v2)
    t3 = x0 / math.cosh(v2) ** 2
    return v3 + x0 / x1, t3 - x0 / x1 ** 2


def tangent_ad(x0, x1):
    v2 = x0 * x1
    v3 = ad.tanh(v2)
    t3 = x0 / ad.cosh(v2) ** 2
    return v3 + x0 / x1, t3 - x0 / x1 ** 2


@pytest.mark.parametrize("f", [tangent_np, tangent_math, tangent_ad], ids=["np", "math", "ad"])
def test_a_forward_answer_with_cosh_is_traced_and_passes(f):
    g = ad.trace(f, 0.8, -1.2)
    assert "cosh" in [n.op for n in g.nodes]
    result = ad.check_forward(f, "np.tanh(x0*x1) + x0/x1", wrt=1, test_points=[[0.8, -1.2], [-1.1, 0.6]])
    assert result.passed and result.score == 1.0, result.feedback


# (numpy name, math name or None, a point inside the domain): each traced, its derivative the engine's own.
ELEMENTARY = [
    ("sinh", "sinh", 0.7), ("cosh", "cosh", 0.7), ("arcsin", "asin", 0.3), ("arccos", "acos", 0.3),
    ("arctan", "atan", 0.7), ("log1p", "log1p", 0.7), ("expm1", "expm1", 0.7), ("log2", "log2", 0.7),
    ("log10", "log10", 0.7), ("exp2", "exp2", 0.7), ("cbrt", "cbrt", 0.7), ("sign", None, 0.7),
    ("sqrt", "sqrt", 0.7), ("tanh", "tanh", 0.7), ("abs", "fabs", -0.7),
]


@pytest.mark.parametrize("np_name, math_name, x", ELEMENTARY, ids=[e[0] for e in ELEMENTARY])
def test_numpy_and_math_spellings_of_each_elementary_function_trace_to_one_primitive(np_name, math_name, x):
    import torch

    # As a student's code calls them: through the modules in its globals (what tracing replaces).
    spellings = [f"np.{np_name}"]
    if math_name is not None and hasattr(math, math_name):  # math.cbrt and math.exp2 are Python 3.11's
        spellings.append(f"math.{math_name}")
    torch_fn = {"abs": torch.abs, "cbrt": lambda t: t.sign() * t.abs() ** (1 / 3)}.get(
        np_name, getattr(torch, {"arcsin": "asin", "arccos": "acos", "arctan": "atan"}.get(np_name, np_name),
                         None))
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    torch_fn(t * 1.5).backward()
    for spelling in spellings:
        g = ad.trace(eval(f"lambda x0: {spelling}(x0 * 1.5)", {"np": np, "math": math}), x)  # noqa: S307
        assert [n.op for n in g.nodes][-1] == np_name
        # tight: the same formula as PyTorch's (float64), a rounding or two apart
        assert g.adjoints()[g.inputs[0]] == pytest.approx(t.grad.item(), rel=1e-13, abs=1e-15), spelling


def test_arctan2_and_hypot_take_two_traced_arguments_in_numpys_order():
    import torch

    for np_fn, math_fn, torch_fn in ((np.arctan2, math.atan2, torch.atan2), (np.hypot, math.hypot, torch.hypot)):
        ty, tx = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.4, -1.3))
        torch_fn(ty, tx).backward()
        for spelling in (f"np.{np_fn.__name__}", f"math.{math_fn.__name__}"):
            g = ad.trace(eval(f"lambda y, x: {spelling}(y, x)", {"np": np, "math": math}), 0.4, -1.3)  # noqa: S307
            adj = g.adjoints()
            assert adj[g.inputs[0]] == pytest.approx(ty.grad.item(), rel=1e-14)
            assert adj[g.inputs[1]] == pytest.approx(tx.grad.item(), rel=1e-14)


def test_a_math_function_with_no_rule_is_named_in_the_message():
    def with_module(x):
        return math.erf(x) * 2

    imported = eval("lambda x: erf(x) * 2", {"erf": math.erf})  # noqa: S307 - `from math import erf`
    for f in (with_module, imported):
        with pytest.raises(TraceError, match=r"`math\.erf` has no derivative rule.*math\.cosh"):
            ad.trace(f, 0.5)
    assert with_module(0.5) == 2 * math.erf(0.5)  # outside a trace, math is math


def copysign_tangent(x0, x1):
    # Right values everywhere, through a math function with no rule (copysign of a value with itself is it).
    v2 = x0 * x1
    t6 = x0 / np.cosh(v2) ** 2 - x0 / x1 ** 2
    return np.tanh(v2) + x0 / x1, math.copysign(t6, t6)


def test_an_answer_right_at_every_point_that_cannot_be_followed_is_wrong_at_no_point():
    # The class report counted such answers "wrong there" at every hidden point: the trace, not the values,
    # failed. The message names the function.
    from autodiff_course.checks import collect, judge

    spec = {"id": "t", "kind": "forward", "function": "copysign_tangent", "reference": "np.tanh(x0*x1) + x0/x1",
            "args": ["x0", "x1"], "wrt": 1, "test_points": [[0.8, -1.2]],
            "hidden_points": [[0.3, 0.4], [1.1, 0.2]], "points": 3}
    result = judge(spec, collect(spec, {"copysign_tangent": copysign_tangent}))
    assert result.mistakes == ["cannot-follow"] and result.failed_at == []
    assert [r["ok"] for r in result.rows] == [True, True, False]
    assert "`math.copysign` has no derivative rule" in result.messages[0]


def test_the_readme_names_every_elementary_function_the_engine_has():
    from pathlib import Path

    from autodiff_course.engine.primitives import ELEMENTARY, ELEMENTARY_BINARY

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("The elementary functions, each one primitive")
    listed = " ".join(readme[start:start + 600].split())
    for name in (*ELEMENTARY, *ELEMENTARY_BINARY):
        assert re.search(rf"\b{name}\b", listed), name


def test_math_log_with_a_base_is_followed():
    g = ad.trace(lambda x: math.log(x, 2) + math.log(x), 3.0)
    assert g.value(g.outputs[0]) == pytest.approx(math.log(3.0, 2) + math.log(3.0), rel=1e-15)
    assert g.adjoints()[g.inputs[0]] == pytest.approx(1 / (3.0 * math.log(2)) + 1 / 3.0, rel=1e-14)


_CELL = '''
import math

RULES = {"sin": lambda v: math.sin(v), "cos": lambda v: math.cos(v)}


class Steps:
    @staticmethod
    def times(a, b):
        return a * float(b)

    @staticmethod
    def cos(v):
        return math.cos(v)


def answer(x0, x1, x2):
    v3 = RULES["sin"](x0)
    v4 = Steps.cos(x0)
    v5 = Steps.times(x1, v4)
    return v3 + v5 + x1 / x2


def broken(x0, x1, x2):
    raise ValueError("a mistake of the student's")
'''


def test_math_reached_through_a_dict_or_a_static_method_is_followed_and_the_cell_is_left_as_it_was():
    # An outside review: math.sin in a lambda kept in a dict, or in a @staticmethod, was refused (those
    # functions keep the cell's own globals, not the traced copy), while the same call in a plain function
    # was followed.
    namespace: dict = {}
    exec(compile(_CELL, "<cell>", "exec"), namespace)  # noqa: S102 - our own cell
    before = dict(namespace)
    g = ad.trace(namespace["answer"], 1.8, 2.4, 0.7)
    assert g.outputs and g.adjoints()[0] == pytest.approx(math.cos(1.8) - 2.4 * math.sin(1.8), rel=1e-12)
    assert namespace == before and namespace["math"] is math and "float" not in namespace
    with pytest.raises(ValueError):
        ad.trace(namespace["broken"], 1.8, 2.4, 0.7)
    assert namespace == before


def test_a_zero_d_array_of_one_value_is_that_value_while_tracing():
    # An outside review's honest forward answer began with v0 = np.asarray(x0) and was refused as an array.
    def answer(x0, x1):
        v0 = np.asarray(x0)
        v1 = np.array(x1, dtype=float)
        return np.sin(v0) * v1

    g = ad.trace(answer, 0.5, 2.0)
    assert g.adjoints()[0] == pytest.approx(math.cos(0.5) * 2.0, rel=1e-12)
    assert g.adjoints()[1] == pytest.approx(math.sin(0.5), rel=1e-12)
    assert [n.name for n in g.variables][:2] == ["v0", "v1"]  # the inputs, under the names the answer gave them
    # Outside tracing numpy is numpy: the same call on plain numbers gives a 0-d array.
    assert isinstance(np.asarray(0.5), np.ndarray)
