"""Answers whose mistakes are easy to misdescribe: the right diagnosis is in what the line says, not only in
its number. Written for tests/checks/test_check_grounded.py from the kinds of answers an outside review sent
(a value where its adjoint belongs, a derivative computed and then not returned, numbers written into the
return line, adjoints returned backwards, a name reassigned in a loop).

The exercise is y = sin(x0) + x1 cos(x0) + x1/x2 (``Y``), decomposed as in the course: v3 = sin(v0),
v4 = cos(v0), v5 = v1 v4, v6 = v1/v2, v7 = v3 + v5, v8 = v6 + v7.
"""

import numpy as np

Y = "np.sin(x0) + x1*np.cos(x0) + x1/x2"
#: The visible point, then two hidden ones (inputs that make every adjoint of x0, x1, x2 change).
POINTS = [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5], [-2.0, 0.5, -1.5]]


def _forward(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v0, v1, v2, v3, v4, v5, v6, v7, v8


def reverse_value_for_adjoint(x0, x1, x2):
    v0, v1, v2, v3, v4, v5, v6, v7, v8 = _forward(x0, x1, x2)
    vbar8 = 1.0
    vbar7 = vbar8 * 1.0
    vbar6 = vbar8 * 1.0
    vbar5 = v7  # the value of v7 where its adjoint vbar7 belongs
    vbar4 = vbar5 * v1
    vbar3 = vbar7 * 1.0
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 * (1 / v2)
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def forward_value_for_tangent(x0, x1, x2):
    v0, v1, v2, v3, v4, v5, v6, v7, v8 = _forward(x0, x1, x2)
    dv0dx0, dv1dx0, dv2dx0 = 1.0, 0.0, 0.0
    dv3dx0 = np.cos(v0) * dv0dx0
    dv4dx0 = -np.sin(v0) * dv0dx0
    dv5dx0 = v1 * dv4dx0 + v4 * dv1dx0  # noqa: F841 - written, then not used: the slip
    dv6dx0 = (v2 * dv1dx0 - v1 * dv2dx0) / v2**2
    dv7dx0 = dv3dx0 + v5  # the value v5 where its tangent dv5dx0 belongs
    dv8dx0 = dv6dx0 + dv7dx0
    return v8, dv8dx0


def forward_computed_but_zero_returned(x0, x1, x2):
    v0, v1, v2, v3, v4, v5, v6, v7, v8 = _forward(x0, x1, x2)
    dv0dx0, dv1dx0, dv2dx0 = 1.0, 0.0, 0.0
    dv3dx0 = np.cos(v0) * dv0dx0
    dv4dx0 = -np.sin(v0) * dv0dx0
    dv5dx0 = v1 * dv4dx0 + v4 * dv1dx0
    dv6dx0 = (v2 * dv1dx0 - v1 * dv2dx0) / v2**2
    dv7dx0 = dv3dx0 + dv5dx0
    dv8dx0 = dv6dx0 + dv7dx0  # noqa: F841 - computed, then not returned: the slip
    return v8, 0.0


def forward_no_tangents_zero_returned(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8, 0.0


def forward_constant_plus_zero_times_input(x0, x1, x2):
    # The right derivative at the visible point, made to look computed.
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8, x0 * 0.0 + (-2.5644364088007556)


def reverse_adjoints_constant_plus_zero(x0, x1, x2):
    v0, v1, v2, v3, v4, v5, v6, v7, v8 = _forward(x0, x1, x2)
    vbar8 = 1.0
    vbar7 = vbar8 * 1.0
    vbar6 = vbar8 * 1.0
    vbar5 = vbar7 * 1.0
    vbar4 = vbar5 * v1
    vbar3 = vbar7 * 1.0
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = x1 * 0.0 + 1.2013693338783415  # right at the visible point only
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_zeros_in_the_return_line(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0


def reverse_nothing_in_the_return_line(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8, None, None, None, None, None, None, None, None, None


def reverse_seed_zero_every_line_written(x0, x1, x2):
    v0, v1, v2, v3, v4, v5, v6, v7, v8 = _forward(x0, x1, x2)
    vbar8 = 0.0  # the seed slip: every other line is right
    vbar7 = vbar8 * 1.0
    vbar6 = vbar8 * 1.0
    vbar5 = vbar7 * 1.0
    vbar4 = vbar5 * v1
    vbar3 = vbar7 * 1.0
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 * (1 / v2)
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_extra_factor_and_equal_neighbour(x0, x1, x2):
    v0, v1, v2, v3, v4, v5, v6, v7, v8 = _forward(x0, x1, x2)
    vbar8 = 1.0
    vbar7 = vbar8 * 1.0
    vbar6 = vbar8 * 1.0
    vbar5 = vbar7 * 1.0
    vbar4 = vbar5 * v1
    vbar3 = vbar7 * 1.0
    # vbar5 where vbar6 belongs (both are 1 at every point) and a factor v4 that belongs nowhere here.
    vbar2 = vbar5 * (-v1 / v2**2) * v4
    vbar1 = vbar5 * v4 + vbar6 * (1 / v2)
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def reverse_adjoints_backwards(x0, x1, x2):
    v0, v1, v2, v3, v4, v5, v6, v7, v8 = _forward(x0, x1, x2)
    vbar8 = 1.0
    vbar7 = vbar8 * 1.0
    vbar6 = vbar8 * 1.0
    vbar5 = vbar7 * 1.0
    vbar4 = vbar5 * v1
    vbar3 = vbar7 * 1.0
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 * (1 / v2)
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar8, vbar7, vbar6, vbar5, vbar4, vbar3, vbar2, vbar1, vbar0


def reverse_loop_reassigns_a_name(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    t = v0
    for _ in range(12):
        t = (t + t) * 0.5  # the same value, a new node each time, all held by the one name t
    v3 = np.sin(t)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    vbar8 = 1.0
    vbar7 = vbar8 * 1.0
    vbar6 = vbar8 * 1.0
    vbar5 = vbar7 * 1.0
    vbar4 = vbar5 * v1
    vbar3 = vbar7 * 1.0
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = vbar5 * v4 + vbar6 * (1 / v2)
    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def decomposition_loop_reassigns_a_name(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    for _ in range(12):
        v0 = v0 + v0
    v0 = v0 / 2**12
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8


def forward_central_difference(x0, x1, x2):
    h = 1e-5
    f = lambda a: np.sin(a) + x1 * np.cos(a) + x1 / x2  # noqa: E731
    return f(x0), (f(x0 + h) - f(x0 - h)) / (2 * h)


F = "(x0**2/x1)*np.cos(x0) + np.exp(x0/x1)"
POINTS_F = [[1.8, 2.4], [1.0, 1.0], [-0.7, 1.9]]


def unreadable(fn):
    """``fn`` defined again from its text by exec with no source file behind it (as code run through ``exec``
    is): ``inspect`` cannot read its lines, so the checker must say only what the numbers show."""
    import inspect
    import textwrap

    namespace = {"np": np}
    exec(compile(textwrap.dedent(inspect.getsource(fn)), "<no file>", "exec"), namespace)  # noqa: S102
    return namespace[fn.__name__]
