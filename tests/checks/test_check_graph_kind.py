"""The graph check: a dict of parents against the traced graph of the student's own function."""

import answers_by_hand as S
import pytest

from autodiff_course.checks import check_graph

RIGHT = {
    "v3": ["v0"],
    "v4": ["v0"],
    "v5": ["v1", "v4"],
    "v6": ["v1", "v2"],
    "v7": ["v3", "v5"],
    "v8": ["v6", "v7"],
}


def check(parents):
    return check_graph(S.decomposition_seed, parents, points=S.POINT_Y)


def test_right_parents_pass_in_any_order_with_inputs_listed_or_not():
    assert check(RIGHT).passed
    reordered = {k: list(reversed(v)) for k, v in RIGHT.items()}
    assert check({**reordered, "v0": [], "v1": ["x1"], "x2": []}).passed


def test_a_missing_parent_is_named():
    result = check({**RIGHT, "v8": ["v7"]})
    assert not result.passed and result.culprit == "v8"
    assert result.mistakes == ["missing-parent"]
    assert "v8 = v6 + v7: it also reads v6." in result.messages
    assert result.score == pytest.approx(5 / 6)


def test_an_extra_parent_and_an_unknown_variable_are_named():
    result = check({**RIGHT, "v5": ["v1", "v4", "v0"], "v9": ["v8"]})
    assert result.mistakes == ["extra-parent", "unknown-variable"]
    assert "it does not read v0" in result.feedback
    assert "no intermediate variable called v9" in result.feedback


def test_a_missing_variable_and_a_non_dict_fail_clearly():
    partial = {k: v for k, v in RIGHT.items() if k != "v6"}
    result = check(partial)
    assert result.mistakes == ["missing-variable"] and "v6 is missing" in result.feedback
    assert check(["v3", "v4"]).mistakes == ["not-a-dict"]


def test_constants_may_be_listed_or_left_out():
    def squares(x0):
        v0 = x0
        v1 = v0**2
        v2 = 3 * v1
        return v2

    assert check_graph(squares, {"v1": ["v0"], "v2": ["v1"]}, points=[[1.5]]).passed
    assert check_graph(squares, {"v1": ["v0", "2"], "v2": ["3", "v1"]}, points=[[1.5]]).passed
