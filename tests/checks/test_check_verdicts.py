"""Every hand-written answer of tests/checks/answers_by_hand.py gets the verdict, culprit and diagnosis it
deserves.

The expected culprits and mistake codes were worked out by hand from each answer's one slip (see the comments
in answers_by_hand.py); scores follow from counting parts: a right part earns 1, a part wrong only because it
inherits an earlier mistake earns 1/2, and a wrong part 0."""

import answers_by_hand as S
import pytest

from autodiff_course.checks import check_decomposition, check_forward, check_reverse

# name, kind, reference, wrt, status, culprit, first mistake code, score (None: not pinned here)
CASES = [
    # correct answers, including the seed's solutions (the reverse one with np. added)
    ("decomposition_seed", "decomposition", "Y", 0, "ok", None, None, 1.0),
    ("decomposition_renumbered_math", "decomposition", "Y", 0, "ok", None, None, 1.0),
    ("forward_seed", "forward", "Y", 0, "ok", None, None, 1.0),
    ("forward_example_seed", "forward", "F", 0, "ok", None, None, 1.0),
    ("forward_example_dx1", "forward", "F", 1, "ok", None, None, 1.0),
    ("reverse_seed_fixed", "reverse", "Y", 0, "ok", None, None, 1.0),
    ("reverse_example_seed", "reverse", "F", 0, "ok", None, None, 1.0),
    ("reverse_alternative", "reverse", "Y", 0, "ok", None, None, 1.0),
    # decomposition mistakes: y right (1/2) and 6 of 7 operations in their own variable (6/7 of 1/2)
    ("decomposition_two_ops_on_a_line", "decomposition", "Y", 0, "failed", "v5", "not-elementary", None),
    ("decomposition_one_line", "decomposition", "Y", 0, "failed", "y", "not-elementary", 0.5),
    # the culprit is the first variable whose value the function never computes (v6 = v2 / v1), not y
    ("decomposition_wrong_function", "decomposition", "Y", 0, "failed", "v6", "wrong-function", 0.5),
    # forward mode
    ("forward_missing_term", "forward", "F", 0, "failed", "dv3dx0", "missing-term", None),
    ("forward_product_rule_swapped", "forward", "F", 0, "failed", "dv3dx0", "product-rule", None),
    ("forward_quotient_no_square", "forward", "F", 1, "failed", "dv2dx1", "quotient-rule", None),
    ("forward_cos_derivative_wrong", "forward", "Y", 0, "failed", "dv4dx0", "wrong-local-derivative", None),
    ("forward_cos_sign", "forward", "Y", 0, "failed", "dv4dx0", "sign", None),
    ("forward_bad_seed", "forward", "Y", 0, "failed", "dv1dx0", "seed", None),
    ("forward_wrong_input", "forward", "Y", 0, "failed", None, "wrong-input", 0.5),
    ("forward_finite_difference", "forward", "Y", 0, "failed", None, "finite-difference", 0.5),
    ("forward_swapped", "forward", "Y", 0, "failed", "y", "swapped-order", 0.0),
    # reverse mode: 10 parts (y and 9 adjoints)
    ("reverse_missing_path", "reverse", "Y", 0, "failed", "vbar1", "missing-path", 0.9),
    ("reverse_sign_of_one_path", "reverse", "Y", 0, "failed", "vbar0", "sign", 0.9),
    (
        "reverse_cos_used_for_its_derivative",
        "reverse",
        "Y",
        0,
        "failed",
        "vbar0",
        "wrong-local-derivative",
        0.9,
    ),
    # vbar4 wrong, vbar0 inherits it: (8 + 0 + 0.5) / 10
    ("reverse_product_rule_slip", "reverse", "Y", 0, "failed", "vbar4", "product-rule", 0.85),
    ("reverse_inherited", "reverse", "Y", 0, "failed", "vbar4", "sign", 0.85),
    ("reverse_quotient_rule_slip", "reverse", "Y", 0, "failed", "vbar2", "quotient-rule", 0.9),
    ("reverse_wrong_input_of_division", "reverse", "Y", 0, "failed", "vbar1", "wrong-input", 0.9),
    # the seed is wrong and the 8 other adjoints only inherit it: (1 + 0 + 8 * 0.5) / 10
    ("reverse_bad_seed", "reverse", "Y", 0, "failed", "vbar8", "seed", 0.5),
    ("reverse_example_wrong_neighbour", "reverse", "F", 0, "failed", "vbar1", "wrong-neighbour", 8 / 9),
    # every adjoint right, but the returned tuple is wrong: 10 of 11 parts
    ("reverse_swapped_order", "reverse", "Y", 0, "failed", "vbar0", "swapped-order", 9 / 11),
    ("reverse_too_few_values", "reverse", "Y", 0, "failed", None, "wrong-return-count", 10 / 11),
    ("reverse_finite_differences", "reverse", "Y", 0, "failed", "vbar0", "finite-difference", 0.9),
    ("reverse_nan", "reverse", "Y", 0, "failed", "vbar0", "not-a-number", 0.9),
    ("reverse_not_a_number", "reverse", "Y", 0, "failed", "vbar2", "not-a-number", 0.9),
]

CHECKS = {"decomposition": check_decomposition, "forward": check_forward, "reverse": check_reverse}


def run(name, kind, ref, wrt, **opts):
    fn = getattr(S, name)
    reference = S.Y if ref == "Y" else S.F
    points = S.POINT_Y if ref == "Y" else S.POINT_F
    if kind == "forward":
        opts["wrt"] = wrt
    return CHECKS[kind](fn, reference, points=points, **opts)


@pytest.mark.parametrize("name,kind,ref,wrt,status,culprit,code,score", CASES, ids=[c[0] for c in CASES])
def test_answer_gets_its_verdict_culprit_and_diagnosis(name, kind, ref, wrt, status, culprit, code, score):
    result = run(name, kind, ref, wrt)
    assert result.status == status, result.feedback
    assert result.passed == (status == "ok")
    assert result.culprit == culprit, result.feedback
    if code is None:
        assert result.mistakes == [] and result.score == 1.0
    else:
        assert result.mistakes[0] == code, result.feedback
        assert result.score < 1.0
    if score is not None:
        assert result.score == pytest.approx(score, abs=1e-6)


def test_missing_path_names_the_uses_and_the_path_taken():
    result = run("reverse_missing_path", "reverse", "Y", 0, notebook_reveal="solution")
    assert (
        "v1 is used by v5 and v6; your vbar1 only has the path through v5. An adjoint adds up the "
        "contributions of every use."
    ) in result.messages[0]
    assert result.solution == "vbar1 = vbar5 * v4 + vbar6 * (1/v2)"
    assert result.messages[-1] == "The corrected line: vbar1 = vbar5 * v4 + vbar6 * (1/v2)"


def test_wrong_local_derivative_quotes_the_primitive_rule():
    result = run("reverse_cos_used_for_its_derivative", "reverse", "Y", 0)
    assert "d/dv0 cos(v0) is -sin(v0)" in result.messages[0]


def test_inherited_adjoints_are_consequences_not_mistakes():
    result = run("reverse_bad_seed", "reverse", "Y", 0)
    statuses = {r["label"]: r["status"] for r in result.rows}
    assert statuses["vbar8"] == "wrong"
    assert [statuses[f"vbar{i}"] for i in range(8)] == ["inherited"] * 8
    assert result.mistakes == ["seed"]


def test_decomposition_names_the_line_and_the_hidden_operation():
    result = run("decomposition_two_ops_on_a_line", "decomposition", "Y", 0)
    assert (
        "`v5 = v1 * np.cos(v0)` is not a decomposition: it does 2 operations at once. Give cos(v0) its own "
        "intermediate variable" in result.messages[0]
    )


def test_finite_differences_are_called_close_but_not_exact():
    result = run("reverse_finite_differences", "reverse", "Y", 0)
    assert "close to the exact value but not exact" in result.messages[0]
    assert "automatic differentiation" in result.messages[0]


def test_seed_solution_as_printed_is_an_error_naming_its_line_and_the_fix():
    result = run("reverse_seed_as_given", "reverse", "Y", 0)
    assert result.status == "error" and result.score == 0.0
    assert "`dv3dv0 = cos(v0)`" in result.feedback
    assert "NameError: name 'cos' is not defined" in result.feedback
    assert "write `np.cos`" in result.feedback


def test_exception_in_student_code_is_an_error_result_not_a_crash():
    result = check_reverse(S.divides_by_zero, S.Y, points=S.POINT_Y)
    assert result.status == "error"
    assert "ZeroDivisionError" in result.feedback and "`return x1 / v1`" in result.feedback


def test_code_that_never_returns_times_out_with_a_message():
    result = check_reverse(S.never_returns, S.Y, points=S.POINT_Y, time_limit=0.3)
    assert result.status == "timeout" and result.score == 0.0
    assert "time limit of 0.3 s" in result.feedback


def test_correct_answer_passes_at_hidden_and_random_points_too():
    result = check_reverse(
        S.reverse_seed_fixed,
        S.Y,
        points=S.POINT_Y,
        hidden_points=[[0.3, -1.2, 2.5]],
        random_points=3,
        domain=["abs(x2) > 0.2"],
    )
    assert result.passed, result.feedback


def test_a_mistake_hidden_at_the_visible_point_is_caught_at_a_hidden_point():
    # The missing path through v5 contributes vbar5 * v4 = cos(x0), which vanishes at x0 = pi/2: there the
    # slip
    # cannot be seen, so the visible check passes; the hidden point x0 = 1.8 catches it.
    import math

    visible = [[math.pi / 2, 2.4, 0.7]]
    fn = S.reverse_missing_path_through_v5
    assert check_reverse(fn, S.Y, points=visible).passed
    hidden = check_reverse(fn, S.Y, points=visible, hidden_points=[[1.8, 2.4, 0.7]], show_expected=False)
    assert not hidden.passed and hidden.culprit == "vbar1" and hidden.mistakes[0] == "missing-path"
    # A hidden point's inputs are never spelled out; the feedback says the visible point was right.
    assert hidden.messages[0].startswith("Right at the visible test point, wrong at the only hidden test point")
    assert "at one of the hidden test points" in hidden.messages[1] and "1.8" not in hidden.feedback
    shown = check_reverse(fn, S.Y, points=visible, hidden_points=[[1.8, 2.4, 0.7]])
    assert "1.8" not in shown.feedback and shown.point is None and shown.expected == {}
    assert hidden.point is None


def test_powers_of_negative_numbers_are_checked_like_any_other_value():
    # d(x**2)/d(2) = x**2 log(x) is undefined for x < 0; the checker never needs it (2 is a constant).
    def square_reverse(x0):
        v0 = x0
        v1 = v0**2
        vbar1 = 1
        vbar0 = vbar1 * 2 * v0
        return v1, vbar0, vbar1

    def square_forward(x0):
        v0 = x0
        dv0 = 1
        v1 = v0**2
        dv1 = 2 * v0 * dv0
        return v1, dv1

    assert check_reverse(square_reverse, "x0**2", points=[[-1.5], [0.0]]).passed
    assert check_forward(square_forward, "x0**2", points=[[-1.5], [0.0]]).passed
