"""The functions of seed notebook 000, traced: node names, values and every adjoint equal the numbers the
notebook prints (computed there by hand-written forward and backward passes).

Tolerance 1e-15 relative: the engine performs the same operations on the same floats, but it may sum the
contributions of a node's consumers in another order than the notebook's hand-written line, which can change
the last bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from seed_functions import seed_function as exercise  # the notebook's solution of the exercise
from seed_functions import seed_function_math_style as exercise_math_style

import autodiff_course as ac
from autodiff_course import Scalar

REL = 1e-15


def function1(x0, x1):  # as in the notebook
    v0 = x0
    v1 = x1
    v2 = v0 / v1
    v3 = v0 * v2
    v4 = np.exp(v2)
    v5 = np.cos(v0)
    v6 = v3 * v5
    v7 = v4 + v6
    y = v7
    return y


def exercise_by_hand(x0, x1, x2):
    """The notebook's solution of the reverse-mode exercise, in plain floats: the independent reference."""
    v0, v1, v2 = x0, x1, x2
    v3, v4 = math.sin(v0), math.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    vbar8 = 1
    vbar7 = vbar8 * 1
    vbar6 = vbar8 * 1
    vbar5 = vbar7 * 1
    vbar4 = vbar5 * v1
    vbar3 = vbar7 * 1
    vbar2 = vbar6 * (-1 * v1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 * (1 / v2)
    vbar0 = vbar3 * math.cos(v0) + vbar4 * -math.sin(v0)
    values = [v0, v1, v2, v3, v4, v5, v6, v7, v8]
    adjoints = [vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8]
    return values, adjoints


# Printed by the notebook: function1_reverse(1.8, 2.4) -> (y, vbar0, ..., vbar7)
SEED_Y = 1.810277188777007
SEED_ADJOINTS = [-0.7734141034699129, -0.5337613269265994, 1.708036246165118, -0.2272020946930871,
                 1, 1.35, 1, 1]


def rel_close(actual, expected, rel=REL):
    assert actual == pytest.approx(expected, rel=rel, abs=0), (actual, expected)


def test_function1_traced_has_the_notebooks_nodes_in_order():
    g = ac.trace(function1, 1.8, 2.4)
    variables = [n for n in g.nodes if n.op != "const"]
    assert [n.name for n in variables] == [f"v{i}" for i in range(8)]
    assert [n.op for n in variables] == ["input", "input", "div", "mul", "exp", "cos", "mul", "add"]
    assert g.node("y").id == g.node("v7").id  # y = v7 names the same node
    assert g.equation(g.node("v6").id) == "v6 = v3 * v5"


def test_function1_traced_values_and_adjoints_equal_the_printed_numbers():
    g = ac.trace(function1, 1.8, 2.4)
    rel_close(g.value("v7"), SEED_Y)
    adjoints = g.adjoints()
    for i, expected in enumerate(SEED_ADJOINTS):
        rel_close(adjoints[g.node(f"v{i}").id], expected)


def test_function1_on_scalars_backward_fills_every_grad_with_the_printed_adjoints():
    v0, v1 = Scalar(1.8), Scalar(2.4)
    v2 = v0 / v1
    v3 = v0 * v2
    v4 = ac.exp(v2)
    v5 = ac.cos(v0)
    v6 = v3 * v5
    v7 = v4 + v6
    v7.backward()
    rel_close(v7.value, SEED_Y)
    for v, expected in zip([v0, v1, v2, v3, v4, v5, v6, v7], SEED_ADJOINTS):
        rel_close(v.grad, expected)


def test_function1_gradient_by_grad_and_forward_mode_equal_the_printed_vbar0_vbar1():
    rel_close(ac.grad(function1)(1.8, 2.4), SEED_ADJOINTS[0])
    rel_close(ac.grad(function1, argnums=1)(1.8, 2.4), SEED_ADJOINTS[1])
    y, dy = ac.jvp(function1, (1.8, 2.4), (1.0, 0.0))
    rel_close(y, SEED_Y)
    rel_close(dy, SEED_ADJOINTS[0])


@pytest.mark.parametrize("fn", [exercise, exercise_math_style], ids=["numpy", "math"])
@pytest.mark.parametrize("point", [(1.8, 2.4, 0.7), (0.3, -1.2, 2.5), (-2.0, 0.5, -0.25)])
def test_exercise_traced_values_and_adjoints_equal_the_notebooks_backward_pass(fn, point):
    g = ac.trace(fn, *point)
    assert [n.name for n in g.variables] == [f"v{i}" for i in range(9)]
    assert [n.op for n in g.variables][3:] == ["sin", "cos", "mul", "div", "add", "add"]
    values, expected = exercise_by_hand(*point)
    adjoints = g.adjoints()
    tangents = g.tangents(0)
    for i in range(9):
        node = g.node(f"v{i}")
        rel_close(node.value, values[i])
        rel_close(adjoints[node.id], expected[i])
    rel_close(tangents[g.node("v8").id], expected[0])  # forward mode agrees with reverse mode on dy/dx0
