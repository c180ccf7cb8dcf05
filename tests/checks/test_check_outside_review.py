"""Verdicts an outside reviewer found wrong, on answers the project had not seen (each written here in our
own words): honest styles that scored 0, and a shortcut that scored full marks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autodiff_course as ad
from autodiff_course import check_forward, check_reverse
from autodiff_course.engine.errors import ByHandError
from autodiff_course.engine.state import by_hand

F = "np.sin(x0) + x1*np.cos(x0) + x1/x2"
POINTS = [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5], [-2.0, 0.5, -1.5]]


def _reverse(square=False, reciprocal=False, as_array=False):
    def function_reverse(x0, x1, x2):
        v0 = x0
        v1 = x1
        v2 = x2
        v3 = np.sin(v0)
        v4 = np.cos(v0)
        v5 = v1 * v4
        v6 = v1 / v2
        v7 = v3 + v5
        v8 = v6 + v7
        vbar8 = 1.0
        vbar7 = vbar8
        vbar6 = vbar8
        vbar5 = vbar7
        vbar4 = vbar5 * v1
        vbar3 = vbar7
        vbar2 = vbar6 * (-v1 / (np.square(v2) if square else v2 ** 2))
        vbar1 = vbar5 * v4 + vbar6 * (np.reciprocal(v2) if reciprocal else 1 / v2)
        vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
        out = (v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8)
        return np.array(out) if as_array else out

    return function_reverse


@pytest.mark.parametrize("style", [{"as_array": True}, {"square": True}, {"reciprocal": True},
                                   {"square": True, "reciprocal": True, "as_array": True}])
def test_honest_reverse_answers_in_numpy_style_earn_full_marks(style):
    # Before: np.array([...]) as the return read "does not depend on its inputs" (score 0), and np.square /
    # np.reciprocal were refused as having no derivative rule (score 0).
    result = check_reverse(_reverse(**style), F, points=POINTS)
    assert (result.passed, result.score, result.status) == (True, 1.0, "ok"), result.feedback


def test_a_wrong_adjoint_returned_as_an_array_is_still_found():
    def function_reverse(x0, x1, x2):
        v0, v1, v2 = x0, x1, x2
        v3 = np.sin(v0)
        v4 = np.cos(v0)
        v5 = v1 * v4
        v6 = v1 / v2
        v7 = v3 + v5
        v8 = v6 + v7
        vbar8 = 1.0
        vbar7 = vbar8
        vbar6 = vbar8
        vbar5 = vbar7
        vbar4 = vbar5 * v1
        vbar3 = vbar7
        vbar2 = vbar6 * (-v1 / np.square(v2))
        vbar1 = vbar5 * v4 + vbar6 * np.reciprocal(v2)
        vbar0 = vbar3 * np.cos(v0)  # the path through v4 is missing
        return np.array([v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8])

    result = check_reverse(function_reverse, F, points=POINTS)
    assert not result.passed and result.culprit == "vbar0", result.feedback


def test_an_answer_that_asks_the_engine_for_its_derivative_earns_nothing_and_is_told_why():
    # Before: `return f(...), ad.grad(f)(...)` passed a forward-mode exercise with full marks.
    def f(a, b, c):
        return np.sin(a) + b * np.cos(a) + b / c

    def function_dx0(x0, x1, x2):
        return f(x0, x1, x2), ad.grad(f)(x0, x1, x2)

    result = check_forward(function_dx0, F, wrt=0, points=POINTS)
    assert result.score == 0 and not result.passed
    assert "write each one yourself" in result.feedback


def test_backward_inside_a_hand_written_reverse_answer_is_refused():
    def function_reverse(x0, x1, x2):
        x = ad.Scalar(x0)
        y = ad.sin(x) + x1 * ad.cos(x) + x1 / x2
        y.backward()
        return y.value, x.grad

    result = check_reverse(function_reverse, F, points=POINTS)
    assert result.score == 0 and "write each one yourself" in result.feedback


def test_the_engine_differentiates_as_usual_outside_a_check():
    f = lambda x: ad.sin(x) * x  # noqa: E731
    with by_hand():
        with pytest.raises(ByHandError):
            ad.grad(f)(1.0)
        with pytest.raises(ByHandError):
            ad.jvp(f, (1.0,), (1.0,))
    assert ad.grad(f)(1.0) == pytest.approx(np.cos(1.0) * 1.0 + np.sin(1.0), rel=1e-15)


def _forward_with_numpy_seeds(seed_kind):
    # Seeds written as 0-d numpy arrays or numpy numbers, on either side of a product.
    one, zero = {"array": (np.array(1.0), np.array(0.0)), "zeros": (np.ones(()), np.zeros(())),
                 "numpy scalar": (np.float64(1), np.float32(0))}[seed_kind]

    def function_dx0(x0, x1, x2):
        v0, t0 = x0, one
        v1, t1 = x1, zero
        v2, t2 = x2, zero
        v3 = np.sin(v0)
        t3 = t0 * np.cos(v0)
        v4 = np.cos(v0)
        t4 = -np.sin(v0) * t0
        v5 = v1 * v4
        t5 = t1 * v4 + v1 * t4
        v6 = v1 / v2
        t6 = (t1 * v2 - v1 * t2) / (v2 * v2)
        v7 = v3 + v5
        t7 = t3 + t5
        v8 = v6 + v7
        return v8, t6 + t7

    return function_dx0


def _forward_dx1_with_0d_seeds(x0, x1):
    v0, t0 = x0, np.array(0.0)
    v1, t1 = x1, np.array(1.0)
    v2 = v0 / v1
    t2 = (t0 * v1 - v0 * t1) / v1 ** 2
    v3 = v0 * v2
    t3 = t0 * v2 + v0 * t2
    v4 = np.exp(v2)
    t4 = v4 * t2
    v5 = np.cos(v0)
    t5 = -np.sin(v0) * t0
    v6 = v3 * v5
    t6 = t3 * v5 + v3 * t5
    return v4 + v6, t4 + t6


@pytest.mark.parametrize("seed_kind", ["array", "zeros", "numpy scalar"])
def test_seeds_written_as_0d_numpy_arrays_or_numpy_numbers_earn_full_marks(seed_kind):
    # Before: "mul: cannot combine a Scalar with ndarray" while following the answer (2 of 3 parts).
    result = check_forward(_forward_with_numpy_seeds(seed_kind), F, wrt=0, points=POINTS)
    assert (result.passed, result.score, result.status) == (True, 1.0, "ok"), result.feedback


def test_0d_seeds_with_respect_to_the_second_input_earn_full_marks():
    result = check_forward(_forward_dx1_with_0d_seeds, "(x0**2/x1)*np.cos(x0) + np.exp(x0/x1)", wrt=1,
                           points=[[1.8, 2.4], [1.0, 1.0], [-0.7, 1.9]])
    assert (result.passed, result.score, result.status) == (True, 1.0, "ok"), result.feedback


def _forward_tangents_in(store):
    def function_dx0(x0, x1, x2):
        dot = store()
        dot[0] = 1.0
        v3 = np.sin(x0)
        dot[3] = np.cos(x0) * dot[0]
        v4 = np.cos(x0)
        dot[4] = -np.sin(x0) * dot[0]
        v5 = x1 * v4
        dot[5] = x1 * dot[4] + v4 * dot[1]
        v6 = x1 / x2
        dot[6] = dot[1] / x2 - x1 * dot[2] / x2 ** 2
        v7 = v3 + v5
        dot[7] = dot[3] + dot[5]
        dot[8] = dot[6] + dot[7]
        return v6 + v7, dot[8]

    return function_dx0


def _reverse_adjoints_in(store):
    def function_reverse(x0, x1, x2):
        v3, v4 = np.sin(x0), np.cos(x0)
        v5 = x1 * v4
        v6 = x1 / x2
        v8 = v6 + (v3 + v5)
        adj = store()
        adj[8] = adj[7] = adj[6] = adj[5] = adj[3] = 1.0
        adj[4] = x1 * adj[5]
        adj[2] = -adj[6] * x1 / x2 ** 2
        adj[1] = adj[5] * v4 + adj[6] / x2
        adj[0] = adj[3] * np.cos(x0) - adj[4] * np.sin(x0)
        return (v8, *adj)

    return function_reverse


@pytest.mark.parametrize("check, answer, line, item", [
    (check_forward, _forward_tangents_in(lambda: np.array([0.0] * 9)), "dot[3] = np.cos(x0) * dot[0]", "dot3"),
    (check_reverse, _reverse_adjoints_in(lambda: np.linspace(0.0, 0.0, 9)), "adj[4] = x1 * adj[5]", "adj4"),
], ids=["forward", "reverse"])
def test_values_stored_into_a_float_array_are_named_as_the_cause_in_plain_words(check, answer, line, item):
    # Before: "float(...) or a math or library function turned one of your values into a plain number",
    # on a line that has neither. (An array np.zeros makes holds traced values: see the test below.)
    kw = {"wrt": 0} if check is check_forward else {}
    result = check(answer, F, points=POINTS, **kw)
    assert not result.passed
    name = item[:-1]
    assert f"(`{line}`): storing one of your values into `{name}`, a numpy array of plain numbers" in \
        result.feedback, result.feedback
    assert (f"in an array made with `np.zeros(n)`, in a list (`{name} = [0.0] * n`) or in variables of their "
            f"own (`{item} = ...`)") in result.feedback
    assert "float(...)" not in result.feedback


def test_the_advice_works_tangents_in_a_list_earn_full_marks():
    result = check_forward(_forward_tangents_in(lambda: [0.0] * 9), F, wrt=0, points=POINTS)
    assert (result.passed, result.score) == (True, 1.0), result.feedback


def test_a_library_call_that_makes_a_plain_number_is_still_named_as_such():
    def function_dx0(x0, x1, x2):
        y = np.sin(x0) + x1 * np.cos(x0) + x1 / x2
        dy = math.dist([np.cos(x0)], [x1 * np.sin(x0)])  # a math function with no rule, handed lists
        return y, dy

    result = check_forward(function_dx0, F, wrt=0, points=POINTS)
    # math's function is named, with the reason (no derivative rule), not a float() the student never wrote
    assert "`math.dist` has no derivative rule in autodiff_course, so it turned one of your values into a " \
           "plain number" in result.feedback, result.feedback
    assert "storing" not in result.feedback


def test_a_store_into_a_float_array_is_named_even_where_the_source_text_cannot_be_read():
    # Code compiled from a string has no text for the checker to quote: the store is read from the bytecode.
    namespace = {"np": np}
    exec(compile("def function_dx0(x0, x1, x2):\n"
                 "    d = np.array([0.0, 0.0])\n"
                 "    d[0] = np.cos(x0) - x1 * np.sin(x0)\n"
                 "    return np.sin(x0) + x1 * np.cos(x0) + x1 / x2, d[0]\n", "<no file>", "exec"), namespace)
    result = check_forward(namespace["function_dx0"], F, wrt=0, points=POINTS)
    assert "line 3: storing one of your values into a numpy array of plain numbers" in result.feedback, \
        result.feedback
    assert "float(...)" not in result.feedback
