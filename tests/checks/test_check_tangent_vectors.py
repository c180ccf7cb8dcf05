"""Forward mode with tangent vectors: each intermediate variable carries one numpy array holding its tangent
with respect to every input at once (``dv1 = np.array([0.0, 1.0])``), an honest style of forward mode (it is
how a Jacobian is built column by column in one pass). The tangent with respect to input k is the item
``dvN[k]``; a wrong step is named as that item, the way the student wrote it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from autodiff_course import check_forward
from autodiff_course.checks.collect import collect
from autodiff_course.checks.judge import judge
from autodiff_course.course.config import load_config

BY_HAND = Path(__file__).resolve().parents[2] / "graders" / "autodiff_by_hand.toml"
DX1 = "(x0**2/x1)*np.cos(x0) + np.exp(x0/x1)"
DX1_POINTS = [[1.8, 2.4], [1.0, 1.0], [-0.7, 1.9]]
F3 = "np.sin(x0) + x1*np.cos(x0) + x1/x2"
F3_POINTS = [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5], [-2.0, 0.5, -1.5]]


def _two_inputs(mistake=None, returned_item=1, x1_first=False):
    """y = (x0**2/x1) cos(x0) + exp(x0/x1) with one tangent vector (d/dx0, d/dx1) per variable, or (d/dx1,
    d/dx0) with ``x1_first``."""

    def example_dx1(x0, x1):
        v0 = x0
        dv0 = np.array([0.0, 1.0] if x1_first else [1.0, 0.0])
        v1 = x1
        dv1 = np.array([1.0, 0.0] if x1_first else [0.0, 1.0])
        v2 = v0 / v1
        dv2 = (v1 * dv0 - v0 * dv1) / v1 ** 2
        v3 = v0 * v2
        dv3 = v0 * dv2 + v2 * dv0
        v4 = np.exp(v2)
        dv4 = np.exp(v2) * dv2 if mistake != "sign" else -np.exp(v2) * dv2
        v5 = np.cos(v0)
        # the chain rule takes cos's local derivative times dv0; the mutants multiply by another tangent, or
        # lose the sign of the derivative
        dv5 = {"operand": -np.sin(v0) * dv2, "cos-sign": np.sin(v0) * dv0}.get(mistake, -np.sin(v0) * dv0)
        v6 = v3 * v5
        dv6 = v3 * dv5 + v5 * dv3
        v7 = v4 + v6
        dv7 = dv4 + dv6
        return v7, dv7[returned_item]

    return example_dx1


def _three_inputs(mistake=None, wrt=0):
    """y = sin(x0) + x1 cos(x0) + x1/x2, tangents as vectors of three, written with ufuncs and operators."""

    def function_dx0(x0, x1, x2):
        v0, v1, v2 = x0, x1, x2
        dv0, dv1, dv2 = np.eye(3)
        v3 = np.sin(v0)
        dv3 = np.cos(v0) * dv0
        v4 = np.cos(v0)
        dv4 = -np.sin(v0) * dv0
        v5 = v1 * v4
        dv5 = dv1 * v4 + v1 * dv4 if mistake != "product" else dv1 * v4
        v6 = v1 / v2
        dv6 = dv1 / v2 - v1 * dv2 / v2 ** 2 if mistake != "quotient" else dv1 / v2 + v1 * dv2 / v2 ** 2
        v7 = v3 + v5
        dv7 = dv3 + dv5
        v8 = v6 + v7
        dv8 = dv6 + dv7
        return v8, dv8[wrt]

    return function_dx0


def test_tangent_vectors_of_two_inputs_earn_full_marks():
    # Before: "mul: cannot combine a Scalar with ndarray" while following the answer (2 of 3 parts).
    result = check_forward(_two_inputs(), DX1, wrt=1, points=DX1_POINTS)
    assert (result.passed, result.score, result.status) == (True, 1.0, "ok"), result.feedback


@pytest.mark.parametrize("wrt", [0, 1, 2])
def test_tangent_vectors_of_three_inputs_earn_full_marks_for_each_input(wrt):
    result = check_forward(_three_inputs(wrt=wrt), F3, wrt=wrt, points=F3_POINTS)
    assert (result.passed, result.score, result.status) == (True, 1.0, "ok"), result.feedback


@pytest.mark.parametrize("exercise, answer", [("forward_dx1", _two_inputs()), ("forward", _three_inputs())])
def test_the_course_exercises_give_tangent_vectors_full_marks(exercise, answer):
    spec = load_config(BY_HAND).exercise(exercise)
    result = judge(spec, collect(spec, {spec["function"]: answer}))
    assert (result.passed, result.score, result.mistakes) == (True, 1.0, []), result.messages


@pytest.mark.parametrize("mistake, culprit", [("sign", "dv4[1]"), ("operand", "dv5[1]")])
def test_a_wrong_step_is_named_as_the_item_the_student_wrote(mistake, culprit):
    result = check_forward(_two_inputs(mistake), DX1, wrt=1, points=DX1_POINTS)
    assert not result.passed and result.culprit == culprit, result.feedback
    assert result.messages[0].startswith(f"{culprit} is wrong at x0 = 1.8, x1 = 2.4"), result.feedback
    # dv7 is wrong only through the culprit, and every name shown is one the student wrote (no ``dv7dx1``,
    # no ``dy/dx1``)
    assert "dv7[1]" in result.wrong, result.feedback
    assert not any(re.search(r"dx1|dy/d", m) for m in result.messages), result.messages


@pytest.mark.parametrize("mistake, culprit", [("product", "dv5[0]"), ("quotient", "dv6[2]")])
def test_a_wrong_step_of_three_inputs_is_named_by_its_item(mistake, culprit):
    wrt = int(culprit[-2])
    result = check_forward(_three_inputs(mistake, wrt=wrt), F3, wrt=wrt, points=F3_POINTS)
    assert not result.passed and result.culprit == culprit, result.feedback


def test_returning_the_item_of_the_other_input_is_told_apart_from_the_right_item_kept():
    # dv7[0] returned where dv7[1] belongs: the tangents are right, the return is not.
    result = check_forward(_two_inputs(returned_item=0), DX1, wrt=1, points=DX1_POINTS)
    assert (result.passed, result.mistakes) == (False, ["not-returned"]) and result.score <= 0.5, result.feedback
    assert "not your dv7[1]" in result.messages[0] and result.messages[0].endswith("return y and dv7[1]."), \
        result.messages



def test_vectors_that_list_the_inputs_in_another_order_are_read_by_their_seeds():
    # Item 0 is the tangent with respect to x1 here, as the seeds dv0 = [0, 1] and dv1 = [1, 0] say.
    result = check_forward(_two_inputs(returned_item=0, x1_first=True), DX1, wrt=1, points=DX1_POINTS)
    assert (result.passed, result.score, result.status) == (True, 1.0, "ok"), result.feedback
    result = check_forward(_two_inputs("cos-sign", returned_item=1, x1_first=True), DX1, wrt=0, points=DX1_POINTS)
    assert not result.passed and result.culprit == "dv5[1]", result.feedback
