"""Verdicts an instructor can trust, on answers the checkers were not built with (tests/checks/answers_attacks.py).

Each test pins one bullet of the list of wrong verdicts the checkers gave before they judged against the
instructor's reference: finite differences passing as exact, honest styles scored 0, one bad point zeroing a
whole answer, cancelling huge terms widening the tolerance, values outside the graph, reassigned names, and
unbounded judging."""

import re
import time

import answers_attacks as A
import numpy as np
import pytest

from autodiff_course.checks import check_decomposition, check_forward, check_reverse

SPEC_Y = {"id": "y", "reference": A.Y, "args": ["x0", "x1", "x2"]}

# Steps from coarse to the best a central difference can do (about u**(1/3) = 5e-6) and below.
STEPS = [1e-3, 1e-4, 1e-5, 6e-6, 3e-6, 1e-6, 1e-7, 1e-8]


@pytest.mark.parametrize("h", STEPS)
@pytest.mark.parametrize("make", [A.forward_difference, A.central_difference], ids=["forward", "central"])
def test_a_finite_difference_fails_at_any_step_in_forward_mode_and_is_named(make, h):
    result = check_forward(make(h), A.Y, points=A.POINTS)
    assert not result.passed, result.feedback
    # The derivative is returned without a variable of its own: no culprit names a variable never written.
    assert result.culprit is None and result.mistakes[0] == "finite-difference", result.feedback
    assert "dy/dx0 is wrong" in result.feedback and "dydx0" not in result.feedback


@pytest.mark.parametrize("h", STEPS)
def test_a_central_difference_fails_at_any_step_in_reverse_mode_and_is_named(h):
    result = check_reverse(A.reverse_central_difference(h), A.Y, points=A.POINTS)
    assert not result.passed and result.culprit == "vbar0", result.feedback
    assert result.mistakes[0] == "finite-difference"
    assert result.score == pytest.approx(0.9)


def test_the_bound_comes_from_the_reference_and_is_far_below_any_finite_difference():
    from autodiff_course.checks.expected import SAFETY, UNIT_ROUNDOFF, expected_at

    exp = expected_at(SPEC_Y, A.POINTS[0])
    # Six operations in the reference: c N u relative.
    assert exp.operations == 6 and exp.rel == SAFETY * 6 * UNIT_ROUNDOFF
    # The best central difference is off by about u**(2/3) = 4e-11 relative; the bound is under 1e-13.
    assert exp.rel * max(exp.grad_scale) / abs(exp.grad[0]) < 1e-13


@pytest.mark.parametrize(
    "check,fn", [(check_forward, A.forward_honest_styles), (check_reverse, A.reverse_honest_styles)]
)
def test_right_answers_in_honest_styles_get_full_marks(check, fn):
    # float() and math.* on values, numpy scalars, a helper function, +=, a list returned, compound lines.
    result = check(fn, A.Y, points=A.POINTS)
    assert result.passed and result.score == 1.0, result.feedback


def test_a_value_outside_the_graph_is_caught_and_said_so():
    result = check_forward(A.forward_outside_the_graph, A.Y, points=A.POINTS[:1])
    assert not result.passed and result.mistakes[0] == "not-the-function", result.feedback
    assert "does not change with x0" in result.feedback and result.score <= 0.5


@pytest.mark.parametrize(
    "check,fn,wrong",
    [
        (check_forward, A.forward_huge_cancelling_terms, {"dy/dx0"}),
        # Every adjoint is 1: right for vbar3 and vbar5..vbar8 (the huge terms cancel exactly in vbar7 too).
        # The 1.0s are written into the return line, no variable holds them: each is called by its place.
        (check_reverse, A.reverse_huge_cancelling_terms,
         {f"the {k} value you return" for k in ("2nd", "3rd", "4th", "6th")}),
    ],
)
def test_cancelling_huge_terms_cannot_widen_the_tolerance(check, fn, wrong):
    result = check(fn, A.Y, points=A.POINTS)
    assert not result.passed and set(result.wrong) == wrong, result.feedback


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_a_nan_at_one_point_costs_that_point_only_and_names_the_line():
    result = check_reverse(A.reverse_nan_at_one_point, A.Y, points=A.POINTS)
    # Right at two of the three points: two thirds of every part.
    assert result.score == pytest.approx(2 / 3, abs=1e-6), result.feedback
    assert result.mistakes == ["domain-error"]
    assert "`dv3dv0 = np.cos(v0) * (v1 - 0.5) / (v1 - 0.5)`" in result.feedback
    assert "follow it step by step" not in result.feedback  # not blamed on tracing


def test_an_exception_at_one_point_costs_that_point_only():
    result = check_reverse(A.reverse_raises_at_one_point, A.Y, points=A.POINTS)
    assert result.status == "failed" and result.score == pytest.approx(2 / 3, abs=1e-6), result.feedback
    assert "math.sqrt(x1)" in result.feedback and "x1 = -1.2" in result.feedback


def test_a_reassigned_name_breaks_the_decomposition_rule():
    result = check_decomposition(A.decomposition_reassigned, A.Y, points=A.POINTS)
    assert not result.passed and result.mistakes[0] == "reassigned" and result.culprit == "v3"
    # One sentence for the name, however often it is assigned again.
    assert result.feedback.count("`v3` is assigned 2 more times on lines") == 1, result.feedback


@pytest.mark.parametrize("check", [check_forward, check_reverse, check_decomposition])
def test_a_graph_that_doubles_in_a_loop_is_judged_in_milliseconds(check):
    check(A.doubling(2), A.Y, points=A.POINTS[:1])  # warm (the first check imports PyTorch)
    started = time.perf_counter()
    result = check(A.doubling(22), A.Y, points=A.POINTS[:1])
    assert time.perf_counter() - started < 2.0 and not result.passed


def test_a_graph_over_the_size_limit_is_too_large_to_check():
    def huge(x0, x1, x2):
        y = x0
        for _ in range(6000):
            y = y + x1
        return y, 0.0

    started = time.perf_counter()
    result = check_forward(huge, "x0 + 6000*x1", points=[[1.0, 2.0, 3.0]])
    assert result.status == "error" and result.mistakes == ["too-large"]
    # The tracer stops the answer at the limit, so its full size is not counted.
    assert "too large to check: more than 5000 operations" in result.feedback
    assert time.perf_counter() - started < 5.0


def test_an_adjoint_overwritten_by_a_second_assignment_is_said_so_with_both_lines():
    result = check_reverse(A.reverse_overwritten_adjoint, A.Y, points=A.POINTS)
    assert result.culprit == "vbar1" and result.mistakes[0] == "overwritten", result.feedback
    assert "(`vbar1 = vbar5 * v4`)" in result.messages[0] and "(`vbar1 = vbar6 / v2`)" in result.messages[0]
    assert "missing" not in result.messages[0]


def test_a_diagnosis_never_names_a_variable_the_line_does_not_read():
    # Both "uses dv1dx1 where dv2dx1 belongs" and "leaves out dv2dx1" fit the numbers (dv1dx1 = 1); only the
    # second is what the line `dv4dx1 = np.exp(v2)` shows.
    result = check_forward(A.forward_example_dx1_tangent_left_out, A.F, wrt=1, points=A.POINTS_F)
    assert result.culprit == "dv4dx1" and result.mistakes[0] == "missing-factor", result.feedback
    assert "dv1dx1" not in result.messages[0] and "leaves out dv2dx1" in result.messages[0]


def test_a_pasted_constant_is_recognised():
    result = check_reverse(A.reverse_pasted_constant, A.Y, points=A.POINTS)
    assert result.culprit == "vbar0" and result.mistakes[0] == "pasted-constant", result.feedback
    assert "at every test point" in result.messages[0]


def test_culprits_and_words_name_only_what_the_student_wrote():
    def returned_directly(x0, x1, x2):
        return x0 + x1 * x2 + x2, 1.0

    result = check_forward(returned_directly, A.Y, points=A.POINTS)
    assert not result.passed and result.culprit is None, result.feedback
    assert not re.search(r"\b_t\d", result.feedback)
    result = check_forward(A.forward_huge_cancelling_terms, A.Y, points=A.POINTS)
    assert not re.search(r"\b_t\d", result.feedback) and "(big - big)" in result.feedback


def test_the_graph_exercise_compares_with_the_reference_functions_graph():
    from autodiff_course.checks import check_graph

    def just_x0(x0, x1, x2):
        return x0

    def one_line(x0, x1, x2):
        return np.sin(x0) + x1 * np.cos(x0) + x1 / x2

    result = check_graph(just_x0, {}, points=A.POINTS[:1], reference=A.Y)
    assert result.score == 0.0 and result.mistakes[0] == "wrong-function", result.feedback
    # Each of the reference's six operations the function lacks is a part it misses.
    assert sum(r.get("code") == "missing-operation" for r in result.rows) == 6
    assert "computes sin(x0)" in result.feedback
    result = check_graph(one_line, {}, points=A.POINTS[:1], reference=A.Y)
    assert result.score == 0.0 and "not-elementary" in result.mistakes, result.feedback


def _mlp_namespace(zero_inputs: bool):
    """The variables of notebook autodiff_by_hand after its mlp_gradients answer, built as its cells build
    them (seed 0, 30 Adam steps), the answer computed honestly on the batch it is given."""
    import torch

    torch.manual_seed(0)
    inputs = torch.rand((1000, 3))
    targets = torch.sqrt(inputs[:, [0]] / inputs[:, [1]]) * torch.sin(inputs[:, [0]] * inputs[:, [1]]) * torch.exp(
        inputs[:, [2]])
    weights = [torch.rand((a, b), requires_grad=True) for a, b in [(3, 50), (50, 50), (50, 1)]]
    biases = [torch.zeros(b, requires_grad=True) for b in (50, 50, 1)]
    optimiser = torch.optim.Adam(weights + biases, lr=1e-2)
    batches = torch.Generator().manual_seed(1)

    def model(h):
        for k in range(3):
            h = h @ weights[k] + biases[k]
            if k < 2:
                h = torch.sigmoid(h)
        return h

    for _ in range(30):
        rows = torch.randint(0, inputs.shape[0], (100,), generator=batches)
        optimiser.zero_grad()
        torch.nn.MSELoss()(model(inputs[rows]), targets[rows]).backward()
        optimiser.step()
    x_batch, y_batch = inputs[:100], targets[:100]
    if zero_inputs:
        x_batch = torch.zeros(100, 3)
    optimiser.zero_grad()
    torch.nn.MSELoss()(model(x_batch), y_batch).backward()
    return {"weights": weights, "biases": biases, "x_batch": x_batch, "y_batch": y_batch,
            "gradients": weights[0].grad}


def test_pytorch_expectations_come_from_the_instructors_data_and_replaced_inputs_are_named():
    from autodiff_course.checks import check_variables
    from autodiff_course.course.config import load_config

    spec = load_config("graders/autodiff_by_hand.toml").exercise("mlp_gradients")
    opts = {k: spec[k] for k in ("rtol", "atol", "instructor_data")}
    honest = check_variables(_mlp_namespace(False), spec["variables"], spec["expect"], **opts)
    assert honest.passed, honest.feedback
    zeroed = check_variables(_mlp_namespace(True), spec["variables"], spec["expect"], **opts)
    assert not zeroed.passed and "replaced-input" in zeroed.mistakes, zeroed.feedback
    assert "Your `x_batch` is not the notebook's" in zeroed.feedback and zeroed.score == 0.0
    # Zeroed inputs and zero gradients, the attack that scored 3/3: only the shape is right.
    namespace = dict(_mlp_namespace(False), x_batch=__import__("torch").zeros(100, 3))
    namespace["gradients"] = __import__("torch").zeros(3, 50)
    attack = check_variables(namespace, spec["variables"], spec["expect"], **opts)
    # The shape still holds, but an answer computed on replaced inputs earns nothing.
    assert attack.score == 0.0 and not any(r["ok"] for r in attack.rows), attack.feedback
    assert "not credited: the answer was computed on a replaced `x_batch`" in attack.feedback


def test_a_reading_that_fits_one_point_by_coincidence_is_told_apart_at_the_others():
    # At (1, 1) the wrong dv2dx1 is minus the right one; at the two other points it is no sign slip.
    points = [[1.0, 1.0], [1.8, 2.4], [-0.7, 1.9]]
    result = check_forward(A.forward_example_dx1_quotient_lost, A.F, wrt=1, points=points)
    assert result.culprit == "dv2dx1" and result.mistakes[0] != "sign", result.feedback
    assert "wrong sign" not in result.messages[0]


def test_a_trace_failure_never_zeroes_what_can_be_judged_by_value():
    # y and the derivative keep their credit by value; the graph they should come from earns none, so an answer
    # the checker cannot follow never passes, and its words name the line it could not follow.
    result = check_forward(A.forward_with_a_python_if, A.Y, points=A.POINTS)
    rows = {r["part"]: r for r in result.rows}
    assert {k: r["ok"] for k, r in rows.items()} == {"y": True, "dy/dx0": True, "trace": False}, result.feedback
    assert result.score == pytest.approx(2 / 3) and "`if x0 > -100:`" in result.feedback
    assert "judged by its value only" in rows["dy/dx0"]["message"]
