"""A mistake diagnosed at a hidden point is shown with numbers at a fresh point: a point of the exercise's
domain that is none of its test points, where the student's function also goes wrong. The fresh point is run
with the test points (in the sandbox, in the notebook) but never scored; it never quotes a hidden number, even
for an answer that remembers the hidden points it was called at."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from pasted_answers import (
    ASSIGNMENT,
    REPO,
    STYLES,
    _examples_module,
    _solution_function,
    allowed_values,
    forbidden_values,
    hidden_exercises,
    leaks,
    pasted,
    source_notebook,
)

from autodiff_course.checks import collect, collect_spec, judge
from autodiff_course.checks.points import fresh_points, random_points, test_points
from autodiff_course.checks.reveal import LEVELS, student_view
from autodiff_course.course import grade as notebook_grade
from autodiff_course.course.config import load_config, load_course

CONFIG = load_config(REPO / "graders" / f"{ASSIGNMENT}.toml")
FORBIDDEN = forbidden_values(CONFIG)
ANSWERS = _examples_module().solutions(source_notebook())
HIDDEN = [spec["id"] for spec in hidden_exercises(CONFIG)]
EVERY_SPEC = [spec for config in load_course(REPO).values() for spec in config.exercises]
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _namespace(spec: dict, style: str = "derivatives") -> dict:
    scope = {"np": np}
    exec(compile(pasted(spec, ANSWERS[spec["id"]], style), "<answer cell>", "exec"), scope)  # noqa: S102
    return scope


def _numbers(text: str) -> list[float]:
    return [float(t) for t in _NUMBER.findall(text)]


def _quoted(value: float, text: str) -> bool:
    """``value`` appears in ``text`` to 6 significant digits (or exactly, when printed shorter)."""
    return any(f"{n:.6g}" == f"{value:.6g}" or math.isclose(n, value, rel_tol=1e-9) for n in _numbers(text))


def _inside(spec: dict, point) -> bool:
    scope = {"np": np, "abs": abs, **dict(zip(spec["args"], point, strict=True))}
    return all(eval(c, {"__builtins__": {}}, scope) for c in spec.get("domain") or [])  # noqa: S307


def _returned_names(spec: dict) -> list[str]:
    return re.search(r"return (.+)$", ANSWERS[spec["id"]], re.M).group(1).split(", ")


@pytest.mark.parametrize("spec", EVERY_SPEC, ids=lambda s: f"{s['assignment']}:{s['id']}")
def test_fresh_points_are_in_the_domain_and_no_test_point(spec):
    fresh = fresh_points(spec)
    if spec["kind"] not in ("decomposition", "forward", "reverse") or len(test_points(spec)) == len(
            spec.get("test_points") or []):
        assert fresh == []
        return
    tests = test_points(spec, hidden=True)
    assert len(fresh) == 3 and len({tuple(p) for p in fresh}) == 3
    assert all(p not in tests and _inside(spec, p) for p in fresh)
    assert fresh == fresh_points(dict(spec)), "derived from the exercise, the same every time"
    assert not set(map(tuple, fresh)) & set(map(tuple, random_points(spec)))
    # What the sandbox receives carries them, so it runs the student's function there too.
    assert collect_spec(spec)["fresh_points"] == fresh and fresh_points(collect_spec(spec)) == fresh


def test_an_exercise_without_hidden_points_runs_at_no_fresh_point():
    spec = dict(CONFIG.exercise("reverse"), hidden_points=[], random_points=0)
    raw = collect(spec, _namespace(CONFIG.exercise("reverse")))
    assert fresh_points(spec) == [] and "fresh" not in raw


@pytest.mark.parametrize("exercise", HIDDEN)
def test_a_mistake_at_hidden_points_only_is_shown_at_a_fresh_point(exercise):
    spec = CONFIG.exercise(exercise)
    scope = _namespace(spec)
    result = judge(spec, collect(spec, scope))
    assert result.messages[0].startswith("Right at the visible test point") and result.fresh is not None
    point, part = result.fresh["point"], result.fresh["part"]
    assert point in fresh_points(spec) and point not in test_points(spec, hidden=True)
    # The numbers are the student's function and the instructor's solution run here, at the fresh point.
    names = _returned_names(spec)
    returned = scope[spec["function"]](*point)
    returned = returned if isinstance(returned, tuple) else (returned,)
    right = _solution_function(ANSWERS[exercise], spec["function"])(*point)
    right = right if isinstance(right, tuple) else (right,)
    at = names.index(part) if part in names else 1  # forward mode returns its derivative second, named or not
    assert result.fresh["received"][part] == pytest.approx(float(returned[at]), rel=1e-12)
    assert result.fresh["expected"][part] == pytest.approx(float(right[at]), rel=1e-9)
    words = next(m for m in result.messages if "fresh point" in m)
    assert "not one of the test points" in words
    for value in [*point, float(returned[at]), float(right[at])]:
        assert _quoted(value, words), (value, words)
    assert words in result.feedback and words in result._repr_html_()


@pytest.mark.parametrize(("style", "exercise"), [(s, e) for s in STYLES for e in HIDDEN])
def test_the_fresh_point_never_changes_the_verdict(style, exercise):
    spec = CONFIG.exercise(exercise)
    raw = collect(spec, _namespace(spec, style))
    with_fresh = judge(spec, raw)
    without = judge(spec, {k: v for k, v in raw.items() if k != "fresh"})
    assert (with_fresh.score, with_fresh.status, with_fresh.rows, with_fresh.culprit, with_fresh.mistakes) == (
        without.score, without.status, without.rows, without.culprit, without.mistakes)
    assert without.fresh is None and all("fresh point" not in m for m in without.messages)


@pytest.mark.parametrize("exercise", HIDDEN)
def test_the_solution_passes_with_its_fresh_points(exercise):
    spec = CONFIG.exercise(exercise)
    scope = {"np": np}
    exec(ANSWERS[exercise], scope)  # noqa: S102 - the instructor's solution
    raw = collect(spec, scope)
    result = judge(spec, raw)
    assert len(raw["fresh"]) == 3 and result.passed and result.score == 1.0 and result.fresh is None


def _forward_answer(at_fresh, slow: bool = False):
    """The forward exercise's answer, right at the visible point, its returned derivative off by one at the
    hidden ones, and ``at_fresh(first hidden x0)`` at every later call (the fresh points)."""
    spec = CONFIG.exercise("forward")
    scored = len(test_points(spec, hidden=True))
    calls: list[float] = []

    def function_dx0(x0, x1, x2):
        calls.append(x0)
        v0, v1, v2 = x0, x1, x2
        dv0dx0, dv1dx0, dv2dx0 = 1.0, 0.0, 0.0
        v3 = np.sin(v0)
        dv3dx0 = np.cos(v0) * dv0dx0
        v4 = np.cos(v0)
        dv4dx0 = -np.sin(v0) * dv0dx0
        v5 = v1 * v4
        dv5dx0 = dv1dx0 * v4 + v1 * dv4dx0
        v6 = v1 / v2
        dv6dx0 = dv1dx0 / v2 - v1 * dv2dx0 / v2**2
        v7 = v3 + v5
        dv7dx0 = dv3dx0 + dv5dx0
        v8 = v6 + v7
        dv8dx0 = dv6dx0 + dv7dx0
        if len(calls) <= 2:  # the visible point, run plain then traced
            return v8, dv8dx0
        if len(calls) <= 2 * scored:
            return v8, dv8dx0 + 1.0
        if slow:
            import time

            time.sleep(30)
        return v8, at_fresh(float(calls[2]))  # calls[2]: the first hidden point's x0, in the plain run

    return spec, {"function_dx0": function_dx0}


def test_an_answer_that_returns_a_remembered_hidden_number_at_a_fresh_point_is_shown_no_numbers():
    # The control: the same answer with an innocent number at the fresh points is shown one.
    spec, scope = _forward_answer(lambda hidden_x0: 0.123456)
    control = judge(spec, collect(spec, scope))
    # The student's dv8dx0 is right; what is wrong is the number returned in its place.
    assert control.fresh is not None and control.fresh["received"] == {"returned derivative": 0.123456}
    spec, scope = _forward_answer(lambda hidden_x0: hidden_x0)
    result = judge(spec, collect(spec, scope))
    assert result.fresh is None and "fresh point" not in result.feedback
    assert result.score == control.score
    text = "\n".join([result.feedback, result._repr_html_(), json.dumps(result.to_dict())])
    assert leaks(text, FORBIDDEN, allowed_values(CONFIG, [result.score])) == []


def test_a_fresh_point_that_runs_out_of_time_costs_nothing():
    spec, scope = _forward_answer(lambda hidden_x0: 0.123456, slow=True)
    spec = dict(spec, time_limit=1.5)
    raw = collect(spec, scope)
    assert not raw["timed_out"] and raw["fresh"] == [] and len(raw["points"]) == len(test_points(spec))
    result = judge(spec, raw)
    quick_spec, quick = _forward_answer(lambda hidden_x0: 0.123456)
    assert result.status == "failed" and result.fresh is None
    assert result.score == judge(quick_spec, collect(quick_spec, quick)).score


def test_forged_fresh_data_is_left_out():
    spec = CONFIG.exercise("reverse")
    raw = collect(spec, _namespace(spec))
    honest = judge(spec, raw)
    forged = json.loads(json.dumps(raw))
    forged["fresh"][0]["inputs"] = list(spec["hidden_points"][0])  # "my fresh point was the hidden one"
    forged["fresh"][0]["graph"] = raw["points"][1]["graph"]
    assert judge(spec, forged).fresh is None and judge(spec, forged).score == honest.score
    forged["fresh"] = "not a list"
    assert judge(spec, forged).score == honest.score
    assert judge(spec, dict(raw, fresh=raw["fresh"] * 2)).fresh is None


@pytest.mark.parametrize("level", LEVELS)
def test_the_fresh_numbers_come_with_the_hint(level):
    spec = CONFIG.exercise("forward")
    shown = student_view(judge(spec, collect(spec, _namespace(spec))), level)
    everything = shown.feedback + shown._repr_html_() + json.dumps(shown.to_dict())
    assert ("fresh point" in everything) == (level in ("hint", "solution"))
    assert (shown.fresh is not None) == (level in ("hint", "solution"))


def test_without_show_expected_only_the_students_value_is_quoted():
    spec = dict(CONFIG.exercise("forward"), show_expected=False)
    result = judge(spec, collect(spec, _namespace(spec)))
    words = next(m for m in result.messages if "fresh point" in m)
    assert result.fresh["expected"] == {} and "right value" not in words
    assert _quoted(result.fresh["received"]["returned derivative"], words)


def test_the_in_notebook_check_with_hidden_tests_shows_the_fresh_point():
    # nbgrader's autograde runs the hidden call in the notebook: the fresh point is run and judged there.
    spec = CONFIG.exercise("reverse")
    fields = {k: v for k, v in spec.items() if k not in ("id", "assignment", "points")}
    g = notebook_grade(ASSIGNMENT, "reverse", points=spec["points"], namespace=_namespace(spec), **fields)
    assert "at a fresh point" in str(g) and "not one of the test points" in g._repr_html_()
    assert g.earned == pytest.approx(judge(spec, {k: v for k, v in collect(spec, _namespace(spec)).items()
                                                  if k != "fresh"}).score * spec["points"], abs=1e-4)


def test_the_readme_quotes_the_fresh_point_as_the_checker_writes_it():
    spec = CONFIG.exercise("forward")
    words = next(m for m in judge(spec, collect(spec, _namespace(spec))).messages if "fresh point" in m)
    readme = " ".join((REPO / "README.md").read_text().split())
    assert f'"{words}"' in readme
