"""What a student reads: fixed words (snapshot-testable), the culprit first, and no hidden values."""

import json

import answers_by_hand as S
import numpy as np
import pytest

from autodiff_course.checks import CheckResult, check_reverse

# Written by hand from the answer's slip: vbar4 = -vbar5 * v1 at (1.8, 2.4, 0.7), where vbar4 should be
# v1 = 2.4 and vbar0 = cos(1.8) - 2.4 sin(1.8) = -2.564436409 (the student's vbar0 = cos(1.8) + 2.4 sin(1.8)).
EXPECTED_TEXT = """\
reverse_inherited: not yet right (8 of 10 parts right, 1 partly right, score 0.85).
vbar4 is wrong at x0 = 1.8, x1 = 2.4, x2 = 0.7: vbar4 has the wrong sign.
Fix vbar4 first: vbar0 is wrong only because it builds on wrong values.

Not right yet at (1.8, 2.4, 0.7):
  vbar0: wrong (inherited), yours 2.110032219, expected -2.564436409
  vbar4: WRONG, yours -2.4, expected 2.4"""


def test_feedback_text_is_fixed_words():
    result = check_reverse(S.reverse_inherited, S.Y, points=S.POINT_Y)
    assert result.feedback == EXPECTED_TEXT
    assert str(result) == EXPECTED_TEXT


def test_inherited_rows_name_only_the_wrong_values_they_build_on():
    result = check_reverse(S.reverse_inherited, S.Y, points=S.POINT_Y)
    row = next(r for r in result.rows if r["label"] == "vbar0")
    assert row["message"] == "vbar0 follows correctly from your vbar4, which is wrong."


def test_without_show_expected_no_expected_value_is_given_anywhere():
    result = check_reverse(S.reverse_inherited, S.Y, points=S.POINT_Y, show_expected=False)
    data = result.to_dict()
    assert data["expected"] == {}
    assert all("expected" not in r for r in data["rows"])
    assert "expected" not in result.feedback and "-2.564436409" not in result.feedback
    assert "-2.564436409" not in result._repr_html_()
    # The student's own values stay: they are theirs to see.
    assert data["received"]["vbar4"] == -2.4


def test_to_dict_carries_what_the_compare_view_needs():
    data = check_reverse(S.reverse_inherited, S.Y, points=S.POINT_Y).to_dict()
    assert data["culprit"] == "vbar4"
    assert data["received"]["vbar4"] == -2.4 and data["expected"]["vbar4"] == 2.4
    assert data["received"]["v8"] == data["expected"]["v8"]
    assert set(data["wrong"]) == {"vbar0", "vbar4"}
    json.dumps(data, allow_nan=False)


def test_nan_in_a_result_stays_json_safe():
    data = check_reverse(S.reverse_nan, S.Y, points=S.POINT_Y).to_dict()
    assert data["received"]["vbar0"] == "nan"
    assert CheckResult.from_dict(json.loads(json.dumps(data, allow_nan=False))).culprit == "vbar0"


def test_html_is_a_table_with_the_culprit_marked_and_escaped_text():
    html = check_reverse(S.reverse_not_a_number, S.Y, points=S.POINT_Y)._repr_html_()
    assert "<table" in html and html.count("<tr") == 11  # header + y + 9 adjoints
    assert "vbar2</code> &larr; start here" in html
    assert "&#x27;vbar6 * dv6dv2&#x27;" in html  # the student's string, escaped


def test_passing_feedback_says_so():
    result = check_reverse(S.reverse_seed_fixed, S.Y, points=S.POINT_Y)
    assert result.feedback == "reverse_seed_fixed: passed (10 of 10 parts right, score 1.00)."


def test_the_graph_steppers_compare_view_marks_the_culprit_node_from_the_result():
    from autodiff_course import trace
    from autodiff_course.widgets.steps import build_steps

    graph = trace(S.decomposition_seed, 1.8, 2.4, 0.7)
    reverse = build_steps(graph, "reverse", compare=check_reverse(S.reverse_inherited, S.Y, points=S.POINT_Y))
    assert reverse["marks"] == {"4": "culprit", "0": "wrong"}  # v4's adjoint is the slip, v0's inherits it
    from autodiff_course.checks import check_forward

    forward = build_steps(graph, "forward", compare=check_forward(S.forward_cos_sign, S.Y, points=S.POINT_Y))
    assert forward["marks"]["4"] == "culprit"
    assert {c["name"] for c in forward["checks"] if not c["ok"]} == {"dv4dx0", "dv5dx0", "dv7dx0", "dv8dx0"}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the student's np.log of a negative number
def test_an_error_at_a_hidden_point_does_not_quote_numbers_from_it():
    def fails_below_zero(x0):
        v0 = x0
        v1 = np.log(
            v0 - 0.25
        )  # fine at the visible point 1.0; at the hidden -0.5 the engine refuses log(-0.75)
        return v1, 1 / (v0 - 0.25)

    result = check_reverse(
        fails_below_zero, "np.log(x0 - 0.25)", points=[[1.0]], hidden_points=[[-0.5]], show_expected=False
    )
    assert not result.passed
    assert "hidden test point" in result.feedback
    assert "-0.5" not in result.feedback and "0.75" not in result.feedback
