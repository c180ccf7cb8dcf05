"""Hidden means hidden: an answer of pasted numbers, right at the visible point and wrong at the hidden ones,
gets feedback that says so without one hidden input or reference value in anything the student can see
(the check's words and HTML, the in-notebook check, the batch's feedback page, graded notebook, grades.csv and
gradebook comments). The scan compares every number shown with every hidden value to 6 significant digits."""
from __future__ import annotations

import json
import sqlite3

import nbformat
import numpy as np
import pytest
from pasted_answers import (
    ASSIGNMENT,
    REPO,
    STYLES,
    _examples_module,
    allowed_values,
    asset_numbers,
    forbidden_values,
    hidden_exercises,
    leaks,
    pasted,
    pasted_notebook,
    source_notebook,
)

from autodiff_course.checks import collect, judge
from autodiff_course.course import grade as notebook_grade
from autodiff_course.course.config import load_config
from autodiff_course.grading.report import feedback_path

CONFIG = load_config(REPO / "graders" / f"{ASSIGNMENT}.toml")
FORBIDDEN = forbidden_values(CONFIG)
ANSWERS = _examples_module().solutions(source_notebook())
CASES = [(style, spec["id"]) for style in STYLES for spec in hidden_exercises(CONFIG)]


def _namespace(spec: dict, style: str) -> dict:
    scope = {"np": np}
    exec(compile(pasted(spec, ANSWERS[spec["id"]], style), "<answer cell>", "exec"), scope)  # noqa: S102
    return scope


def _visible_text(result) -> str:
    return "\n".join([result.feedback, result._repr_html_(), json.dumps(result.to_dict())])


def test_the_course_has_exercises_with_hidden_points():
    assert {s["id"] for s in hidden_exercises(CONFIG)} == {"decomposition", "forward", "forward_dx1", "reverse"}


def test_the_scan_finds_hidden_values_where_they_are():
    # What the sandbox collects holds the hidden points (it must run there): the scan has to see them.
    spec = CONFIG.exercise("forward")
    raw = json.dumps(collect(spec, _namespace(spec, "derivatives")))
    assert leaks(raw, FORBIDDEN, allowed_values(CONFIG))
    assert leaks("at x0 = 0.3, x1 = -1.2 expected 1.309960737", FORBIDDEN, allowed_values(CONFIG))


@pytest.mark.parametrize(("style", "exercise"), CASES)
def test_pasted_answer_feedback_quotes_no_hidden_number(style, exercise):
    spec = CONFIG.exercise(exercise)
    result = judge(spec, collect(spec, _namespace(spec, style)))
    assert not result.passed
    assert leaks(_visible_text(result), FORBIDDEN, allowed_values(CONFIG, [result.score])) == []


@pytest.mark.parametrize("exercise", [s["id"] for s in hidden_exercises(CONFIG)])
def test_right_at_the_visible_point_only_says_so(exercise):
    spec = CONFIG.exercise(exercise)
    result = judge(spec, collect(spec, _namespace(spec, "derivatives")))
    assert result.messages[0].startswith("Right at the visible test point, wrong at ")
    assert "hidden test points" in result.messages[0]
    assert result.point is None and result.expected == {} and result.received == {}
    assert all("expected" not in r and "received" not in r for r in result.rows if not r["ok"])


@pytest.mark.parametrize(("style", "exercise"), CASES)
def test_in_notebook_check_with_hidden_tests_quotes_no_hidden_number(style, exercise):
    # What nbgrader's autograde runs in the notebook: the hidden test call, with the config's every field.
    spec = CONFIG.exercise(exercise)
    fields = {k: v for k, v in spec.items() if k not in ("id", "assignment", "points")}
    g = notebook_grade(ASSIGNMENT, exercise, points=spec["points"], namespace=_namespace(spec, style), **fields)
    text = str(g) + g._repr_html_()
    allowed = allowed_values(CONFIG, [g.earned, g.points, g.result.score, *asset_numbers()])
    assert leaks(text, FORBIDDEN, allowed) == []


@pytest.mark.slow
def test_batch_outputs_quote_no_hidden_number(tmp_path):
    from autodiff_course.grading.batch import grade

    subs = tmp_path / "submitted"
    for style in STYLES:
        folder = subs / f"paste_{style}" / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(pasted_notebook(CONFIG, style), folder / f"{ASSIGNMENT}.ipynb")
    out = tmp_path / "graded"
    summary = grade(course=REPO, submissions=subs, out=out, assignments=[ASSIGNMENT], jobs=2, progress=False,
                    gradebook=out / "gradebook.db",
                    report_line=lambda line: None)
    scores = []
    for result in summary.results:
        scores += [result["score"], result["max_score"]]
        scores += [e["score"] for e in result["exercises"]] + [e["max_score"] for e in result["exercises"]]
        scores += [(e.get("check") or {}).get("score", 0.0) for e in result["exercises"]]
    allowed = allowed_values(CONFIG, scores)
    seen = {}
    for style in STYLES:
        student = f"paste_{style}"
        seen[f"{student} feedback"] = feedback_path(out, student, CONFIG).read_text()
        seen[f"{student} notebook"] = (out / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    seen["grades.csv"] = (out / "grades.csv").read_text()
    with sqlite3.connect(out / "gradebook.db") as db:
        seen["gradebook comments"] = "\n".join(str(c) for (c,) in db.execute(
            "select coalesce(auto_comment, '') || ' ' || coalesce(manual_comment, '') from comment"))
    assert "Right at the visible test point" in seen["paste_derivatives feedback"]
    # The fresh points were run in the sandbox with the test points and judged here: their numbers are shown
    # (tests/feedback/test_fresh_point.py checks them), the score is the one without them.
    for where in ("paste_derivatives feedback", "paste_derivatives notebook"):
        assert seen[where].count("(not one of the test points)") >= len(hidden_exercises(CONFIG)), where
    by_student = {r["student"]: r for r in summary.results}
    for entry in by_student["paste_derivatives"]["exercises"]:
        if entry["id"] in {s["id"] for s in hidden_exercises(CONFIG)}:
            spec = CONFIG.exercise(entry["id"])
            raw = collect(spec, _namespace(spec, "derivatives"))
            unfresh = judge(spec, {k: v for k, v in raw.items() if k != "fresh"})
            assert entry["check"]["fresh"] is not None and entry["score"] == round(unfresh.score * spec["points"], 4)
    for where, text in seen.items():
        assert leaks(text, FORBIDDEN, allowed) == [], where
        assert "instructor only" not in text, where
    # The instructor's own report lists them, marked as the instructor's.
    report = (out / "report.html").read_text()
    assert "Hidden test points (instructor only" in report
    assert leaks(report, FORBIDDEN, allowed), "the report shows the hidden points"


_WORDS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven",
          "8": "eight", "9": "nine", ".": "point", "-": "minus"}


def _spelled(x: float) -> str:
    return "_".join(_WORDS[c] for c in f"{x:.4f}")


_RAISING = '''
def function_dx0(x0, x1, x2):
    plain = [getattr(x, "value", x) for x in (x0, x1, x2)]  # the traced run's values are read too
    if plain != [1.8, 2.4, 0.7]:
        words = "_".join(_spell(x) for x in plain)
        kind = type("at_" + _spell(plain[0])[:20], (Exception,), {})
        raise kind("at " + words)
    return np.sin(x0) + x1 * np.cos(x0) + x1 / x2, np.cos(x0) - x1 * np.sin(x0)
'''


def test_an_error_raised_at_a_hidden_point_is_not_repeated_in_its_own_words():
    # An outside review: an answer raising at every point but the visible one, with the inputs spelled out in
    # words in the message (past any scan for numbers), read every hidden and random point back in its
    # feedback. At a hidden point the kind of error and its line are said, never the answer's own text.
    spec = CONFIG.exercise("forward")
    scope = {"np": np, "_spell": _spelled}
    exec(compile(_RAISING, "<answer cell>", "exec"), scope)  # noqa: S102 - our own attack
    result = judge(spec, collect(spec, scope))
    text = _visible_text(result)
    hidden = [p for p in __import__("autodiff_course.checks.points", fromlist=["test_points"]).test_points(
        spec, hidden=True) if list(p) != [1.8, 2.4, 0.7]]
    assert hidden and not result.passed
    for point in hidden:
        for x in point:
            assert _spelled(float(x)) not in text, (x, result.feedback)
    assert "at_" not in text and "an exception of its own class" in result.feedback, result.feedback
    assert "line 7" in result.feedback, result.feedback  # the raise, counted from the cell's first line
