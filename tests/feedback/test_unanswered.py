"""A stub left as released reads "not answered yet", scores 0 and has the status `unanswered` for every kind:
a function that still raises NotImplementedError or gives None, a graph dict or PyTorch variables never
defined."""
from __future__ import annotations

import pytest
from pasted_answers import REPO
from seed_functions import seed_function

from autodiff_course.checks import collect, judge
from autodiff_course.checks.result import STATUSES
from autodiff_course.course.config import load_config
from autodiff_course.grading.report import render_report

CONFIG = load_config(REPO / "graders" / "autodiff_by_hand.toml")


def stub_raises(*args):
    # YOUR CODE HERE
    raise NotImplementedError()


def stub_none(*args):
    return None


@pytest.mark.parametrize("exercise", ["decomposition", "forward", "forward_dx1", "reverse"])
@pytest.mark.parametrize("stub", [stub_raises, stub_none])
def test_a_function_stub_is_not_answered_yet(exercise, stub):
    spec = CONFIG.exercise(exercise)
    result = judge(spec, collect(spec, {spec["function"]: stub}))
    assert (result.status, result.score, result.passed) == ("unanswered", 0.0, False)
    assert result.mistakes == ["unanswered"] and "unanswered" in STATUSES
    assert result.feedback.startswith(f"{exercise}: not answered yet.\nNot answered yet: `{spec['function']}`")
    assert "NotImplementedError: ." not in result.feedback and "raised an error" not in result.feedback
    assert "Not answered yet" in result._repr_html_()


def test_a_graph_dict_never_written_is_not_answered_yet():
    spec = CONFIG.exercise("graph")
    result = judge(spec, collect(spec, {"function": seed_function}))
    assert result.status == "unanswered" and "`parents` is not defined" in result.feedback


def test_pytorch_variables_never_defined_are_not_answered_yet():
    spec = CONFIG.exercise("mlp_gradients")
    import torch

    namespace = {"weights": [torch.zeros(3, 50)], "biases": [torch.zeros(50)], "x_batch": torch.zeros(100, 3),
                 "y_batch": torch.zeros(100, 1)}
    result = judge(spec, collect(spec, namespace))
    assert result.status == "unanswered" and "`gradients` is not defined" in result.feedback


def test_a_wrong_answer_is_not_mistaken_for_a_stub():
    spec = CONFIG.exercise("forward")

    def function_dx0(x0, x1, x2):
        raise ValueError("my own check failed")

    assert judge(spec, collect(spec, {"function_dx0": function_dx0})).status == "error"


def test_the_report_counts_unanswered_apart_from_errors_and_does_not_flag_them():
    def entry(status):
        return {"id": "reverse", "kind": "reverse", "max_score": 4.0, "score": 0.0, "status": status,
                "message": "", "check": None}
    results = [{"student": s, "assignment": "autodiff_by_hand", "notebook": "autodiff_by_hand.ipynb",
                "handed_in": True, "problems": [], "score": 0.0, "max_score": 4.0,
                "exercises": [entry(status)]} for s, status in (("blank", "unanswered"), ("crash", "error"))]
    report = render_report(results, {"autodiff_by_hand": CONFIG})
    assert "error 1, unanswered 1" in report  # each status its own count
    flagged = report.split("Tampered, failed and unreadable submissions")[1]
    assert "<td>crash</td>" in flagged and "<td>blank</td>" not in flagged
