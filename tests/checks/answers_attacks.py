"""Student answers the checkers were not built with: finite differences at tuned steps, honest answers in other
styles, values that bypass the graph, cancelling huge terms, answers that fail at one point only.

The exercise is the course's y = sin(x0) + x1 cos(x0) + x1/x2 (``Y`` of answers_by_hand). Functions live in
this file (not in strings) so the checker sees real source lines."""

import math

import numpy as np

Y = "np.sin(x0) + x1*np.cos(x0) + x1/x2"
POINTS = [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5], [-2.0, 0.5, -1.5]]


def _f(x0, x1, x2):
    return np.sin(x0) + x1 * np.cos(x0) + x1 / x2


# -- finite differences at a chosen step ---------------------------------------------------------------------
def forward_difference(h):
    def answer(x0, x1, x2):
        y = _f(x0, x1, x2)
        return y, (_f(x0 + h, x1, x2) - y) / h

    return answer


def central_difference(h):
    def answer(x0, x1, x2):
        return _f(x0, x1, x2), (_f(x0 + h, x1, x2) - _f(x0 - h, x1, x2)) / (2 * h)

    return answer


def reverse_central_difference(h):
    """Every adjoint right but vbar0, the one a student might estimate."""

    def answer(x0, x1, x2):
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
        vbar2 = vbar6 * (-v1 / v2**2)
        vbar1 = vbar5 * v4 + vbar6 / v2
        vbar0 = (_f(x0 + h, x1, x2) - _f(x0 - h, x1, x2)) / (2 * h)
        return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8

    return answer


# -- honest styles -------------------------------------------------------------------------------------------
def _dsin(v):
    return math.cos(v)


def forward_honest_styles(x0, x1, x2):
    # float() and math.* on values, numpy scalars, a helper function, compound tangent lines.
    v0 = np.float64(x0)
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = math.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    dv3 = float(_dsin(v0))
    dv8 = -v1 * math.sin(v0) + dv3
    return v8, dv8


def reverse_honest_styles(x0, x1, x2):
    # += accumulation, a list returned, float() on values, a helper function.
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    vbar8 = 1
    vbar7 = vbar8
    vbar6 = vbar8
    vbar5 = vbar7
    vbar4 = float(vbar5 * v1)
    vbar3 = vbar7
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = 0.0
    vbar1 += vbar5 * v4
    vbar1 += vbar6 / v2
    vbar0 = vbar3 * _dsin(v0)
    vbar0 += vbar4 * -math.sin(v0)
    return [v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8]


# -- values outside the graph, cancelling huge terms -------------------------------------------------------
def forward_outside_the_graph(x0, x1, x2):
    # y computed on plain numbers and attached to the inputs by a zero: the derivative claimed is 0.
    y = math.sin(1.8) + 2.4 * math.cos(1.8) + 2.4 / 0.7
    return x0 * 0.0 + y, 0.0


def forward_huge_cancelling_terms(x0, x1, x2):
    big = x0 * 1e15
    y = _f(x0, x1, x2) + (big - big)
    return y, 0.0


def reverse_huge_cancelling_terms(x0, x1, x2):
    # A right forward pass with a term that cancels, and no derivative at all: every adjoint 1.
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7 + (v7 * 2**50 - v7 * 2**50)
    return v8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0


# -- a failure at one point only ---------------------------------------------------------------------------
def reverse_nan_at_one_point(x0, x1, x2):
    # Right everywhere, but the student's own way to write d sin(v0)/d v0 divides 0 by 0 where x1 = 0.5.
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    vbar8 = 1
    vbar7 = vbar8
    vbar6 = vbar8
    vbar5 = vbar7
    vbar4 = vbar5 * v1
    vbar3 = vbar7
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 / v2
    dv3dv0 = np.cos(v0) * (v1 - 0.5) / (v1 - 0.5)
    vbar0 = vbar3 * dv3dv0 + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_raises_at_one_point(x0, x1, x2):
    # Right everywhere, but a leftover line takes the square root of x1: a domain error where x1 < 0.
    leftover = math.sqrt(x1)  # noqa: F841
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    vbar8 = 1
    vbar7 = vbar8
    vbar6 = vbar8
    vbar5 = vbar7
    vbar4 = vbar5 * v1
    vbar3 = vbar7
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 / v2
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


# -- decomposition -----------------------------------------------------------------------------------------
def decomposition_reassigned(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v3 = v3 + v5
    v3 = v3 + v6
    return v3


# -- bounded judging ---------------------------------------------------------------------------------------
def doubling(n):
    """y doubled n times in a list slot (no local holds the steps) and halved back: 2n + 1 operations whose
    written-out form doubles in length at every step."""

    def answer(x0, x1, x2):
        box = [_f(x0, x1, x2)]
        for _ in range(n):
            box[0] = box[0] + box[0]
        return box[0] / 2**n, 0.0

    return answer


# -- claims grounded in the student's lines ------------------------------------------------------------------
def reverse_overwritten_adjoint(x0, x1, x2):
    # vbar1 collects its two paths, but the second `=` throws the first away.
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    vbar8 = 1
    vbar7 = vbar8
    vbar6 = vbar8
    vbar5 = vbar7
    vbar4 = vbar5 * v1
    vbar3 = vbar7
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = vbar5 * v4
    vbar1 = vbar6 / v2
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


F = "(x0**2/x1)*np.cos(x0) + np.exp(x0/x1)"
POINTS_F = [[1.8, 2.4], [1.0, 1.0], [-0.7, 1.9]]


def forward_example_dx1_tangent_left_out(x0, x1):
    # dv4dx1 = exp(v2) forgets the factor dv2dx1. Since dv1dx1 = 1, "dv4dx1 uses dv1dx1 where dv2dx1 belongs"
    # fits the numbers too, but the line reads no dv1dx1.
    v0 = x0
    dv0dx1 = 0
    v1 = x1
    dv1dx1 = 1
    v2 = v0 / v1
    dv2dx1 = (v1 * dv0dx1 - v0 * dv1dx1) / v1**2
    v3 = v0 * v2
    dv3dx1 = v0 * dv2dx1 + v2 * dv0dx1
    v4 = np.exp(v2)
    dv4dx1 = np.exp(v2)
    v5 = np.cos(v0)
    dv5dx1 = -np.sin(v0) * dv0dx1
    v6 = v3 * v5
    dv6dx1 = v3 * dv5dx1 + v5 * dv3dx1
    v7 = v4 + v6
    dv7dx1 = dv4dx1 + dv6dx1
    return v7, dv7dx1


def reverse_pasted_constant(x0, x1, x2):
    # vbar0 pasted from a run at the visible point.
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    vbar8 = 1
    vbar7 = vbar8
    vbar6 = vbar8
    vbar5 = vbar7
    vbar4 = vbar5 * v1
    vbar3 = vbar7
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 / v2
    vbar0 = -2.5644364088007556
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def forward_example_dx1_quotient_lost(x0, x1):
    # dv2dx1 = v1 ** 2 is no rule at all; where x0 = x1 = 1 it happens to be minus the right value, so a
    # "wrong sign" reading fits that point alone.
    v0 = x0
    dv0dx1 = 0
    v1 = x1
    dv1dx1 = 1  # noqa: F841 - the student wrote it and then did not use it
    v2 = v0 / v1
    dv2dx1 = v1**2
    v3 = v0 * v2
    dv3dx1 = v0 * dv2dx1 + v2 * dv0dx1
    v4 = np.exp(v2)
    dv4dx1 = np.exp(v2) * dv2dx1
    v5 = np.cos(v0)
    dv5dx1 = -np.sin(v0) * dv0dx1
    v6 = v3 * v5
    dv6dx1 = v3 * dv5dx1 + v5 * dv3dx1
    v7 = v4 + v6
    dv7dx1 = dv4dx1 + dv6dx1
    return v7, dv7dx1


def forward_with_a_python_if(x0, x1, x2):
    # Right values, but an `if` on a traced value: the checker cannot follow the tangents, only the values.
    y = _f(x0, x1, x2)
    dydx0 = np.cos(x0) - x1 * np.sin(x0)
    if x0 > -100:
        pass
    return y, dydx0
