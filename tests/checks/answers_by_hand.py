"""Student answers, correct and wrong, written by hand for the checker tests.

The exercises are those of the course (seed 000): y = sin(x0) + x1 cos(x0) + x1/x2 (``Y``) and the worked
example f = (x0^2/x1) cos(x0) + e^(x0/x1) (``F``). Each wrong answer carries one known slip; the tests say
which verdict, culprit and mistake code each must get. Functions live in this file (not in strings) so the
checker sees real source lines, as it does in a notebook."""

# ruff: noqa: F821
import math

import numpy as np

Y = "np.sin(x0) + x1*np.cos(x0) + x1/x2"
F = "(x0**2/x1)*np.cos(x0) + np.exp(x0/x1)"
POINT_Y = [[1.8, 2.4, 0.7]]
POINT_F = [[1.8, 2.4]]


# -- decomposition ------------------------------------------------------------------------------------------
def decomposition_seed(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8


def decomposition_renumbered_math(x0, x1, x2):
    # Valid: math functions, another numbering, no aliases of the inputs, and the last step returned directly.
    a = math.cos(x0)
    b = x1 * a
    c = math.sin(x0)
    d = x1 / x2
    e = c + b
    return d + e


def decomposition_two_ops_on_a_line(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v5 = v1 * np.cos(v0)
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8


def decomposition_one_line(x0, x1, x2):
    return np.sin(x0) + x1 * np.cos(x0) + x1 / x2


def decomposition_wrong_function(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v2 / v1
    v7 = v3 + v5
    v8 = v6 + v7
    return v8


# -- forward mode -------------------------------------------------------------------------------------------
def forward_seed(x0, x1, x2):
    v0 = x0
    dv0dx0 = 1  # The derivative of a variable with respect to itself is 1
    v1 = x1
    dv1dx0 = 0
    v2 = x2
    dv2dx0 = 0
    v3 = np.sin(v0)
    dv3dx0 = dv0dx0 * np.cos(v0)
    v4 = np.cos(v0)
    dv4dx0 = dv0dx0 * -np.sin(v0)
    v5 = v1 * v4
    dv5dx0 = v1 * dv4dx0 + v4 * dv1dx0
    v6 = v1 / v2
    dv6dx0 = (v2 * dv1dx0 - v1 * dv2dx0) / v2**2
    v7 = v3 + v5
    dv7dx0 = dv3dx0 + dv5dx0
    v8 = v6 + v7
    dv8dx0 = dv6dx0 + dv7dx0
    y = v8
    dydx0 = dv8dx0
    return y, dydx0


def forward_example_seed(x0, x1):
    # The course's worked example function1_dx0.
    v0 = x0
    dv0dx0 = 1
    v1 = x1
    dv1dx0 = 0
    v2 = v0 / v1
    dv2dx0 = (v1 * dv0dx0 - v0 * dv1dx0) / v1**2
    v3 = v0 * v2
    dv3dx0 = v0 * dv2dx0 + v2 * dv0dx0
    v4 = np.exp(v2)
    dv4dx0 = dv2dx0 * np.exp(v2)
    v5 = np.cos(v0)
    dv5dx0 = dv0dx0 * -np.sin(v0)
    v6 = v3 * v5
    dv6dx0 = v5 * dv3dx0 + v3 * dv5dx0
    v7 = v4 + v6
    dv7dx0 = dv4dx0 + dv6dx0
    y = v7
    dydx0 = dv7dx0
    return y, dydx0


def forward_example_dx1(x0, x1):
    # The same function differentiated with respect to x1, tangents spelled v_dot.
    v0 = x0
    v0_dot = 0.0
    v1 = x1
    v1_dot = 1.0
    v2 = v0 / v1
    v2_dot = (v1 * v0_dot - v0 * v1_dot) / v1**2
    v3 = v0 * v2
    v3_dot = v0 * v2_dot + v2 * v0_dot
    v4 = np.exp(v2)
    v4_dot = v4 * v2_dot
    v5 = np.cos(v0)
    v5_dot = -np.sin(v0) * v0_dot
    v6 = v3 * v5
    v6_dot = v5 * v3_dot + v3 * v5_dot
    v7 = v4 + v6
    v7_dot = v4_dot + v6_dot
    return v7, v7_dot


def forward_missing_term(x0, x1):
    v0 = x0
    dv0dx0 = 1
    v1 = x1
    dv1dx0 = 0
    v2 = v0 / v1
    dv2dx0 = (v1 * dv0dx0 - v0 * dv1dx0) / v1**2
    v3 = v0 * v2
    dv3dx0 = v0 * dv2dx0
    v4 = np.exp(v2)
    dv4dx0 = dv2dx0 * np.exp(v2)
    v5 = np.cos(v0)
    dv5dx0 = dv0dx0 * -np.sin(v0)
    v6 = v3 * v5
    dv6dx0 = v5 * dv3dx0 + v3 * dv5dx0
    v7 = v4 + v6
    dv7dx0 = dv4dx0 + dv6dx0
    return v7, dv7dx0


def forward_product_rule_swapped(x0, x1):
    v0 = x0
    dv0dx0 = 1
    v1 = x1
    dv1dx0 = 0
    v2 = v0 / v1
    dv2dx0 = (v1 * dv0dx0 - v0 * dv1dx0) / v1**2
    v3 = v0 * v2
    dv3dx0 = v0 * dv0dx0 + v2 * dv2dx0
    v4 = np.exp(v2)
    dv4dx0 = dv2dx0 * np.exp(v2)
    v5 = np.cos(v0)
    dv5dx0 = dv0dx0 * -np.sin(v0)
    v6 = v3 * v5
    dv6dx0 = v5 * dv3dx0 + v3 * dv5dx0
    v7 = v4 + v6
    dv7dx0 = dv4dx0 + dv6dx0
    return v7, dv7dx0


def forward_cos_derivative_wrong(x0, x1, x2):
    v0 = x0
    dv0dx0 = 1
    v1 = x1
    dv1dx0 = 0
    v2 = x2
    dv2dx0 = 0
    v3 = np.sin(v0)
    dv3dx0 = dv0dx0 * np.cos(v0)
    v4 = np.cos(v0)
    dv4dx0 = dv0dx0 * np.cos(v0)
    v5 = v1 * v4
    dv5dx0 = v1 * dv4dx0 + v4 * dv1dx0
    v6 = v1 / v2
    dv6dx0 = (v2 * dv1dx0 - v1 * dv2dx0) / v2**2
    v7 = v3 + v5
    dv7dx0 = dv3dx0 + dv5dx0
    v8 = v6 + v7
    dv8dx0 = dv6dx0 + dv7dx0
    return v8, dv8dx0


def forward_cos_sign(x0, x1, x2):
    v0 = x0
    dv0dx0 = 1
    v1 = x1
    dv1dx0 = 0
    v2 = x2
    dv2dx0 = 0
    v3 = np.sin(v0)
    dv3dx0 = dv0dx0 * np.cos(v0)
    v4 = np.cos(v0)
    dv4dx0 = dv0dx0 * np.sin(v0)
    v5 = v1 * v4
    dv5dx0 = v1 * dv4dx0 + v4 * dv1dx0
    v6 = v1 / v2
    dv6dx0 = (v2 * dv1dx0 - v1 * dv2dx0) / v2**2
    v7 = v3 + v5
    dv7dx0 = dv3dx0 + dv5dx0
    v8 = v6 + v7
    dv8dx0 = dv6dx0 + dv7dx0
    return v8, dv8dx0


def forward_bad_seed(x0, x1, x2):
    v0 = x0
    dv0dx0 = 1
    v1 = x1
    dv1dx0 = 1
    v2 = x2
    dv2dx0 = 0
    v3 = np.sin(v0)
    dv3dx0 = dv0dx0 * np.cos(v0)
    v4 = np.cos(v0)
    dv4dx0 = dv0dx0 * -np.sin(v0)
    v5 = v1 * v4
    dv5dx0 = v1 * dv4dx0 + v4 * dv1dx0
    v6 = v1 / v2
    dv6dx0 = (v2 * dv1dx0 - v1 * dv2dx0) / v2**2
    v7 = v3 + v5
    dv7dx0 = dv3dx0 + dv5dx0
    v8 = v6 + v7
    dv8dx0 = dv6dx0 + dv7dx0
    return v8, dv8dx0


def forward_quotient_no_square(x0, x1):
    # d/dx1 of the worked example; the quotient rule divides by v1 instead of v1**2.
    v0 = x0
    dv0dx1 = 0
    v1 = x1
    dv1dx1 = 1
    v2 = v0 / v1
    dv2dx1 = (v1 * dv0dx1 - v0 * dv1dx1) / v1
    v3 = v0 * v2
    dv3dx1 = v0 * dv2dx1 + v2 * dv0dx1
    v4 = np.exp(v2)
    dv4dx1 = dv2dx1 * np.exp(v2)
    v5 = np.cos(v0)
    dv5dx1 = dv0dx1 * -np.sin(v0)
    v6 = v3 * v5
    dv6dx1 = v5 * dv3dx1 + v3 * dv5dx1
    v7 = v4 + v6
    dv7dx1 = dv4dx1 + dv6dx1
    return v7, dv7dx1


def forward_wrong_input(x0, x1, x2):
    # Seeds x1 instead of x0: a correct derivative, with respect to the wrong input.
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8, v4 + 1 / v2


def forward_finite_difference(x0, x1, x2):
    h = 1e-7
    y = np.sin(x0) + x1 * np.cos(x0) + x1 / x2
    y_h = np.sin(x0 + h) + x1 * np.cos(x0 + h) + x1 / x2
    return y, (y_h - y) / h


def forward_swapped(x0, x1, x2):
    y, dy = forward_seed(x0, x1, x2)
    return dy, y


# -- reverse mode -------------------------------------------------------------------------------------------
def reverse_seed_fixed(x0, x1, x2):
    # The seed's solution with `np.` added to cos and sin.
    # Forward Pass
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7

    # Fill in the backward pass
    vbar8 = 1
    # Considering v7, one pathway via v8
    dv8dv7 = 1
    vbar7 = vbar8 * dv8dv7
    # Considering v6, one pathway via v8
    dv8dv6 = 1
    vbar6 = vbar8 * dv8dv6
    # Considering v5, one pathway via v7
    dv7dv5 = 1
    vbar5 = vbar7 * dv7dv5
    # Considering v4, one pathway via v5
    dv5dv4 = v1
    vbar4 = vbar5 * dv5dv4
    # Considering v3, one pathway via v7
    dv7dv3 = 1
    vbar3 = vbar7 * dv7dv3
    # Considering v2, one pathway via v6
    dv6dv2 = -1 * v1 / v2**2
    vbar2 = vbar6 * dv6dv2
    # Considering v1, two pathways via v5 and v6
    dv5dv1 = v4
    dv6dv1 = 1 / v2
    vbar1 = vbar5 * dv5dv1 + vbar6 * dv6dv1
    # Considering v0, two pathways via v3 and v4
    dv3dv0 = np.cos(v0)
    dv4dv0 = -np.sin(v0)
    vbar0 = vbar3 * dv3dv0 + vbar4 * dv4dv0
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_seed_as_given(x0, x1, x2):
    # The seed's solution exactly as printed: `cos` and `sin` without `np.`.
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
    dv8dv7 = 1
    vbar7 = vbar8 * dv8dv7
    dv8dv6 = 1
    vbar6 = vbar8 * dv8dv6
    dv7dv5 = 1
    vbar5 = vbar7 * dv7dv5
    dv5dv4 = v1
    vbar4 = vbar5 * dv5dv4
    dv7dv3 = 1
    vbar3 = vbar7 * dv7dv3
    dv6dv2 = -1 * v1 / v2**2
    vbar2 = vbar6 * dv6dv2
    dv5dv1 = v4
    dv6dv1 = 1 / v2
    vbar1 = vbar5 * dv5dv1 + vbar6 * dv6dv1
    dv3dv0 = cos(v0)
    dv4dv0 = -sin(v0)
    vbar0 = vbar3 * dv3dv0 + vbar4 * dv4dv0
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_example_seed(x0, x1):
    # The course's worked example function1_reverse.
    v0 = x0
    v1 = x1
    v2 = v0 / v1
    v3 = v0 * v2
    v4 = np.exp(v2)
    v5 = np.cos(v0)
    v6 = v3 * v5
    v7 = v4 + v6
    y = v7
    vbar7 = 1
    dv7dv6 = 1
    vbar6 = vbar7 * dv7dv6
    dv6dv5 = v3
    vbar5 = vbar6 * dv6dv5
    dv7dv4 = 1
    vbar4 = vbar7 * dv7dv4
    dv6dv3 = v5
    vbar3 = vbar6 * dv6dv3
    dv3dv2 = v0
    dv4dv2 = np.exp(v2)
    vbar2 = vbar3 * dv3dv2 + vbar4 * dv4dv2
    dv2dv1 = -v0 / v1**2
    vbar1 = vbar2 * dv2dv1
    dv2dv0 = 1 / v1
    dv3dv0 = v2
    dv5dv0 = -np.sin(v0)
    vbar0 = vbar2 * dv2dv0 + vbar3 * dv3dv0 + vbar5 * dv5dv0
    return y, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7


def reverse_alternative(x0, x1, x2):
    # Valid variations: math functions, numpy scalars, float seeds, other spellings, a helper local,
    # and a numbering that differs from the creation order (v4 made before v3).
    v0 = x0
    v1 = x1
    v2 = x2
    v4 = math.cos(v0)
    v3 = math.sin(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    v8_bar = np.float64(1.0)
    helper = v8_bar
    v7_bar = helper
    v6_bar = helper
    v5_bar = v7_bar
    v4_bar = v5_bar * v1
    v3_bar = v7_bar
    v2_bar = -v6_bar * v1 / (v2 * v2)
    v1_bar = v5_bar * v4 + v6_bar / v2
    v0_bar = v3_bar * math.cos(v0) - v4_bar * math.sin(v0)
    return v8, v0_bar, v1_bar, v2_bar, v3_bar, v4_bar, v5_bar, v6_bar, v7_bar, v8_bar


def reverse_missing_path(x0, x1, x2):
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
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_sign_of_one_path(x0, x1, x2):
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
    vbar0 = vbar3 * np.cos(v0) + vbar4 * np.sin(v0)
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_cos_used_for_its_derivative(x0, x1, x2):
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
    vbar0 = vbar3 * np.cos(v0) + vbar4 * np.cos(v0)
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_product_rule_slip(x0, x1, x2):
    # d(v1*v4)/dv4 is v1; this student used v4.
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
    vbar4 = vbar5 * v4
    vbar3 = vbar7
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 / v2
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_quotient_rule_slip(x0, x1, x2):
    # d(v1/v2)/dv2 is -v1/v2**2; this student forgot the numerator.
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
    vbar2 = vbar6 * (-1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 / v2
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_wrong_input_of_division(x0, x1, x2):
    # For vbar1 the path through v6 needs d(v1/v2)/dv1 = 1/v2; this student used d/dv2 = -v1/v2**2.
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
    vbar1 = vbar5 * v4 + vbar6 * (-v1 / v2**2)
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_bad_seed(x0, x1, x2):
    # The output's adjoint seeded with 2: every other adjoint is wrong only because of it.
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    vbar8 = 2
    vbar7 = vbar8
    vbar6 = vbar8
    vbar5 = vbar7
    vbar4 = vbar5 * v1
    vbar3 = vbar7
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 / v2
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_inherited(x0, x1, x2):
    # vbar4 is wrong (sign); vbar0 uses it correctly, so vbar0 is wrong only by inheritance.
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
    vbar4 = -vbar5 * v1
    vbar3 = vbar7
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 / v2
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_example_wrong_neighbour(x0, x1):
    # vbar1 must come from vbar2 (v1 is used by v2 only); this student took vbar3.
    v0 = x0
    v1 = x1
    v2 = v0 / v1
    v3 = v0 * v2
    v4 = np.exp(v2)
    v5 = np.cos(v0)
    v6 = v3 * v5
    v7 = v4 + v6
    vbar7 = 1
    vbar6 = vbar7
    vbar5 = vbar6 * v3
    vbar4 = vbar7
    vbar3 = vbar6 * v5
    vbar2 = vbar3 * v0 + vbar4 * np.exp(v2)
    vbar1 = vbar3 * (-v0 / v1**2)
    vbar0 = vbar2 / v1 + vbar3 * v2 + vbar5 * (-np.sin(v0))
    return v7, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7


def reverse_swapped_order(x0, x1, x2):
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
    return v8, vbar1, vbar0, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_too_few_values(x0, x1, x2):
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
    return v8, vbar0, vbar1, vbar2


def reverse_finite_differences(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    h = 1e-6
    vbar8 = 1
    vbar7 = vbar8
    vbar6 = vbar8
    vbar5 = vbar7
    vbar4 = vbar5 * v1
    vbar3 = vbar7
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 / v2
    vbar0 = ((np.sin(v0 + h) + v1 * np.cos(v0 + h)) - (np.sin(v0) + v1 * np.cos(v0))) / h
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_nan(x0, x1, x2):
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
    vbar0 = float("nan")
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_not_a_number(x0, x1, x2):
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
    vbar2 = "vbar6 * dv6dv2"
    vbar1 = vbar5 * v4 + vbar6 / v2
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def never_returns(x0, x1, x2):
    while True:
        x0 = x0 + 1


def divides_by_zero(x0, x1, x2):
    v0 = x0
    v1 = v0 - v0
    return x1 / v1


def reverse_missing_path_through_v5(x0, x1, x2):
    # The path through v5 contributes vbar5 * v4 = cos(x0): invisible where cos(x0) = 0.
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
    vbar1 = vbar6 / v2
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8
