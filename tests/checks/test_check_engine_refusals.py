"""A hand-written forward or reverse answer may not ask the package for a derivative by any door: a traced
graph's tangents/adjoints/local partials, dual numbers, a primitive's rules, finite differences. An outside
reviewer's answers (rewritten here in our own words) earned full marks through the graph's methods; the
checker's own use of the same methods, after the answer ran, must keep working."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff_course as ad
from autodiff_course import check_forward, check_reverse
from autodiff_course.engine.backward import backprop
from autodiff_course.engine.errors import ByHandError
from autodiff_course.engine.state import by_hand

F = "np.sin(x0) + x1*np.cos(x0) + x1/x2"
G = "(x0**2/x1)*np.cos(x0) + np.exp(x0/x1)"
POINTS = [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5], [-2.0, 0.5, -1.5]]
POINTS_G = [[1.8, 2.4], [1.0, 1.0], [-0.7, 1.9]]
REFUSED = "write each one yourself from the chain rule"


def _target(a, b, c):
    return np.sin(a) + b * np.cos(a) + b / c


def _forward_through_graph_tangents(x0, x1, x2):
    a, b, c = x0, x1, x2
    s = np.sin(a)
    k = np.cos(a)
    bk = b * k
    q = b / c
    t = s + bk
    y = q + t
    traced = ad.trace(_target, float(x0), float(x1), float(x2))
    return y, traced.tangents(0)[traced.outputs[0]]


def _forward_dx1_through_graph_tangents(x0, x1):
    r = x0 / x1
    m = x0 * r
    e = np.exp(r)
    c = np.cos(x0)
    p = m * c
    y = e + p
    traced = ad.trace(lambda a, b: (a ** 2 / b) * np.cos(a) + np.exp(a / b), x0, x1)
    return y, traced.tangents(1)[traced.outputs[0]]


def _reverse_inputs_from_graph_adjoints(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    traced = ad.trace(_target, float(x0), float(x1), float(x2))
    adj = traced.adjoints()
    vbar0, vbar1, vbar2 = (adj[i] for i in traced.inputs)
    vbar8 = vbar7 = vbar6 = vbar5 = vbar3 = 1.0
    vbar4 = v1
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def _forward_dx1_from_local_partials(x0, x1):
    v0, v1 = x0, x1
    v2 = v0 / v1
    v3 = v0 * v2
    v4 = np.exp(v2)
    v5 = np.cos(v0)
    v6 = v3 * v5
    v7 = v4 + v6
    exp_part = ad.trace(lambda a, b: np.exp(a / b), x0, x1)
    (d_exp,) = exp_part.local_partials(exp_part.outputs[0])
    return v7, d_exp * (-v0 / v1 ** 2) + v5 * (-v0 ** 2 / v1 ** 2)


@pytest.mark.parametrize("check, answer, ref, kw, points", [
    (check_forward, _forward_through_graph_tangents, F, {"wrt": 0}, POINTS),
    (check_forward, _forward_dx1_through_graph_tangents, G, {"wrt": 1}, POINTS_G),
    (check_reverse, _reverse_inputs_from_graph_adjoints, F, {}, POINTS),
    (check_forward, _forward_dx1_from_local_partials, G, {"wrt": 1}, POINTS_G),
], ids=["tangents", "tangents-wrt-1", "adjoints", "local-partials"])
def test_an_answer_reading_a_traced_graphs_derivatives_earns_nothing_and_is_told_why(check, answer, ref, kw,
                                                                                    points):
    # Before: each of these scored 1.0 (the graph's methods were not refused inside the answer).
    result = check(answer, ref, points=points, **kw)
    assert (result.passed, result.score) == (False, 0.0), result.feedback
    assert REFUSED in result.feedback, result.feedback
    assert "Graph." in result.feedback  # the message names which door was used


def _honest_forward(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    dv0, dv1, dv2 = 1.0, 0.0, 0.0
    v3 = np.sin(v0)
    dv3 = np.cos(v0) * dv0
    v4 = np.cos(v0)
    dv4 = -np.sin(v0) * dv0
    v5 = v1 * v4
    dv5 = dv1 * v4 + v1 * dv4
    v6 = v1 / v2
    dv6 = dv1 / v2 - v1 * dv2 / v2 ** 2
    v7 = v3 + v5
    dv7 = dv3 + dv5
    v8 = v6 + v7
    return v8, dv6 + dv7


def _honest_reverse(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    b8 = 1.0
    b7 = b6 = b8
    b5 = b3 = b7
    b4 = b5 * v1
    b2 = -b6 * v1 / v2 ** 2
    b1 = b5 * v4 + b6 / v2
    b0 = b3 * np.cos(v0) - b4 * np.sin(v0)
    return v8, b0, b1, b2, b3, b4, b5, b6, b7, b8


def test_honest_answers_still_earn_full_marks_so_the_checkers_own_use_is_not_refused():
    # The judge calls Graph.tangents/adjoints and the primitives' partials on these very answers.
    fwd = check_forward(_honest_forward, F, wrt=0, points=POINTS)
    rev = check_reverse(_honest_reverse, F, points=POINTS)
    assert (fwd.passed, fwd.score) == (True, 1.0), fwd.feedback
    assert (rev.passed, rev.score) == (True, 1.0), rev.feedback
    # ... and nothing is left switched on after a check.
    g = ad.trace(_target, 1.8, 2.4, 0.7)
    assert g.tangents(0)[g.outputs[0]] == pytest.approx(np.cos(1.8) - 2.4 * np.sin(1.8), rel=1e-14)


_SEED = ad.Dual(0.0, 1.0)  # made before the check, then carried in: its tangent is still refused inside


def _doors():
    """Every way the package hands out a derivative, each as a call on fresh values."""
    g = ad.trace(_target, 1.8, 2.4, 0.7)
    out = g.outputs[0]
    s = ad.Scalar(1.8)
    y = ad.sin(s) * s
    return {
        "Graph.tangents": lambda: g.tangents(0),
        "Graph.adjoints": lambda: g.adjoints(),
        "Graph.local_partials": lambda: g.local_partials(out),
        "Dual()": lambda: ad.Dual(1.8, 1.0),
        "Dual.tangent": lambda: (np.sin(_SEED + 1.8)).tangent,
        "repr(Dual)": lambda: repr(_SEED * 2.0),
        "Primitive.partial": lambda: ad.PRIMITIVES["sin"].partial(0, np.sin(1.8), [1.8]),
        "Primitive.partials": lambda: ad.PRIMITIVES["sin"].partials,
        "Primitive.float_partials": lambda: ad.PRIMITIVES["sin"].float_partials,
        "Primitive.jvp": lambda: ad.PRIMITIVES["sin"].jvp([1.0], np.sin(1.8), [1.8], {}),
        "Primitive.vjp": lambda: ad.PRIMITIVES["sin"].vjp(1.0, np.sin(1.8), [1.8], {}, [True]),
        "backprop": lambda: backprop(y, 1.0),
        "Scalar.backward": lambda: y.backward(retain_graph=True),
        "Tensor.backward": lambda: (ad.Tensor([1.0, 2.0], requires_grad=True) ** 2).sum().backward(),
        "grad": lambda: ad.grad(np.sin)(1.8),
        "jvp": lambda: ad.jvp(np.sin, (1.8,), (1.0,)),
        "numerical_gradient": lambda: ad.numerical_gradient(np.sin, [1.8]),
        "gradcheck": lambda: ad.gradcheck(np.sin, [1.8]),
    }


@pytest.mark.parametrize("door", sorted(_doors()))
def test_every_door_to_a_derivative_is_refused_inside_a_hand_written_answer_and_open_outside(door):
    call = _doors()[door]
    with by_hand():
        with pytest.raises(ByHandError, match=REFUSED):
            call()
    call()  # the same call outside a check runs as usual


def test_a_dual_number_carried_into_the_answer_cannot_hand_out_its_tangent():
    # A seed made in another cell, added to an input: the arithmetic may run, the tangent cannot be read.
    def function_dx0(x0, x1, x2):
        y = _target(x0 + _SEED, x1, x2)
        return y.primal, y.tangent

    result = check_forward(function_dx0, F, wrt=0, points=POINTS)
    assert (result.passed, result.score) == (False, 0.0), result.feedback
    assert REFUSED in result.feedback, result.feedback
