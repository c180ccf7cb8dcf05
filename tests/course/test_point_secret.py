"""The random hidden test points are seeded with the course's secret: the public assignment and exercise ids
alone (and the documented `test_points`) no longer give them away, and the secret reaches no student."""
from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import nbformat
import pytest

from autodiff_course.checks import collect_spec
from autodiff_course.checks.points import POINT_SECRET, test_points, visible_count
from autodiff_course.course.config import load_course
from autodiff_course.course.secret import SECRET_FILE, course_secret

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "autodiff_by_hand"


def course(root: Path) -> Path:
    """A course folder with the example class's autodiff_by_hand assignment (and no secret yet)."""
    (root / "graders").mkdir(parents=True)
    shutil.copy(REPO / "graders" / f"{ASSIGNMENT}.toml", root / "graders")
    shutil.copytree(REPO / "notebooks" / ASSIGNMENT, root / "notebooks" / ASSIGNMENT)
    return root


def random_specs(configs) -> list[dict]:
    specs = [s for s in configs[ASSIGNMENT].exercises if s.get("random_points")]
    assert len(specs) >= 3  # decomposition, forward, forward_dx1, ...
    return specs


def randoms(spec: dict) -> list[list[float]]:
    start = visible_count(spec) + len(spec.get("hidden_points") or [])
    return test_points(spec, hidden=True)[start:]


def test_the_secret_is_made_once_private_and_kept(tmp_path):
    root = course(tmp_path / "c")
    assert course_secret(root) is None and not (root / SECRET_FILE).exists()  # reading makes nothing
    secret = course_secret(root, create=True)
    path = root / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(secret) == 64 and course_secret(root, create=True) == course_secret(root) == secret
    assert (path.parent / ".gitignore").read_text() == "*\n"
    assert course_secret(course(tmp_path / "other"), create=True) != secret
    path.write_text("not a secret")
    with pytest.raises(ValueError, match=r"\.autodiff-course/secret"):
        course_secret(root)


def test_random_points_depend_on_the_secret_and_not_on_the_public_ids_alone(tmp_path):
    one, two = course(tmp_path / "one"), course(tmp_path / "two")
    public = {s["id"]: randoms(s) for s in random_specs(load_course(one))}  # what anyone can compute
    assert all(POINT_SECRET not in s for s in random_specs(load_course(one)))
    course_secret(one, create=True)
    course_secret(two, create=True)
    first = {s["id"]: randoms(s) for s in random_specs(load_course(one))}
    again = {s["id"]: randoms(s) for s in random_specs(load_course(one))}
    other = {s["id"]: randoms(s) for s in random_specs(load_course(two))}
    assert first == again  # stable with the same secret
    for ex_id, points in first.items():
        assert points and points != other[ex_id] and points != public[ex_id], ex_id
        # The red team's reproduction: the documented call with the public fields of the exercise.
        spec = {k: v for k, v in next(s for s in random_specs(load_course(one)) if s["id"] == ex_id).items()
                if k != POINT_SECRET}
        assert not any(p in test_points(spec, hidden=True) for p in points)


def test_no_test_cell_or_sandbox_job_holds_the_secret(tmp_path):
    from autodiff_course.course.cells import sync_notebooks

    root = course(tmp_path / "c")
    sync_notebooks(root)  # makes the secret where there is none
    secret = course_secret(root)
    assert secret is not None
    configs = load_course(root)
    nb = nbformat.read(root / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert secret not in json.dumps(nb) and secret[:16] not in json.dumps(nb)
    for spec in configs[ASSIGNMENT].exercises:
        assert spec[POINT_SECRET] == secret
        sent = collect_spec(spec)
        assert secret not in json.dumps(sent)
        if spec.get("random_points"):
            assert test_points(sent, hidden=True) == test_points(spec, hidden=True)  # computed here


def test_the_in_notebook_check_runs_only_at_the_visible_points(tmp_path):
    # The student's side has no secret and needs none: the visible call of a test cell names no hidden or
    # random point, and the function is called at the visible point only.
    from autodiff_course.course import grade
    from autodiff_course.course.cells import visible_spec

    spec = next(s for s in load_course(course(tmp_path / "c"))[ASSIGNMENT].exercises if s["id"] == "forward")
    seen = []

    def function_dx0(x0, x1, x2):
        import numpy as np

        seen.append((x0, x1, x2))
        v0, v1, v2 = x0, x1, x2
        dv0, dv1, dv2 = 1.0, 0.0, 0.0
        v3, dv3 = np.sin(v0), np.cos(v0) * dv0
        v4, dv4 = np.cos(v0), -np.sin(v0) * dv0
        v5, dv5 = v1 * v4, dv1 * v4 + v1 * dv4
        v6, dv6 = v1 / v2, dv1 / v2 - v1 * dv2 / v2**2
        v7, dv7 = v3 + v5, dv3 + dv5
        v8, dv8 = v7 + v6, dv7 + dv6
        return v8, dv8

    fields = {k: v for k, v in visible_spec(spec).items() if k not in ("id", "assignment", "points",
                                                                      "feedback_reveal", POINT_SECRET)}
    fields["function"] = function_dx0
    result = grade(ASSIGNMENT, "forward", points=spec["points"], **fields)
    assert {tuple(map(float, p)) for p in seen} == {tuple(p) for p in spec["test_points"]}
    assert result is not None


@pytest.mark.slow  # grades two notebooks (about 25 s)
def test_grading_makes_the_secret_and_no_output_holds_it(tmp_path):
    from autodiff_course.grading.batch import grade

    root = course(tmp_path / "c")
    subs = tmp_path / "submitted"
    for student in ("ada", "chen"):
        shutil.copytree(REPO / "examples" / "submitted" / student / ASSIGNMENT, subs / student / ASSIGNMENT)
    out = tmp_path / "out"
    grade(course=root, submissions=subs, out=out, jobs=1, progress=False, gradebook=out / "gradebook.db",
          report_line=lambda _line: None, allow_unsandboxed=True)
    secret = course_secret(root)
    assert secret is not None and (out / "grades.csv").is_file()
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data and secret[:16].encode() not in data, path
