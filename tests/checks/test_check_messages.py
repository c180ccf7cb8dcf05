"""Every message a check can produce, listed in one place (``notation.MISTAKES`` for the mistakes,
``notation.NOTES`` for the sentences all kinds share), is rendered here at least once, from a real answer, at
every reveal level, and read for words a first-year student should not meet."""
from __future__ import annotations

import re

import answers_attacks as A
import answers_by_hand as S
import answers_grounded as G
import numpy as np
import pytest
from test_check_verdicts import CASES, run

from autodiff_course.checks import (
    check_decomposition,
    check_forward,
    check_graph,
    check_reverse,
    check_variables,
    collect,
    judge,
)
from autodiff_course.checks.judge import too_large_result
from autodiff_course.checks.reveal import LEVELS, student_view
from autodiff_course.notation import LEVEL_WORDS, MISTAKES, NOTES, note

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the answers divide 0 by 0 on purpose

#: Words of the grader's insides: a student reads what their code does, not how the checker works.
JARGON = re.compile(r"traced value|untraceable|silently|\btraced?\b|primitive|NoneType|Traceback|\bnode\b|"
                    r"computational graph cannot|\bspec\b|\braw\b|_t\d", re.I)

#: A forward exercise whose function the notebook never defined.
NOWHERE = {"id": "f", "kind": "forward", "function": "nowhere", "args": ["x0"], "reference": "x0",
           "test_points": [[1.0]]}
GRAPH_RIGHT = {"v3": ["v0"], "v4": ["v0"], "v5": ["v1", "v4"], "v6": ["v1", "v2"], "v7": ["v3", "v5"],
               "v8": ["v6", "v7"]}


def _raises(x0, x1, x2):
    return x0 / (x1 - x1)


def _branches(x0, x1, x2):
    if x0 > 0:
        return x0
    return x1


def _log_of_negative(x0, x1, x2):
    v0 = x0
    v1 = np.log(-(v0 * v0) - 1.0)
    return v1, 1.0


def _stub(x0, x1, x2):
    raise NotImplementedError()


def _pasted_y_inputs(x0, x1, x2):
    v0 = x0
    v1 = 2.4
    v2 = 0.7
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    dv8dx0 = np.cos(v0) - v1 * np.sin(v0)
    return v8, dv8dx0


def _power_rule_slip(x0, x1, x2):
    v0 = x0
    dv0dx0 = 1.0
    v1 = v0**3
    dv1dx0 = v0**2 * dv0dx0
    return v1, dv1dx0


def _adjoints_left_out(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = v0 * v1
    vbar2 = 1.0
    return v2, vbar2



def _first_run_differs(x0, x1, x2):
    # Gives one value when run on plain numbers and another when followed step by step.
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0) + v1 * np.cos(v0) + v1 / v2
    return (v3 + 1.0 if type(x0).__module__ in ("builtins", "numpy") else v3), 1.0


def _results():
    """(what, result) for an answer of every kind of mistake."""
    out = [(name, run(name, kind, ref, wrt, notebook_reveal="solution")) for name, kind, ref, wrt, *_ in CASES]
    solution = {"notebook_reveal": "solution"}
    out += [
        ("exception", check_reverse(_raises, S.Y, points=S.POINT_Y, **solution)),
        ("cannot-follow", check_forward(_branches, S.Y, points=S.POINT_Y, **solution)),
        ("domain-error", check_forward(_log_of_negative, S.Y, points=S.POINT_Y, **solution)),
        ("domain-error at one point", check_reverse(A.reverse_nan_at_one_point, A.Y, points=A.POINTS, **solution)),
        ("timeout", check_reverse(S.never_returns, S.Y, points=S.POINT_Y, time_limit=0.3, **solution)),
        ("unanswered", check_reverse(_stub, S.Y, points=S.POINT_Y, **solution)),
        ("reassigned", check_decomposition(A.decomposition_reassigned, A.Y, points=A.POINTS, **solution)),
        ("overwritten", check_reverse(A.reverse_overwritten_adjoint, A.Y, points=A.POINTS, **solution)),
        ("missing-factor", check_forward(A.forward_example_dx1_tangent_left_out, A.F, wrt=1, points=A.POINTS_F,
                                         **solution)),
        ("pasted-constant", check_reverse(A.reverse_pasted_constant, A.Y, points=A.POINTS, **solution)),
        ("value-for-derivative", check_reverse(G.reverse_value_for_adjoint, G.Y, points=G.POINTS, **solution)),
        ("extra-factor", check_reverse(G.reverse_extra_factor_and_equal_neighbour, G.Y, points=G.POINTS,
                                       **solution)),
        ("not-returned", check_forward(G.forward_computed_but_zero_returned, G.Y, points=G.POINTS, **solution)),
        ("reversed", check_reverse(G.reverse_adjoints_backwards, G.Y, points=G.POINTS, **solution)),
        ("numbers in the return line", check_reverse(G.reverse_zeros_in_the_return_line, G.Y, points=G.POINTS,
                                                     **solution)),
        ("not-the-function", check_forward(_pasted_y_inputs, S.Y, points=S.POINT_Y, **solution)),
        ("power-rule", check_forward(_power_rule_slip, "x0**3", points=S.POINT_Y, **solution)),
        ("missing", check_reverse(_adjoints_left_out, "x0*x1", points=S.POINT_Y, **solution)),
        ("wrong-output", check_forward(_first_run_differs, S.Y, points=S.POINT_Y, **solution)),
        ("hidden only", check_reverse(S.reverse_missing_path_through_v5, S.Y, points=[[np.pi / 2, 2.4, 0.7]],
                                      hidden_points=[[1.8, 2.4, 0.7]], **solution)),
        ("missing-parent", check_graph(S.decomposition_seed, {**GRAPH_RIGHT, "v8": ["v7"]}, points=S.POINT_Y)),
        ("extra-parent", check_graph(S.decomposition_seed, {**GRAPH_RIGHT, "v5": ["v1", "v4", "v0"],
                                                            "v9": ["v8"], "x0": ["v1"]}, points=S.POINT_Y)),
        ("missing-variable", check_graph(S.decomposition_seed, {k: v for k, v in GRAPH_RIGHT.items() if k != "v6"},
                                         points=S.POINT_Y)),
        ("not-a-dict", check_graph(S.decomposition_seed, ["v3", "v4"], points=S.POINT_Y)),
        ("missing-operation", check_graph(lambda x0, x1, x2: x0, {}, points=S.POINT_Y, reference=S.Y)),
        ("no-function", judge(NOWHERE, collect(NOWHERE, {}))),
        ("too-large", too_large_result({"id": "huge", "kind": "forward"}, 6000)),
        ("unusable-data", judge({"id": "r", "kind": "reverse"}, {"format": "something else"})),
        ("error", judge({"id": "r", "kind": "reverse"}, {"format": "autodiff-course.raw/1", "kind": "reverse",
                                                          "status": "error", "message": ""})),
        ("not-by-hand", check_variables({"d": 2.0, "In": ["", "d = t.grad * 1"]}, ["d"], [
            {"check": "d", "equals": "2.0", "hint": "Derive d by hand."}], by_hand=["d"])),
        ("not-from-autograd", check_variables({"g": 2.0, "t": None}, ["g", "t"], [
            {"check": "g", "equals": "2.0", "autograd": "t", "hint": "Read g off autograd."}])),
        ("variables wrong and missing", check_variables({"x": 2.0}, ["x", "y"], [
            {"check": "x", "equals": "3.0", "hint": "x should be three."},
            {"check": "y", "equals": "1.0", "hint": "Define y."}])),
    ]
    return out


@pytest.fixture(scope="module")
def results():
    return _results()


def test_every_mistake_a_check_names_is_listed_and_every_listed_one_is_produced(results):
    produced = {code for _, result in results for code in result.mistakes}
    produced |= {r["code"] for _, result in results for r in result.rows if r.get("code")}
    assert produced - set(MISTAKES) == set(), "mistakes without words in notation.MISTAKES"
    # replaced-input needs the course's PyTorch network (tests/checks/test_check_trust.py renders it).
    assert set(MISTAKES) - produced == {"replaced-input"}


@pytest.mark.parametrize("level", LEVELS)
def test_no_message_at_any_level_uses_the_graders_jargon(results, level):
    for what, result in results:
        shown = student_view(result, level)
        for text in [shown.feedback, *[r.get("message", "") for r in shown.rows]]:
            assert not JARGON.search(text), (what, level, JARGON.search(text).group(0), text)


def test_every_shared_sentence_renders_with_its_fields_and_reads_plainly():
    fields = {"visible": "the visible test point", "wrong": "all 4 hidden test points", "what": "`f`",
              "verb": "is", "culprit": "vbar1", "runs": 2, "s": "s", "more": LEVEL_WORDS["hint"],
              "error": "ZeroDivisionError: division by zero", "point": "x0 = 0.5107, x1 = -1.3021",
              "where": "at a fresh point x0 = 0.5107, x1 = -1.3021 (not one of the test points)", "part": "vbar1",
              "received": "0.25", "expected": ", and the right value is 1.5"}
    for key in NOTES:
        text = note(key, **fields)
        assert "{" not in text and not JARGON.search(text), key
    for code, words in MISTAKES.items():
        assert words and not JARGON.search(words), code
