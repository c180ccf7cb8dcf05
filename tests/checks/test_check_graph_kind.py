"""The graph check: a dict of parents against the traced graph of the student's own function."""

import json

import answers_by_hand as S
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    # v9 is not a variable of the function: counted, not repeated (see the next test).
    assert "`parents` has 1 entry for 1 name that is not a variable of your function" in result.feedback


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


#: What the red team's answer carried: the hidden points it was called at, spelled as made-up parents.
ECHO = ["p0_1001d800000_1002d400000_1000d700000", "p1_1000d300000_998d800000_1002d500000"]


def _everything_shown(result) -> str:
    """Every text of a result a student can be shown: messages, rows, the HTML and text views, the stored form."""
    from autodiff_course.feedback.html import result_html
    from autodiff_course.feedback.text import result_text

    return "\n".join([result.feedback, json.dumps(result.to_dict()), result_html(result), result_text(result)])


#: What the red team's answer carried: the hidden points it was called at, spelled as made-up parents.
ECHO = ["p0_1001d800000_1002d400000_1000d700000", "p1_1000d300000_998d800000_1002d500000"]


def test_made_up_parent_names_are_counted_never_repeated():
    result = check({**RIGHT, "v8": ["v6", "v7", *ECHO], ECHO[0]: ["v1"]})
    assert not result.passed
    shown = _everything_shown(result)
    assert "v8 = v6 + v7: it does not read 2 names that are not variables of your function." in result.messages
    assert "`parents` has 1 entry for 1 name that is not a variable of your function" in result.feedback
    for text in ECHO:
        assert text not in shown and text[:12] not in shown


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=6, max_size=30), min_size=1, max_size=4, unique=True))
def test_no_text_outside_the_functions_variables_reaches_the_feedback(made_up):
    def graded(names):
        return _everything_shown(check({**RIGHT, "v7": ["v3", "v5", *names], **{n: ["v0"] for n in names}}))

    shown = graded(made_up)
    # The same answer with other made-up names: a text that shows there too is the checker's own words.
    baseline = graded([f"zq{i}zq" for i in range(len(made_up))])
    for text in made_up:
        assert text not in shown or text in baseline


# -- issue 11: the inputs' two names, and a parent listed twice ---------------------------------------------
_ALIAS = {"v0": "x0", "v1": "x1", "v2": "x2"}


@pytest.mark.parametrize("node", sorted(RIGHT))
def test_an_input_named_by_its_argument_where_the_function_says_v0_equals_x0_is_the_same_arrow(node):
    # `function` starts with v0 = x0: one node with two names, so "x0" and "v0" draw the same arrow.
    renamed = {**RIGHT, node: [_ALIAS.get(p, p) for p in RIGHT[node]]}
    result = check(renamed)
    assert result.passed and result.score == 1.0, result.feedback


@pytest.mark.parametrize(("node", "parent"), [(n, p) for n in sorted(RIGHT) for p in RIGHT[n]])
def test_a_parent_listed_more_often_than_the_node_reads_it_is_named(node, parent):
    # The same name twice, and (for an input) its two names: one node, listed twice either way.
    for again in sorted({parent, _ALIAS.get(parent, parent)}):
        result = check({**RIGHT, node: [*RIGHT[node], again]})
        assert not result.passed and result.culprit == node, result.feedback
        assert result.mistakes == ["extra-parent"]
        assert f"it reads {parent} once, your list names it twice" in result.feedback
        assert result.score == pytest.approx(5 / 6)


def _square(x0, x1):
    v0 = x0
    v1 = x1
    v2 = v1 * v1
    v3 = v0 + v2
    return v3


@pytest.mark.parametrize("listed", [["v1"], ["v1", "v1"], ["x1", "v1"]])
def test_a_square_reads_its_variable_twice_so_once_or_twice_is_right(listed):
    result = check_graph(_square, {"v2": listed, "v3": ["v0", "v2"]}, points=[(0.5, 1.5)])
    assert result.passed and result.score == 1.0, result.feedback


def test_a_square_listed_three_times_claims_an_arrow_too_many():
    result = check_graph(_square, {"v2": ["v1", "v1", "v1"], "v3": ["v0", "v2"]}, points=[(0.5, 1.5)])
    assert not result.passed and result.culprit == "v2" and result.mistakes == ["extra-parent"]
    assert "it reads v1 twice, your list names it 3 times" in result.feedback
