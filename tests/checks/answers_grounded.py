"""Answers whose mistakes are easy to misdescribe: the right diagnosis is in what the line says, not only in
its number. Written for tests/checks/test_check_grounded.py from the kinds of answers an outside review sent
(a value where its adjoint belongs, a derivative computed and then not returned, numbers written into the
return line, adjoints returned backwards, a name reassigned in a loop).

Each answer is a course solution of answers_by_hand with one change to its text, defined from that text as a
notebook cell is (``generate.compile_function``), so the checker can read its lines. The exercise is
y = sin(x0) + x1 cos(x0) + x1/x2 (``Y``).
"""

import inspect

import answers_by_hand as S
import numpy as np
from generate import compile_function

Y = S.Y
#: The visible point, then two hidden ones (inputs that make every adjoint of x0, x1, x2 change).
POINTS = [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5], [-2.0, 0.5, -1.5]]


def _changed(solution, name: str, *changes: tuple[str, str]):
    """``solution``'s text with each ``(old, new)`` applied (each must be there), as the function ``name``."""
    text = inspect.getsource(solution).replace(f"def {solution.__name__}(", f"def {name}(")
    for old, new in changes:
        assert old in text, (name, old)
        text = text.replace(old, new)
    return compile_function(text, name)


_REVERSE_RETURN = "return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8"

# The value of v7 where its adjoint vbar7 belongs.
reverse_value_for_adjoint = _changed(S.reverse_seed_fixed, "reverse_value_for_adjoint",
                                     ("vbar5 = vbar7 * dv7dv5", "vbar5 = v7"))
# The value v5 where its tangent dv5dx0 belongs.
forward_value_for_tangent = _changed(S.forward_seed, "forward_value_for_tangent",
                                     ("dv7dx0 = dv3dx0 + dv5dx0", "dv7dx0 = dv3dx0 + v5"))
# Every tangent right, and then a number returned as the derivative.
forward_computed_but_zero_returned = _changed(S.forward_seed, "forward_computed_but_zero_returned",
                                              ("return y, dydx0", "return y, 0.0"))
# No tangent at all: the derivative is a number in the return line.
forward_no_tangents_zero_returned = _changed(S.decomposition_seed, "forward_no_tangents_zero_returned",
                                             ("return v8", "return v8, 0.0"))
# The right derivative at the visible point, made to look computed.
forward_constant_plus_zero_times_input = _changed(
    S.decomposition_seed, "forward_constant_plus_zero_times_input",
    ("return v8", "return v8, x0 * 0.0 + (-2.5644364088007556)"))
reverse_adjoints_constant_plus_zero = _changed(
    S.reverse_seed_fixed, "reverse_adjoints_constant_plus_zero",
    ("vbar1 = vbar5 * dv5dv1 + vbar6 * dv6dv1", "vbar1 = x1 * 0.0 + 1.2013693338783415"))
# No adjoint computed: numbers (or nothing) written into the return line.
reverse_zeros_in_the_return_line = _changed(S.decomposition_seed, "reverse_zeros_in_the_return_line",
                                            ("return v8", "return v8" + ", 0.0" * 9))
reverse_nothing_in_the_return_line = _changed(S.decomposition_seed, "reverse_nothing_in_the_return_line",
                                              ("return v8", "return v8" + ", None" * 9))
# The seed slip with every other line written right: those lines follow from it.
reverse_seed_zero_every_line_written = _changed(S.reverse_seed_fixed, "reverse_seed_zero_every_line_written",
                                                ("vbar8 = 1\n", "vbar8 = 0\n"))
# vbar5 where vbar6 belongs (both are 1 at every point) and a factor v4 that belongs nowhere here.
reverse_extra_factor_and_equal_neighbour = _changed(
    S.reverse_seed_fixed, "reverse_extra_factor_and_equal_neighbour",
    ("vbar2 = vbar6 * dv6dv2", "vbar2 = vbar5 * dv6dv2 * v4"))
reverse_adjoints_backwards = _changed(
    S.reverse_seed_fixed, "reverse_adjoints_backwards",
    (_REVERSE_RETURN, "return v8, vbar8, vbar7, vbar6, vbar5, vbar4, vbar3, vbar2, vbar1, vbar0"))
# The same value, a new step each time, all held by the one name t (or v0).
reverse_loop_reassigns_a_name = _changed(
    S.reverse_seed_fixed, "reverse_loop_reassigns_a_name",
    ("v3 = np.sin(v0)", "t = v0\n    for _ in range(12):\n        t = (t + t) * 0.5\n    v3 = np.sin(t)"))
decomposition_loop_reassigns_a_name = _changed(
    S.decomposition_seed, "decomposition_loop_reassigns_a_name",
    ("v3 = np.sin(v0)", "for _ in range(12):\n        v0 = v0 + v0\n    v0 = v0 / 2**12\n    v3 = np.sin(v0)"))


def forward_central_difference(x0, x1, x2):
    h = 1e-5
    f = lambda a: np.sin(a) + x1 * np.cos(a) + x1 / x2  # noqa: E731
    return f(x0), (f(x0 + h) - f(x0 - h)) / (2 * h)


F = "(x0**2/x1)*np.cos(x0) + np.exp(x0/x1)"
POINTS_F = [[1.8, 2.4], [1.0, 1.0], [-0.7, 1.9]]


def unreadable(fn):
    """``fn`` defined again from its text by exec with no source file behind it (as code run through ``exec``
    is): ``inspect`` cannot read its lines, so the checker must say only what the numbers show."""
    import textwrap

    namespace = {"np": np}
    exec(compile(textwrap.dedent(inspect.getsource(fn)), "<no file>", "exec"), namespace)  # noqa: S102
    return namespace[fn.__name__]
