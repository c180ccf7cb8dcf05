"""Test points: the exercise's own points, then seeded random points inside the domain, the same every
time."""

import json
import math
import os
import subprocess
import sys

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
    import numpy as np

    from autodiff_course.checks import check_forward

    def log_dx(x0):
        v0 = x0
        dv0 = 1
        v1 = np.log(v0)
        dv1 = dv0 / v0
        return v1, dv1

    result = check_forward(log_dx, "np.log(x0)")
    assert result.passed, result.feedback
