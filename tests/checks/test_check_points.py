"""Test points: the exercise's own points, then seeded random points inside the domain, the same every
time."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from autodiff_course.checks import InternalCheckError
from autodiff_course.checks import test_points as points_of

SPEC = {
    "assignment": "autodiff_by_hand",
    "id": "reverse",
    "args": ["x0", "x1", "x2"],
    "reference": "np.sin(x0) + x1*np.cos(x0) + x1/x2",
    "test_points": [[1.8, 2.4, 0.7]],
    "hidden_points": [[0.3, -1.2, 2.5]],
    "random_points": 5,
    "domain": ["abs(x2) > 0.2"],
}


def test_visible_points_are_the_exercises_own():
    assert points_of(SPEC, hidden=False) == [[1.8, 2.4, 0.7]]


def test_hidden_points_add_hidden_and_random_points_after_the_visible_ones():
    pts = points_of(SPEC, hidden=True)
    assert pts[:2] == [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5]]
    assert len(pts) == 7
    assert len({tuple(p) for p in pts}) == 7


def test_random_points_respect_the_domain_and_the_default_range():
    spec = dict(SPEC, random_points=200, domain=["abs(x2) > 0.2", "x0 > 0"])
    for x0, x1, x2 in points_of(spec)[2:]:
        assert abs(x2) > 0.2 and x0 > 0
        assert -3 <= min(x0, x1, x2) and max(x0, x1, x2) <= 3


def test_random_points_avoid_where_the_reference_is_not_finite():
    # log of a negative number is nan and 1/0 is inf: such points are rejected even without a domain.
    spec = {"assignment": "a", "id": "logs", "args": ["x"], "reference": "np.log(x)", "random_points": 50}
    assert all(p[0] > 0 for p in points_of(spec))


def test_random_points_are_deterministic_per_exercise_and_differ_between_exercises():
    assert points_of(SPEC) == points_of(dict(SPEC))
    assert points_of(SPEC)[2:] != points_of(dict(SPEC, id="forward"))[2:]
    assert points_of(SPEC)[2:] != points_of(dict(SPEC, assignment="other"))[2:]


def test_random_points_do_not_depend_on_the_interpreters_hash_seed():
    code = (
        "import json, sys; from autodiff_course.checks import test_points; "
        "print(json.dumps(test_points(json.loads(sys.argv[1]))))"
    )
    runs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run(
            [sys.executable, "-c", code, json.dumps(SPEC)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=120,
        )
        runs.append(json.loads(out.stdout))
    assert runs[0] == runs[1] == points_of(SPEC)


def test_a_domain_with_no_room_is_the_exercises_fault():
    spec = dict(SPEC, domain=["x0 > 10"])
    with pytest.raises(InternalCheckError, match="random points"):
        points_of(spec)


def test_random_points_are_finite_and_rounded_for_display():
    for p in points_of(SPEC)[2:]:
        assert all(math.isfinite(v) and round(v, 4) == v for v in p)


def test_the_notebook_api_without_points_checks_inside_the_domain():
    from autodiff_course.checks import check_forward

    def log_dx(x0):
        v0 = x0
        dv0 = 1
        v1 = np.log(v0)
        dv1 = dv0 / v0
        return v1, dv1

    result = check_forward(log_dx, "np.log(x0)")
    assert result.passed, result.feedback


def _sides(points, i):
    return {(p[i] > 0, abs(p[i]) > 1) for p in points if p[i] != 0 and abs(p[i]) != 1}


@pytest.mark.parametrize("secret", [None, *(f"secret {k}" for k in range(20))])
def test_the_scored_points_put_every_input_on_both_sides_of_zero(secret):
    """Every exercise of graders/*.toml with random points: whatever the course's secret, each input is
    negative at one scored point and positive at another (so `np.abs(x2)` for `x2` meets a point where it is
    wrong), inside the domain, and the choice is the same every time."""
    from pathlib import Path

    from autodiff_course.checks.points import _domain_test
    from autodiff_course.course.config import load_config

    specs = [s for path in sorted((Path(__file__).parents[2] / "graders").glob("*.toml"))
             for s in load_config(path).exercises if s.get("random_points")]
    assert len(specs) == 4
    for spec in specs:
        spec = dict(spec, point_secret=secret) if secret else spec
        points = points_of(spec)
        assert points == points_of(dict(spec))
        inside = _domain_test(spec)
        assert all(inside(p) for p in points)
        for i in range(len(spec["args"])):
            assert {positive for positive, _ in _sides(points, i)} == {True, False}, (spec["id"], i, points)


def test_random_points_fill_the_signs_and_sizes_the_fixed_points_leave_out():
    # All fixed points positive and above 1: two random points can stand in every other region of one input.
    spec = {"assignment": "a", "id": "one", "args": ["x"], "reference": "x * x",
            "test_points": [[2.0]], "hidden_points": [[1.5]], "random_points": 3}
    assert _sides(points_of(spec), 0) == {(True, True), (True, False), (False, True), (False, False)}
    # Where the domain forbids negative values, no point is drawn outside it to cover them.
    positive = dict(spec, domain=["x > 0"])
    assert all(p[0] > 0 for p in points_of(positive)) and _sides(points_of(positive), 0) == {(True, True),
                                                                                         (True, False)}


def test_the_remembered_random_points_are_handed_out_as_fresh_lists():
    first = points_of(SPEC)
    first[2][0] = 99.0
    assert points_of(SPEC)[2][0] != 99.0
    # a reference given as a function is not remembered, and gives the same points as its expression
    assert points_of(dict(SPEC, reference=lambda x0, x1, x2: np.sin(x0) + x1 * np.cos(x0) + x1 / x2)) \
        == points_of(SPEC)
