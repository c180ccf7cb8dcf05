"""The compare stepper a failed check offers in grade()'s feedback: on the student's own graph, culprit marked,
only at visible points of exercises that show expected values, built without running the student's code
again, and never changing the score nbgrader reads.

The wrong answers are the checker tests' collection of real student slips (tests/checks/answers_by_hand.py).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest
from nbformat.v4 import new_output
from nbgrader.utils import get_partial_grade

from autodiff_course.course import grade

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "checks"))
S = importlib.import_module("answers_by_hand")

POINT = S.POINT_Y[0]


def _spec_for(name: str) -> dict:
    kind = name.split("_", 1)[0]
    fn = getattr(S, name)
    args = list(inspect.signature(fn).parameters)
    reference = S.Y if len(args) == 3 else S.F
    point = S.POINT_Y if len(args) == 3 else S.POINT_F
    spec = {"kind": kind, "reference": reference, "args": args, "test_points": point}
    if kind == "forward":
        spec["wrt"] = 1 if name.endswith("dx1") else 0
    return spec


def _grade(name: str, **extra):
    fn = getattr(S, name)
    spec = {**_spec_for(name), **extra}
    return grade("demo", name, function=fn, points=4, namespace={}, **spec)


WRONG = [
    n
    for n, f in vars(S).items()
    if inspect.isfunction(f) and n.split("_", 1)[0] in ("forward", "reverse", "decomposition")
    and n not in ("never_returns",)
]


def _digits(name: str) -> str:
    return "".join(c for c in name if c.isdigit()).lstrip("0") or "0"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", WRONG)
def test_a_failed_function_check_offers_the_compare_stepper_with_its_culprit_marked(name):
    g = _grade(name)
    result = g.result
    if result is None or result.status != "failed" or result.point is None:
        # Passed, raised, or a mistake not at a point of the graph (y returned second): nothing to step.
        assert g.stepper is None, name
        return
    assert g.stepper is not None, name
    html = g._repr_html_()
    assert "data-adc-standalone" in html and 'class="autodiff-compare"' in html
    assert float(repr(g)) == g.earned < g.points  # the score nbgrader reads is the check's
    output = new_output("execute_result", data={"text/plain": repr(g), "text/html": html}, execution_count=1)
    assert get_partial_grade(output, g.points) == g.earned
    culprits = [g.stepper.names[nid] for nid, mark in g.stepper.marks.items() if mark == "culprit"]
    if result.culprit is None or result.culprit == "y":
        assert culprits == [], name  # not one node's value: nothing is singled out
        return
    # The culprit is a value (v4), a tangent (dv4dx0, dydx0 of the output) or an adjoint (vbar4, v4_bar) of
    # the marked node, whose number names the same variable.
    assert len(culprits) == 1, (name, result.culprit, g.stepper.marks)
    if not result.culprit.startswith("dy"):
        assert _digits(culprits[0]) == _digits(result.culprit.split("dx")[0]), (name, culprits, result.culprit)
    wrong = {c["name"] for c in g.stepper.checks if not c["ok"]}
    if result.culprit in wrong:  # a wrong number (not a wrong structure): its step says so
        assert any("culprit, the first wrong value" in s["speech"] for s in g.stepper.steps), name


def test_a_wrong_graph_exercise_marks_the_node_whose_parents_are_wrong():
    parents = {"v3": ["v0"], "v4": ["v0"], "v5": ["v1", "v3"], "v6": ["v1", "v2"], "v7": ["v3", "v5"],
               "v8": ["v6", "v7"]}
    g = grade("demo", "graph", kind="graph", function=S.decomposition_seed, variable="parents", reference=S.Y,
              args=["x0", "x1", "x2"], test_points=S.POINT_Y, points=2, namespace={"parents": parents})
    assert g.result.culprit == "v5" and g.stepper is not None
    assert {g.stepper.names[n]: m for n, m in g.stepper.marks.items()} == {"v5": "culprit"}
    v5 = next(s for s in g.stepper.steps if g.stepper.names[s["node"]] == "v5")
    assert sorted(g.stepper.names[r] for r in v5["reads"]) == ["v1", "v4"]  # what the student should have
    assert "arrows into the node it computes" in g._repr_html_()


def test_passing_answers_get_no_stepper():
    for name in ("forward_seed", "reverse_seed_fixed", "decomposition_seed"):
        g = _grade(name)
        assert g.result.passed and g.stepper is None, name
        assert "adc-stepper" not in g._repr_html_()


def test_reverse_stepper_steps_to_the_students_wrong_adjoint_beside_the_expected_one():
    g = _grade("reverse_missing_path")
    assert g.result.culprit == "vbar1"
    said = [s["speech"] for s in g.stepper.steps if s["check"] and s["check"]["name"] == "vbar1"]
    x0, x1, x2 = POINT
    assert len(said) == 1
    yours, expected = (float(v) for v in said[0].split("Your vbar1 is ")[1].split(": differs")[0].split(", expected "))
    assert yours == pytest.approx(np.cos(x0), rel=5e-6)  # the path through v6 is missing
    assert expected == pytest.approx(np.cos(x0) + 1 / x2, rel=5e-6)


def test_no_stepper_when_the_mistake_shows_only_at_a_hidden_point():
    def right_only_where_x0_is_positive(x0, x1, x2):
        v0 = x0
        v1 = x1
        v2 = x2
        v3 = np.sin(v0)
        v4 = np.cos(v0)
        v5 = v1 * v4
        v6 = v1 / v2
        v7 = v3 + v5
        v8 = v6 + v7
        dv8dx0 = np.cos(v0) - v1 * np.sin(np.abs(v0))  # sin(|x0|) is sin(x0) only for x0 >= 0
        return v8, dv8dx0

    g = grade("demo", "hidden", kind="forward", function=right_only_where_x0_is_positive, reference=S.Y,
              args=["x0", "x1", "x2"], wrt=0, test_points=S.POINT_Y, hidden_points=[[-1.3, 0.4, 2.2]],
              points=3, namespace={})
    # Wrong only at the hidden point, which the result never names (issue 13: hidden means hidden).
    assert not g.result.passed and g.result.point is None
    assert g.result.messages[0].startswith("Right at the visible test point, wrong at the only hidden test point")
    assert g.stepper is None


def test_no_stepper_when_the_exercise_hides_expected_values():
    g = _grade("reverse_missing_path", show_expected=False)
    assert not g.result.passed and g.stepper is None


def test_the_stepper_is_built_from_the_checks_own_run_not_by_calling_the_student_again():
    from autodiff_course.checks import collect
    from autodiff_course.course.api import _build_spec

    spec = _build_spec("demo", "r", 4.0, {**_spec_for("reverse_missing_path"), "function": "fn"})
    by_the_check = _count_calls(lambda: collect(spec, {"fn": _counting()}))
    graded = {}
    in_grade = _count_calls(lambda: graded.setdefault("g", grade(
        "demo", "r", function=_counting(), points=4, namespace={}, **_spec_for("reverse_missing_path"))))
    assert graded["g"].stepper is not None
    assert in_grade == by_the_check > 0


_CALLS: list[int] = []


def _counting():
    """reverse_missing_path, counting its calls (compiled from its source, so tracing sees the same lines)."""
    src = inspect.getsource(S.reverse_missing_path)
    scope = {"np": np, "_CALLS": _CALLS}
    body = src.replace("def reverse_missing_path(x0, x1, x2):\n", "def fn(x0, x1, x2):\n    _CALLS.append(1)\n")
    exec(compile(body, S.__file__, "exec"), scope)  # noqa: S102 - our own test answer, with a call counter
    return scope["fn"]


def _count_calls(run) -> int:
    del _CALLS[:]
    run()
    return len(_CALLS)
