"""How feedback shows numbers: a right value never looks like a wrong one, a wrong one never looks like the
right one, and no numpy repr (``np.float64(...)``) reaches a student."""

import re

import numpy as np
import pytest
import torch

from autodiff_course import check_reverse, check_variables
from autodiff_course.feedback.html import result_html
from autodiff_course.notation import fmt_row

REFERENCE = "np.tanh(x0*x1) + x0/x1"


def reverse_reordered(x0, x1):
    # An outside review's right answer: the reverse lines in another order and another grouping, which
    # rounds differently in the last place (vbar1 -0.198713999787516 against -0.198713999787515).
    v0, v1 = x0, x1
    v2 = v0 * v1
    v3 = np.tanh(v2)
    v4 = 1 / v1
    v5 = v0 * v4
    v6 = v3 + v5
    vbar6 = 1.0
    vbar5 = vbar6
    vbar3 = vbar6
    vbar4 = vbar5 * v0
    vbar2 = vbar3 * (1 - v3 * v3)
    vbar1 = -vbar4 / v1 ** 2 + v0 * vbar2
    vbar0 = v4 * vbar5 + v1 * vbar2
    return v6, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6


def _rows(page: str) -> list[list[str]]:
    """The table rows of a feedback fragment, each as its cells' text."""
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>|<tr [^>]*>(.*?)</tr>", page) for row in row if row]


def test_a_right_row_shows_the_same_number_twice_or_says_equal_to_rounding():
    result = check_reverse(reverse_reordered, REFERENCE, points=[[0.8, -1.2]], show_expected=True)
    assert result.passed, result.feedback
    rows = [r for r in _rows(result_html(result)) if len(r) == 4]
    assert len(rows) == 8
    for _label, yours, expected, verdict in rows:
        assert verdict.startswith("right")
        assert yours == expected or verdict == "right (equal to rounding)", (yours, expected, verdict)
        assert len(yours.lstrip("-").replace(".", "").lstrip("0")) <= 10  # 10 significant digits, not 15


@pytest.mark.parametrize("ok", [True, False])
def test_fmt_row_keeps_a_wrong_pair_apart_and_a_right_pair_at_ten_digits(ok):
    a, b = -0.198713999787516, -0.198713999787515
    yours, expected, rounding = fmt_row(a, b, ok)
    if ok:
        assert (yours, expected, rounding) == ("-0.1987139998", "-0.1987139998", False)
        assert fmt_row(1.000000001, 1.000000002, True)[2] is True  # differs in the 10th digit: said so
    else:
        assert yours != expected and not rounding  # two different numbers never read the same


def test_a_gradient_list_reads_as_numbers_not_numpy_reprs():
    x = torch.tensor([0.8, -1.2], dtype=torch.float64, requires_grad=True)
    (torch.tanh(x[0] * x[1]) + x[0] / x[1]).backward()
    expect = [{"check": "x.grad", "equals": "[np.float64(v) for v in x.grad.tolist()]"},
              {"check": "list(x.grad)", "equals": "[np.float64(1.0), 2]"}]
    result = check_variables({"x": x}, ["x"], expect)
    shown = result_html(result) + result.feedback
    assert "np.float64" not in shown and "float64(" not in shown
    assert result.rows[0]["expected"] == "[-1.368595667, -0.1987139998]" == result.rows[0]["received"]
