"""A diagnosis says only what the student's line and numbers show, names only variables the student wrote, and
the score can be read off the parts (tests/checks/answers_grounded.py has the answers and why each is
tricky)."""

import re

import answers_attacks as A
import answers_grounded as G
import numpy as np
import pytest

from autodiff_course.checks import check_decomposition, check_forward, check_reverse

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

#: The visible point first, the other two hidden (a pasted number is right at the visible point only).
HIDDEN = {"points": G.POINTS[:1], "hidden_points": G.POINTS[1:]}


def test_a_value_used_where_its_adjoint_belongs_is_named_as_such():
    result = check_reverse(G.reverse_value_for_adjoint, G.Y, points=G.POINTS)
    assert result.culprit == "vbar5" and result.mistakes[0] == "value-for-derivative", result.feedback
    assert "vbar5 uses the value v7 where its adjoint vbar7 belongs" in result.feedback
    # Before: "vbar5 uses vbar5 where vbar7 belongs" (its own value taken for a neighbour's).
    assert "uses vbar5" not in result.feedback


def test_a_value_used_where_its_tangent_belongs_is_named_as_such():
    result = check_forward(G.forward_value_for_tangent, G.Y, points=G.POINTS)
    assert result.culprit == "dv7dx0" and result.mistakes[0] == "value-for-derivative", result.feedback
    assert "dv7dx0 uses the value v5 where its tangent dv5dx0 belongs" in result.feedback


def test_a_tangent_computed_but_a_constant_returned_is_said_so_and_scores_half_at_most():
    result = check_forward(G.forward_computed_but_zero_returned, G.Y, points=G.POINTS)
    assert result.mistakes[0] == "not-returned" and result.culprit is None, result.feedback
    assert re.search(r"returns is the number 0 written into your return line, not your d(v8|y)dx0", result.feedback)
    # Before: 0.9, and "your dv8dx0 only has the term through v6" of a dv8dx0 that is right.
    assert "only has the term" not in result.feedback
    assert "It is 0 at every test point" in result.feedback
    assert result.score <= 0.5


def test_a_derivative_written_as_a_number_without_any_tangent_is_a_pasted_constant():
    result = check_forward(G.forward_no_tangents_zero_returned, G.Y, points=G.POINTS)
    assert result.mistakes == ["pasted-constant"] and result.culprit is None, result.feedback
    assert "missing-term" not in result.mistakes and "only has the term" not in result.feedback


@pytest.mark.parametrize("check,fn,part", [
    (check_forward, G.forward_constant_plus_zero_times_input, "dy/dx0"),
    (check_reverse, G.reverse_adjoints_constant_plus_zero, "vbar1"),
])
def test_a_number_plus_zero_times_an_input_is_named_a_constant_not_a_chain_rule_slip(check, fn, part):
    result = check(fn, G.Y, **HIDDEN)
    assert not result.passed and result.mistakes[0] == "pasted-constant", result.feedback
    assert f"{part} is " in result.feedback and "at every test point" in result.feedback
    assert "does not follow the chain rule" not in result.feedback


def test_numbers_in_the_return_line_have_no_culprit_and_inherit_nothing():
    zeros = check_reverse(G.reverse_zeros_in_the_return_line, G.Y, points=G.POINTS)
    nothing = check_reverse(G.reverse_nothing_in_the_return_line, G.Y, points=G.POINTS)
    # Before: culprit vbar8 (never written), "Fix vbar8 first: vbar0, ... build on wrong values", score 0.5
    # against 0.1 for the same answer with None.
    assert zeros.culprit is None and nothing.culprit is None, zeros.feedback
    assert "Fix" not in zeros.feedback and "inherited" not in zeros.feedback
    assert zeros.score == nothing.score == pytest.approx(0.1)
    assert "your return line writes the number 0" in zeros.feedback
    # No variable of the student's holds these: each is called by its place in the return line, not by a
    # name the student never wrote (before: "vbar8 is None").
    assert "the 10th value you return is None, not a number" in nothing.feedback, nothing.feedback
    assert "NoneType" not in nothing.feedback and "vbar8" not in nothing.feedback


def test_a_seed_slip_with_every_line_written_keeps_the_credit_of_the_lines_that_follow_from_it():
    result = check_reverse(G.reverse_seed_zero_every_line_written, G.Y, points=G.POINTS)
    assert result.culprit == "vbar8" and result.score == pytest.approx(0.5), result.feedback
    assert "(1 of 10 parts right, 8 partly right, score 0.50)" in result.feedback


def test_an_extra_factor_is_named_and_an_equal_neighbour_is_said_to_be_invisible():
    result = check_reverse(G.reverse_extra_factor_and_equal_neighbour, G.Y, points=G.POINTS)
    assert result.culprit == "vbar2" and result.mistakes[0] == "extra-factor", result.feedback
    assert "your line multiplies by v4" in result.feedback
    # vbar5 and vbar6 are both 1 everywhere: the line shows the swap, the numbers cannot; say both.
    assert "reads vbar5 where vbar6 belongs; the two are equal here" in result.feedback
    assert "check the local derivative" not in result.feedback


def test_adjoints_returned_backwards_are_said_to_be_reversed_and_do_not_score_nearly_full_marks():
    result = check_reverse(G.reverse_adjoints_backwards, G.Y, points=G.POINTS)
    assert result.mistakes[0] == "swapped-order", result.feedback
    assert "in reverse order (vbar8 first, vbar0 last)" in result.feedback
    assert "holds vbar3" not in result.feedback  # many adjoints are 1: no single one is claimed
    assert result.score < 0.7  # before: 0.91


def test_a_name_reassigned_in_a_loop_is_one_variable_and_one_message():
    reverse = check_reverse(G.reverse_loop_reassigns_a_name, G.Y, points=G.POINTS)
    assert reverse.feedback.count("tbar") <= 4, reverse.feedback  # before: "tbar" 30 times, "return 40"
    assert "it should return 11" in reverse.feedback
    decomposition = check_decomposition(G.decomposition_loop_reassigns_a_name, G.Y, points=G.POINTS)
    assert decomposition.mistakes == ["reassigned"]
    assert decomposition.feedback.count("is assigned") == 1, decomposition.feedback
    assert "`v0` is assigned 12 more times" in decomposition.feedback


def test_two_different_numbers_never_read_the_same_in_the_table():
    result = check_forward(G.forward_central_difference, G.Y, points=G.POINTS[:1])
    row = re.search(r"dy/dx0: WRONG, yours (\S+), expected (\S+)", result.feedback)
    assert row is not None and row.group(1) != row.group(2), result.feedback


def test_an_unreadable_line_gets_only_what_the_numbers_show():
    # dv4dx1 = exp(v2), the factor dv2dx1 left out; dv1dx1 = 1, so "dv1dx1 in its place" fits the numbers.
    fn = G.unreadable(A.forward_example_dx1_tangent_left_out)
    result = check_forward(fn, G.F, wrt=1, points=G.POINTS_F)
    assert result.culprit == "dv4dx1" and result.mistakes[0] == "missing-factor", result.feedback
    # Before: "dv4dx1 uses dv1dx1 where dv2dx1 belongs", of a line that reads no tangent at all.
    assert "uses dv1dx1" not in result.feedback
    assert "dv4dx1 equals the local derivative exp(v2) alone" in result.feedback
    assert "using dv1dx1 (which is 1) in place of dv2dx1" in result.feedback  # the other reading, as such


@pytest.mark.parametrize("name", [n for n in dir(G) if n.startswith(("forward_", "reverse_"))])
def test_the_score_is_the_mean_credit_of_the_parts_the_headline_counts(name):
    check = check_forward if name.startswith("forward_") else check_reverse
    result = check(getattr(G, name), G.Y, points=G.POINTS)
    shares = [r["share"] for r in result.rows]
    assert result.score == pytest.approx(sum(shares) / len(shares), abs=1e-6), result.feedback
    right = sum(1 for s in shares if s == 1)
    partly = sum(1 for s in shares if 0 < s < 1)
    head = f"({right} of {len(shares)} parts right{f', {partly} partly right' if partly else ''}, score"
    assert head in result.feedback.splitlines()[0], result.feedback


@pytest.mark.parametrize("old,new,culprit", [
    ("v3 = np.sin(v0)", "v3 = np.cos(v0)", "v3"),
    ("v4 = np.cos(v0)", "v4 = np.sin(v0)", "v4"),
])
def test_a_value_computed_twice_in_place_of_one_never_computed_is_the_culprit(old, new, culprit):
    # cos computed twice and sin never (or the reverse): the first value off the function is the line that
    # reads the duplicate, but the slip is the duplicate's own line.
    answer = G._changed(G.S.reverse_seed_fixed, "reverse_duplicate", (old, new))
    result = check_reverse(answer, G.Y, points=G.POINTS)
    assert result.culprit == culprit and result.mistakes[0] == "wrong-function", result.feedback
    assert f"it reads {culprit} (line" in result.feedback and "already computes elsewhere" in result.feedback


@pytest.mark.parametrize("level", ["culprit", "hint", "solution"])
def test_the_headline_count_matches_the_score_at_every_reveal_level(level):
    from autodiff_course.checks.reveal import student_view

    result = check_forward(G.forward_computed_but_zero_returned, G.Y, points=G.POINTS)
    assert "(1 of 11 parts right, 9 partly right, score 0.50)" in student_view(result, level).feedback


def _forward_with(state):
    """The solution of the forward exercise that answers differently from call to call (``state`` "counter":
    dv4 has the wrong sign from the second call on; "default": a mutable default argument that grows per call;
    "type": a pasted, rounded number returned on plain floats)."""
    calls = [0]

    def function_dx0(x0, x1, x2, _acc=[0.0]):  # noqa: B006 - the mutable default is the point
        calls[0] += 1
        _acc[0] += 1.0
        v0, v1, v2 = x0, x1, x2
        dv0, dv1, dv2 = 1.0, 0.0, 0.0
        v3 = np.sin(v0)
        dv3 = np.cos(v0) * dv0
        v4 = np.cos(v0)
        dv4 = (np.sin(v0) if state == "counter" and calls[0] > 1 else -np.sin(v0)) * dv0
        v5 = v1 * v4
        dv5 = v1 * dv4 + v4 * dv1
        v6 = v1 / v2
        dv6 = (v2 * dv1 - v1 * dv2) / v2**2
        v7 = v3 + v5
        dv7 = dv3 + dv5
        v8 = v6 + v7
        dv8 = dv6 + dv7 * (_acc[0] if state == "default" else 1.0)
        if state == "type" and type(x0) is float:
            return v8, -2.564436409
        return v8, dv8

    return function_dx0


@pytest.mark.parametrize("state", ["counter", "default"])
def test_a_function_that_answers_differently_from_call_to_call_is_told_so_not_that_it_returns_another_value(state):
    # Before: "The derivative your function returns is -2.564436409, not your dv8 (= 2.110032219): return y and
    # dv8." The function does return dv8; the plain call (first) and the traced call (second) differ.
    result = check_forward(_forward_with(state), G.Y, points=G.POINTS[:1])
    assert not result.passed
    assert "not your dv8" not in result.feedback, result.feedback
    assert "Your function returns dv8" in result.feedback and "when it is traced" in result.feedback
    assert "no state kept from one call to the next" in result.feedback


def test_a_reciprocal_local_derivative_behind_an_adjoint_of_one_is_not_said_to_divide():
    # vbar6 is 1 at every point, so `vbar6 * v2` (the reciprocal of d v6/d v1 = 1/v2) and `vbar6 / (1/v2)` give
    # the same number. Before: "the term through v6 divides where the chain rule multiplies" for a line with no
    # division.
    def function_reverse(x0, x1, x2):
        v0, v1, v2 = x0, x1, x2
        v3 = np.sin(v0)
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
        vbar1 = vbar5 * v4 + vbar6 * v2
        vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))
        return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8

    result = check_reverse(function_reverse, G.Y, points=G.POINTS)
    assert not result.passed and result.culprit == "vbar1", result.feedback
    assert "divides where" not in result.feedback
    assert "upside down (divided by it, or times its reciprocal)" in result.feedback


def test_a_pasted_number_returned_only_on_plain_numbers_is_told_as_such_not_as_a_rounded_dv8():
    # Its dv8 line is exact; a branch on the input's type returns a pasted, rounded number on plain floats.
    # Before: "dv8 = -2.564436409 is close to the exact value but not exact" (its dv8 is exact).
    result = check_forward(_forward_with("type"), G.Y, points=G.POINTS[:1])
    assert not result.passed and result.mistakes[0] == "not-returned", result.feedback
    assert "close to the exact value" not in result.feedback
    assert "Your function returns dv8 (= -2.5644364088) when it is traced, but -2.564436409" in result.feedback
