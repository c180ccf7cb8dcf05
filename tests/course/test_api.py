"""grade(): the number nbgrader reads as partial credit, feedback as HTML, and silence on stderr."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from nbformat.v4 import new_output
from nbgrader.utils import get_partial_grade

from autodiff_course.course import Grade, grade
from autodiff_course.course.api import _number


def _two_part(namespace, points=3):
    return grade("demo", "two_part", kind="variables", variables=["a", "b"], points=points,
                 namespace=namespace,
                 expect=[{"check": "a", "equals": "2.0", "hint": "a is 2"},
                         {"check": "b", "equals": "3.0", "hint": "b is 3"}])


def _as_nbgrader_sees_it(result: Grade, points: float) -> float:
    data = {"text/plain": repr(result), "text/html": result._repr_html_()}
    output = new_output("execute_result", data=data,
                        execution_count=1)
    return get_partial_grade(output, points)


def test_repr_is_the_earned_points_and_nbgrader_reads_it_as_partial_credit():
    full = _two_part({"a": 2.0, "b": 3.0})
    half = _two_part({"a": 2.0, "b": 4.0})
    none = _two_part({"a": -1.0, "b": 4.0})
    assert (repr(full), repr(half), repr(none)) == ("3", "1.5", "0")
    assert [_as_nbgrader_sees_it(g, 3) for g in (full, half, none)] == [3.0, 1.5, 0.0]
    assert float(half) == 1.5 and half.points == 3.0


def test_missing_student_variable_scores_zero_and_says_which_name():
    result = _two_part({"a": 2.0})
    assert float(repr(result)) < 3
    assert "b" in result._repr_html_()


def test_html_shows_the_exercise_score_and_the_checkers_feedback():
    result = _two_part({"a": 2.0, "b": 4.0})
    html = result._repr_html_()
    assert "two_part" in html and "1.5 / 3 points" in html
    assert result.result._repr_html_() in html


def test_grading_writes_nothing_to_stderr_even_when_torch_warns(capfd):
    x = torch.ones(3, requires_grad=True)
    y = x * 2  # a non-leaf: reading y.grad makes PyTorch warn
    y.sum().backward()
    with pytest.warns(UserWarning):
        assert y.grad is None  # the warning this test is about really happens
    result = grade("demo", "warns", kind="variables", variables=["y"], points=1, namespace={"y": y},
                   expect=[{"check": "y.grad is None", "equals": "True"}])
    assert repr(result) == "1"
    captured = capfd.readouterr()
    assert captured.err == ""


def test_a_callable_may_be_passed_instead_of_a_name():
    def area(x0, x1):
        return x0 * x1

    by_object = grade("demo", "area", kind="decomposition", function=area, reference="x0*x1",
                      args=["x0", "x1"], test_points=[[1.5, 2.0]], points=2)
    by_name = grade("demo", "area", kind="decomposition", function="area", reference="x0*x1",
                    args=["x0", "x1"], test_points=[[1.5, 2.0]], points=2, namespace={"area": area})
    assert repr(by_object) == repr(by_name) == "2"


@pytest.mark.parametrize("value, text", [(3.5, "3.5"), (4.0, "4"), (0.125, "0.125"), (0.0, "0"),
                                         (1 / 3, "0.3333"), (1e-7, "0")])
def test_points_are_printed_as_plain_decimals_without_exponent(value, text):
    assert _number(value) == text
    assert np.isclose(float(_number(value)), value, atol=5e-5)


def test_a_broken_exercise_spec_earns_zero_and_says_it_is_not_the_students_fault(capfd):
    result = grade("demo", "empty", kind="variables", variables=["a"], expect=[], points=2,
                   namespace={"a": 1.0})
    assert repr(result) == "0" and result.result is None
    assert "checker itself failed on exercise &#x27;empty&#x27;" in result._repr_html_()
    assert "no expectations" in str(result)
    assert capfd.readouterr().err == ""
