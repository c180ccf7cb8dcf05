"""Answers that behave one way on plain numbers and another when the checker follows them step by step (a
branch on the type of the inputs, a value kept from one call to the next). An outside review found that such an
answer got full marks with a machine derivative behind the branch: the plain run's values were scored, the traced
run's graph was read. Each answer here is written in our own words; none may pass, and the words say why."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autodiff_course import check_decomposition, check_forward, check_reverse

F = "np.sin(x0) + x1*np.cos(x0) + x1/x2"
POINTS = [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5], [-2.0, 0.5, -1.5]]


def _forward_pass(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v0, v1, v2, v3, v4, v5, v6, v7, v8


def reverse_by_torch_on_floats(x0, x1, x2):
    v0, v1, v2, v3, v4, v5, v6, v7, v8 = _forward_pass(x0, x1, x2)
    if isinstance(x0, float):
        ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (x0, x1, x2)]
        (torch.sin(ts[0]) + ts[1] * torch.cos(ts[0]) + ts[1] / ts[2]).backward()
        xbar = [t.grad.item() for t in ts]
    else:
        xbar = [0.0 * v0, 0.0 * v1, 0.0 * v2]
    vbar8 = 1.0
    vbar7 = vbar8
    vbar6 = vbar8
    vbar5 = vbar7
    vbar3 = vbar7
    vbar4 = vbar5 * v1
    return v8, xbar[0], xbar[1], xbar[2], vbar3, vbar4, vbar5, vbar6, vbar7, vbar8


def forward_closed_form_on_floats(x0, x1, x2):
    v8 = _forward_pass(x0, x1, x2)[-1]
    if type(x0) is float:
        return v8, np.cos(x0) - x1 * np.sin(x0)
    return v8, 0.5 * v8


def decomposition_of_another_function_when_followed(x0, x1, x2):
    if isinstance(x0, float):
        return np.sin(x0) + x1 * np.cos(x0) + x1 / x2
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 * v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8


_calls = {"n": 0}


def forward_that_changes_from_call_to_call(x0, x1, x2):
    # Right on every odd call (the plain runs come first at each point), off on the others.
    _calls["n"] += 1
    v0, v1, v2, v3, v4, v5, v6, v7, v8 = _forward_pass(x0, x1, x2)
    dv4dx0 = -np.sin(v0)
    dv5dx0 = v1 * dv4dx0
    dv7dx0 = np.cos(v0) + dv5dx0
    dv8dx0 = dv7dx0 if _calls["n"] % 2 else 2.0 * dv7dx0
    return v8, dv8dx0


@pytest.mark.parametrize("check, answer", [
    (check_reverse, reverse_by_torch_on_floats),
    (check_forward, forward_closed_form_on_floats),
    (check_decomposition, decomposition_of_another_function_when_followed),
])
def test_an_answer_that_branches_on_its_inputs_type_never_passes_and_is_told_why(check, answer):
    result = check(answer, F, points=POINTS)
    assert not result.passed and result.score < 0.7, result.feedback
    assert result.mistakes[0] == "answers-differently", result.feedback
    assert "when the checker follows it step by step than when it is called with plain numbers" in \
        result.messages[0], result.feedback
    assert any(r["part"] == "same answer" and not r["ok"] for r in result.rows)


def test_the_run_the_checker_follows_is_the_one_judged():
    # The followed run returns zeros for the inputs' adjoints: those are what is judged wrong, not torch's.
    result = check_reverse(reverse_by_torch_on_floats, F, points=POINTS)
    rows = {r.get("name", r["part"]): r for r in result.rows}
    assert all(not rows[f"xbar[{k}]"]["ok"] and rows[f"xbar[{k}]"]["received"] == 0 for k in range(3)), \
        result.feedback


def test_an_answer_that_changes_from_call_to_call_never_passes():
    _calls["n"] = 0
    result = check_forward(forward_that_changes_from_call_to_call, F, points=POINTS)
    assert not result.passed, result.feedback
    assert "when it is called with plain numbers" in result.feedback, result.feedback


def test_the_same_answer_in_both_runs_adds_nothing():
    # Control: the branch-free twin of the forward answer passes with full marks, with no such part.
    def honest(x0, x1, x2):
        v8 = _forward_pass(x0, x1, x2)[-1]
        dv8dx0 = np.cos(x0) - x1 * np.sin(x0)
        return v8, dv8dx0

    result = check_forward(honest, F, points=POINTS)
    assert "answers-differently" not in result.mistakes
    assert not any(r["part"] == "same answer" for r in result.rows)
