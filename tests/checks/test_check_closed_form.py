"""Closed-form derivatives are not forward or reverse mode (issue 11: an outside review typed the symbolic
derivative into both exercises and scored full marks). Answers written here in our own words: the shortcuts in
the styles the review used and a few more, and honest answers that must keep their full marks."""

from __future__ import annotations

import linecache
import textwrap

import generate as G
import numpy as np
import pytest

from autodiff_course import check_forward, check_reverse
from autodiff_course.checks.collect import collect
from autodiff_course.checks.judge import judge

F = "np.sin(x0) + x1*np.cos(x0) + x1/x2"
F_DX1 = "(x0**2/x1)*np.cos(x0) + np.exp(x0/x1)"
POINTS = [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5], [-2.0, 0.5, -1.5]]
G_POINTS = [[1.8, 2.4], [1.0, 1.0], [-0.7, 1.9]]
#: The lowest score of an honest answer with one slip the review saw in these exercises (FB01 scored 0.75;
#: a wrong seed, which every later tangent inherits, scores less): a shortcut must earn less than that.
HONEST_SLIP = 0.44


def _shortcut(result, *, words: str):
    assert not result.passed, result.feedback
    assert result.score < HONEST_SLIP, result.feedback
    assert result.mistakes[0] == "closed-form", result.feedback
    assert words in result.feedback, result.feedback
    # No variable of the student's holds a mistake: nothing is blamed on one.
    assert result.culprit is None, result.feedback


def _full_marks(result):
    assert (result.passed, result.score) == (True, 1.0), result.feedback


# -- y in one expression ------------------------------------------------------------------------------------
def forward_in_one_expression(x0, x1, x2):
    y = np.sin(x0) + x1 * np.cos(x0) + x1 / x2
    dydx0 = np.cos(x0) - x1 * np.sin(x0)
    return y, dydx0


def forward_in_one_expression_over_lines(x0, x1, x2):
    # One statement written over three lines is still one expression.
    y = (np.sin(x0)
         + x1 * np.cos(x0)
         + x1 / x2)
    return y, np.cos(x0) - x1 * np.sin(x0)


def example_dx1_in_one_expression(x0, x1):
    y = (x0**2 / x1) * np.cos(x0) + np.exp(x0 / x1)
    dy = -(x0**2 / x1**2) * np.cos(x0) - x0 / x1**2 * np.exp(x0 / x1)
    return y, dy


def reverse_in_one_expression(x0, x1, x2):
    v8 = np.sin(x0) + x1 * np.cos(x0) + x1 / x2
    vbar0 = np.cos(x0) - x1 * np.sin(x0)
    vbar1 = np.cos(x0) + 1 / x2
    vbar2 = -x1 / x2**2
    vbar4 = x1
    return v8, vbar0, vbar1, vbar2, 1.0, vbar4, 1.0, 1.0, 1.0, 1.0


def reverse_in_one_expression_short(x0, x1, x2):
    # Only y, the inputs' adjoints and y's: no intermediate adjoint to mark, so they count as missing.
    y = np.sin(x0) + x1 * np.cos(x0) + x1 / x2
    return y, np.cos(x0) - x1 * np.sin(x0), np.cos(x0) + 1 / x2, -x1 / x2**2, 1.0


def reverse_by_sympy_in_one_expression(x0, x1, x2):
    import sympy

    a, b, c = sympy.symbols("a b c")
    expr = sympy.sin(a) + b * sympy.cos(a) + b / c
    grads = [sympy.lambdify((a, b, c), sympy.diff(expr, s), "numpy") for s in (a, b, c)]
    v8 = np.sin(x0) + x1 * np.cos(x0) + x1 / x2
    g = [fn(x0, x1, x2) for fn in grads]
    return v8, g[0], g[1], g[2], 1.0, x1, 1.0, 1.0, 1.0, 1.0


@pytest.mark.parametrize("answer", [forward_in_one_expression, forward_in_one_expression_over_lines])
def test_a_closed_form_derivative_beside_y_in_one_expression_fails_forward_mode(answer):
    # Before: 1.00, "passed (2 of 2 parts right)".
    result = check_forward(answer, F, wrt=0, points=POINTS)
    _shortcut(result, words="Your function computes y in one expression: forward mode asks for each "
                            "intermediate variable (v3 = ..., one operation each) and its tangent next to it")
    rows = {r["part"]: r for r in result.rows}
    assert rows["y"]["ok"] and sum(r["status"] == "missing" for r in result.rows) == 5, result.rows


def test_a_closed_form_derivative_with_respect_to_x1_fails_forward_mode():
    # Before: 1.00 (the review's DC06).
    result = check_forward(example_dx1_in_one_expression, F_DX1, wrt=1, points=G_POINTS)
    _shortcut(result, words="its tangent next to it (dv2dx1 = ...")


@pytest.mark.parametrize("answer", [reverse_in_one_expression, reverse_in_one_expression_short])
def test_closed_form_adjoints_beside_y_in_one_expression_fail_reverse_mode(answer):
    # Before: 1.00, "passed (10 of 10 parts right)" (the intermediate adjoints returned as the constants 1.0
    # they are), and 1.00 for the short one.
    result = check_reverse(answer, F, points=POINTS)
    _shortcut(result, words="Your function computes y in one expression: reverse mode asks for a forward pass")
    # y and the three input adjoints keep their credit by value, as when the checker cannot follow an answer.
    assert result.score == pytest.approx(0.4), result.feedback
    assert "yours 1, expected 1" not in result.feedback, result.feedback


def test_adjoints_from_a_computer_algebra_system_fail_reverse_mode():
    pytest.importorskip("sympy")
    result = check_reverse(reverse_by_sympy_in_one_expression, F, points=POINTS)
    _shortcut(result, words="Your function computes y in one expression")


def _backward(v1, v2, v4, v0):
    vbar = [0.0] * 9
    vbar[8] = 1.0
    vbar[7] = vbar[6] = vbar[8]
    vbar[5] = vbar[3] = vbar[7]
    vbar[4] = vbar[5] * v1
    vbar[2] = -vbar[6] * v1 / v2**2
    vbar[1] = vbar[5] * v4 + vbar[6] / v2
    vbar[0] = vbar[3] * np.cos(v0) - vbar[4] * np.sin(v0)
    return vbar


#: The course's forward pass, one operation a line: answers below write what follows it.
_FORWARD_PASS = """
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
"""


def _after_forward_pass(name: str, rest: str):
    """``def name(x0, x1, x2)``: the forward pass, then ``rest`` (its lines indented as a body), compiled with
    its text readable (as a notebook cell's is)."""
    source = f"def {name}(x0, x1, x2):{_FORWARD_PASS}{textwrap.indent(textwrap.dedent(rest), '    ')}"
    filename = f"<answer {abs(hash(source))}>"  # one per answer: several share a function's name
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np, "_backward": _backward}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own answers
    return namespace[name]


# -- a forward pass, and a derivative that is not propagated -------------------------------------------------
forward_pass_then_closed_form = _after_forward_pass("function_dx0", """
    dv0dx0, dv1dx0 = 1.0, 0.0  # seeds prove nothing: every input's tangent is 0 or 1
    dv8dx0 = np.cos(x0) * dv0dx0 - x1 * np.sin(x0) + dv1dx0
    return v8, dv8dx0
""")


def one_named_variable_then_closed_form(x0, x1, x2):
    v3 = np.sin(x0)
    y = v3 + x1 * np.cos(x0) + x1 / x2
    return y, np.cos(x0) - x1 * v3


def test_a_forward_pass_with_a_closed_form_derivative_fails_forward_mode():
    # Before: 1.00 (only y and the returned derivative were judged: no tangent of v3..v7 was kept to judge).
    result = check_forward(forward_pass_then_closed_form, F, wrt=0, points=POINTS)
    _shortcut(result, words="No variable of yours holds the tangent of any of your intermediate variables (v3, "
                            "v4, v5, v6, v7): the derivative is a closed formula, not propagated.")
    assert {"dv3dx0", "dv7dx0"} <= {r["part"] for r in result.rows if r["status"] == "missing"}, result.rows


def test_one_named_variable_beside_a_closed_form_loses_as_much():
    result = check_forward(one_named_variable_then_closed_form, F, wrt=0, points=POINTS)
    _shortcut(result, words="(v3): the derivative is a closed formula")


# -- a forward pass, and adjoints none of which is computed from another ------------------------------------
forward_pass_then_closed_form_adjoints = _after_forward_pass("function_reverse", """
    vbar0 = np.cos(v0) - v1 * np.sin(v0)
    vbar1 = v4 + 1 / v2
    vbar2 = -v1 / v2**2
    return v8, vbar0, vbar1, vbar2, 1.0, v1, 1.0, 1.0, 1.0, 1.0
""")


forward_pass_then_sympy_adjoints = _after_forward_pass("function_reverse", """
    import sympy

    a, b, c = sympy.symbols("a b c")
    expr = sympy.sin(a) + b * sympy.cos(a) + b / c
    grads = [sympy.lambdify((a, b, c), sympy.diff(expr, s), "numpy") for s in (a, b, c)]
    g = [float(fn(x0, x1, x2)) for fn in grads]
    return v8, g[0], g[1], g[2], 1.0, v1, 1.0, 1.0, 1.0, 1.0
""")


@pytest.mark.parametrize("answer", [forward_pass_then_closed_form_adjoints, forward_pass_then_sympy_adjoints])
def test_a_forward_pass_with_closed_form_adjoints_fails_reverse_mode(answer):
    # Before: 1.00.
    if answer is forward_pass_then_sympy_adjoints:
        pytest.importorskip("sympy")
    result = check_reverse(answer, F, points=POINTS)
    _shortcut(result, words="Your function returns no adjoint computed from another")


# -- honest answers keep their full marks ---------------------------------------------------------------------
def forward_with_tangents_named_t(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    t0, t1, t2 = 1.0, 0.0, 0.0
    v3 = np.sin(v0)
    t3 = np.cos(v0) * t0
    v4 = np.cos(v0)
    t4 = -np.sin(v0) * t0
    v5 = v1 * v4
    t5 = t1 * v4 + v1 * t4
    v6 = v1 / v2
    t6 = (t1 * v2 - v1 * t2) / v2**2
    v7 = v3 + v5
    t7 = t3 + t5
    v8 = v6 + v7
    return v8, t6 + t7


def forward_with_tangents_in_a_dict(x0, x1, x2):
    # Tangents kept under names in a dict: found by their values like any local's.
    v0, v1, v2 = x0, x1, x2
    d = {"v0": 1.0, "v1": 0.0, "v2": 0.0}
    v3 = np.sin(v0)
    d["v3"] = np.cos(v0) * d["v0"]
    v4 = np.cos(v0)
    d["v4"] = -np.sin(v0) * d["v0"]
    v5 = v1 * v4
    d["v5"] = d["v1"] * v4 + v1 * d["v4"]
    v6 = v1 / v2
    d["v6"] = (d["v1"] * v2 - v1 * d["v2"]) / v2**2
    v7 = v3 + v5
    d["v7"] = d["v3"] + d["v5"]
    v8 = v6 + v7
    return v8, d["v6"] + d["v7"]


def forward_in_a_generator_of_steps(x0, x1, x2):
    # The forward pass runs in a helper of the student's (here a generator of (value, tangent) pairs): the
    # checker sees one line of theirs make every operation, but it is no expression written in one line.
    def steps():
        v0, d0 = x0, 1.0
        v1, d1 = x1, 0.0
        v2, d2 = x2, 0.0
        v3, d3 = np.sin(v0), np.cos(v0) * d0
        v4, d4 = np.cos(v0), -np.sin(v0) * d0
        v5, d5 = v1 * v4, v1 * d4 + v4 * d1
        v6, d6 = v1 / v2, (v2 * d1 - v1 * d2) / v2**2
        v7, d7 = v3 + v5, d3 + d5
        yield v6 + v7, d6 + d7

    *_, last = steps()
    return last


def forward_with_tangents_folded(x0, x1, x2):
    # Every tangent but one folded into compound lines: dv5 is the one the function keeps.
    v3 = np.sin(x0)
    v4 = np.cos(x0)
    v5 = x1 * v4
    dv5 = x1 * -np.sin(x0)
    v6 = x1 / x2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8, np.cos(x0) + dv5 + 0.0


def example_dx1_with_tangents_d(x0, x1):
    v0, v1 = x0, x1
    d0, d1 = 0.0, 1.0
    v2 = v0 / v1
    d2 = (d0 * v1 - v0 * d1) / v1**2
    v3 = v0 * v2
    d3 = d0 * v2 + v0 * d2
    v4 = np.exp(v2)
    d4 = v4 * d2
    v5 = np.cos(v0)
    d5 = -np.sin(v0) * d0
    v6 = v3 * v5
    d6 = d3 * v5 + v3 * d5
    v7 = v4 + v6
    return v7, d4 + d6


def linear_forward(x0, x1, x2):
    # Every intermediate tangent is 1 or 0: nothing tells a tangent from a seed, so nothing is claimed.
    v3 = x0 + x1
    dv3 = 1.0 + 0.0
    v4 = v3 + x2
    dv4 = dv3 + 0.0
    return v4, dv4


reverse_with_adjoints_in_a_dict = _after_forward_pass("function_reverse", """
    bar = {"v8": 1.0}
    bar["v7"] = bar["v8"]
    bar["v6"] = bar["v8"]
    bar["v5"] = bar["v7"]
    bar["v4"] = bar["v5"] * v1
    bar["v3"] = bar["v7"]
    bar["v2"] = -bar["v6"] * v1 / v2**2
    bar["v1"] = bar["v5"] * v4 + bar["v6"] / v2
    bar["v0"] = bar["v3"] * np.cos(v0) - bar["v4"] * np.sin(v0)
    return (v8, bar["v0"], bar["v1"], bar["v2"], bar["v3"], bar["v4"], bar["v5"], bar["v6"], bar["v7"],
            bar["v8"])
""")


reverse_with_a_helper = _after_forward_pass("function_reverse", """
    a = _backward(v1, v2, v4, v0)
    return v8, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]
""")


reverse_with_temporaries = _after_forward_pass("function_reverse", """
    vbar8 = 1.0
    vbar7 = vbar6 = vbar8
    vbar5 = vbar3 = vbar7
    vbar4 = vbar5 * v1
    vbar2 = -vbar6 * v1 / v2**2
    through_v5 = vbar5 * v4
    vbar1 = through_v5 + vbar6 / v2
    through_v3, through_v4 = vbar3 * np.cos(v0), vbar4 * -np.sin(v0)
    vbar0 = through_v3 + through_v4
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8
""")


@pytest.mark.parametrize("answer", [forward_with_tangents_named_t, forward_with_tangents_folded,
                                    forward_with_tangents_in_a_dict, forward_in_a_generator_of_steps])
def test_honest_forward_answers_keep_full_marks(answer):
    _full_marks(check_forward(answer, F, wrt=0, points=POINTS))


def test_an_honest_answer_with_respect_to_x1_in_d_spellings_keeps_full_marks():
    _full_marks(check_forward(example_dx1_with_tangents_d, F_DX1, wrt=1, points=G_POINTS))


def test_a_sum_of_inputs_whose_tangents_are_all_seeds_keeps_full_marks():
    _full_marks(check_forward(linear_forward, "x0 + x1 + x2", wrt=0, points=POINTS))


@pytest.mark.parametrize("answer", [reverse_with_adjoints_in_a_dict, reverse_with_a_helper,
                                    reverse_with_temporaries])
def test_honest_reverse_answers_keep_full_marks(answer):
    _full_marks(check_reverse(answer, F, points=POINTS))


def test_the_course_solutions_and_their_folded_rewrites_keep_full_marks():
    for ex in [e for e in G.exercises() if e.kind in ("forward", "reverse")]:
        variants = [ex.source] + [r.source for r in G.rewrites(ex) if r.what.startswith("fold")]
        for source in variants:
            result = judge(ex.spec, collect(ex.spec, {ex.name: G.compile_function(source, ex.name)}))
            assert (result.passed, result.score) == (True, 1.0), (source, result.feedback)
