"""The variables check (PyTorch exercises): snapshots collected in the student's process, expectations judged
on the trusted side, per-expectation weights, and a failing expectation's hint as its message."""

import json

import numpy as np
import pytest
import torch

import autodiff_course as ad
from autodiff_course.checks import check_variables, collect, judge
from autodiff_course.checks.variables import matches, snapshot

RETAIN = [
    {"check": "t.grad", "equals": "np.full((3, 3), 2.0)", "hint": "t is the leaf."},
    {
        "check": "x2.grad",
        "equals": "np.ones((3, 3))",
        "weight": 2,
        "hint": "Call x2.retain_grad() before s.backward().",
    },
    {"check": "x2.grad_fn", "equals": "'MulBackward0'", "hint": "x2 = t * 2."},
]


def retain_case(call_retain: bool, engine=torch):
    t = engine.ones(3, 3, requires_grad=True) if engine is torch else ad.ones(3, 3, requires_grad=True)
    x2 = t * 2
    if call_retain:
        x2.retain_grad()
    s = x2.sum()
    s.backward()
    return {"t": t, "x2": x2, "s": s}


@pytest.mark.parametrize("engine", [torch, ad], ids=["torch", "engine"])
def test_right_answer_passes_for_torch_and_engine_tensors(engine):
    result = check_variables(retain_case(True, engine), ["t", "x2", "s"], RETAIN)
    assert result.passed and result.score == 1.0, result.feedback


def test_a_failing_expectation_costs_its_weight_and_says_its_hint():
    result = check_variables(retain_case(False), ["t", "x2", "s"], RETAIN)
    assert not result.passed
    assert result.score == pytest.approx(2 / 4)  # weights 1 + 2 + 1; the weight-2 one fails
    assert result.messages == ["x2.grad: Call x2.retain_grad() before s.backward()."]
    assert result.culprit == "x2"
    assert result.to_dict()["received"]["x2.grad"] is None


def test_a_missing_variable_fails_its_expectations_with_a_clear_message():
    ns = retain_case(True)
    del ns["x2"]
    result = check_variables(ns, ["t", "x2", "s"], RETAIN)
    assert result.score == pytest.approx(1 / 4)
    assert "`x2` is not defined in your notebook" in result.feedback


def test_snapshots_are_plain_json_and_survive_the_trip():
    ns = {
        "x": torch.linspace(-5, 5, 21, requires_grad=True),
        "shape": torch.Size([21]),
        "n": 3,
        "f": 0.5,
        "name": "B",
        "flag": True,
        "nothing": None,
        "grads": [torch.ones(2), None],
        "arr": np.arange(3.0),
        "fn": (torch.ones(1, requires_grad=True) * 2).grad_fn,
        "odd": object(),
    }
    spec = {
        "id": "snap",
        "kind": "variables",
        "variables": list(ns),
        "expect": [
            {"check": "x.requires_grad and x.is_leaf", "equals": "True"},
            {"check": "list(shape)", "equals": "[21]"},
            {"check": "fn", "equals": "'MulBackward0'"},
            {"check": "grads[1] is None and len(grads) == 2", "equals": "True"},
            {"check": "arr.values", "equals": "[0, 1, 2]"},
            {"check": "(n, f, name, flag, nothing)", "equals": "(3, 0.5, 'B', True, None)"},
        ],
    }
    raw = collect(spec, ns)
    text = json.dumps(raw, allow_nan=False)
    result = judge(spec, json.loads(text))
    assert result.passed, result.feedback
    assert raw["variables"]["odd"]["kind"] == "object"


def test_nothing_is_evaluated_in_the_students_objects():
    class Sneaky:
        def __eq__(self, other):
            return True

        def __repr__(self):
            return "Sneaky()"

    result = check_variables({"v": Sneaky()}, ["v"], [{"check": "v", "equals": "42", "hint": "v is 42."}])
    assert not result.passed and result.messages == ["v: v is 42."]


@pytest.mark.parametrize(
    "got,want,ok",
    [
        (1.0, 1.0 + 1e-12, True),
        (1.0, 1.001, False),
        (True, 1, False),
        (1, True, False),
        ("a", "a", True),
        ([1.0, 2.0], (1.0, 2.0), True),
        ([1.0, 2.0], [1.0], False),
        (None, None, True),
        (None, 0.0, False),
        (np.ones((2, 2)), np.ones(4), False),
        (np.array([5.0]), 5.0, True),
        (["u"], ["u"], True),
    ],
)
def test_matching_rules(got, want, ok):
    assert matches(got, want, 1e-9, 0.0) is ok


def test_grad_fn_objects_snapshot_as_their_names():
    y = torch.tensor([1.0], requires_grad=True) ** 2
    assert snapshot(y.grad_fn) == {"kind": "str", "value": "PowBackward0"}


def test_an_expectation_that_fails_on_its_own_is_the_configs_fault():
    from autodiff_course.checks import InternalCheckError

    with pytest.raises(InternalCheckError, match="grader config"):
        check_variables({"a": 1.0}, ["a"], [{"check": "a", "equals": "np.no_such_function()"}])


def test_a_hidden_expectation_never_shows_its_expected_value():
    hint = "Think about what grad_fn links to."
    expect = [{"check": "answer", "equals": "'B'", "hidden": True, "hint": hint}]
    result = check_variables({"answer": "C"}, ["answer"], expect)
    assert not result.passed and result.messages == ["hidden check 1 (answer): Think about what grad_fn links to."]
    assert result.expected == {} and "expected" not in result.rows[0]
    assert "'B'" not in result.feedback and "'B'" not in result._repr_html_()


@pytest.mark.parametrize("right", [True, False], ids=["right", "wrong"])
def test_a_hidden_expectations_text_never_reaches_the_student(right):
    # An outside review read `x.requires_grad  True  right` on a graded page: the hidden test's expression
    # tells what the hidden tests test (the student's own value of it is theirs). Right or wrong, everywhere,
    # the part is "hidden check N" (with the student's variables it reads, which the test cell lists anyway)
    # and the visible expectation keeps its own words.
    x = torch.tensor([1.0, 2.0], requires_grad=right)
    (x * 3).sum().backward() if right else None
    expect = [
        {"check": "x.values[1]", "equals": "2.0", "hint": "x = [1, 2]."},
        {"check": "x.requires_grad", "equals": "True", "hidden": True},
        {"check": "x.is_leaf and x.shape == (2,)", "equals": "True", "hidden": True},
    ]
    result = check_variables({"x": x}, ["x"], expect)
    assert [r["label"] for r in result.rows] == ["x.values[1]", "hidden check 1 (x)", "hidden check 2 (x)"]
    shown = _shown(result)
    for secret in ("requires_grad", "is_leaf", "shape == (2,)"):
        assert secret not in shown, secret
    assert result.passed is right
    if not right:
        assert result.messages == ["hidden check 1 (x) is not right."]


def _shown(result) -> str:
    from autodiff_course.feedback.html import result_html
    from autodiff_course.feedback.text import result_text

    return "\n".join([result.feedback, json.dumps(result.to_dict()), result_html(result), result_text(result)])


@pytest.mark.parametrize("answer", [
    "p1_1000d300000_998d800000_1002d500000",         # too long for a name: a record of hidden points
    "0.3,-1.2,2.5",                                  # not a name
    "Mul Backward 1.68 -1.14",
    ["AddBackward0", "x=1.6805;-1.1393"],            # inside a list
])
def test_a_text_answer_is_shown_only_if_it_is_a_short_name(answer):
    expect = [{"check": "answer", "equals": "'MulBackward0'", "hint": "x2 = t * 2."}]
    result = check_variables({"answer": answer}, ["answer"], expect)
    assert not result.passed
    shown = _shown(result)
    for text in answer if isinstance(answer, list) else [answer]:
        if text != "AddBackward0":
            assert text not in shown and text[:8] not in shown
    assert "(not a grad_fn name)" in shown
    # A plausible name, right or wrong, is still the student's answer as written.
    wrong = check_variables({"answer": "AddBackward0"}, ["answer"], expect)
    assert "'AddBackward0'" in wrong.rows[0]["received"]


def test_an_expression_that_fails_on_the_students_data_does_not_repeat_its_message():
    # `answer["k"]` over a student dict: the KeyError's message would be the student's own key text.
    expect = [{"check": "answer['p1_1000d3']", "equals": "1"}]
    result = check_variables({"answer": {"p1_1000d300000x": 1}}, ["answer"], expect)
    assert not result.passed and "p1_1000d300000x" not in _shown(result)
