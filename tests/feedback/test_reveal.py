"""The reveal policy: each level shows what it promises and no more; the corrected line appears only at
`solution`; the notebook check and the graded feedback follow their own settings from the grader config."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from autodiff_course.checks import check_reverse, collect, judge
from autodiff_course.checks.reveal import LEVELS, feedback_view, notebook_view, revealed, student_view
from autodiff_course.course import grade as notebook_grade
from autodiff_course.course.config import load_config
from autodiff_course.notation import note

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "checks"))
import answers_by_hand as S  # noqa: E402

CORRECTED = "vbar1 = vbar5 * v4 + vbar6 * (1/v2)"

# Written by hand for chen's slip (reverse mode, vbar1 = vbar5 * v4: the path through v6 is missing) at
# (1.8, 2.4, 0.7); these are also the README's examples of the four levels.
EXAMPLES = {
    "verdict": """\
reverse_missing_path: not yet right (score 0.90).
This check says only whether your answer is right; look again at each step of it.""",
    "culprit": """\
reverse_missing_path: not yet right (9 of 10 parts right, score 0.90).
Start with vbar1: it is the first value that is wrong.

Not right yet at (1.8, 2.4, 0.7):
  vbar1: WRONG, yours -0.2272020947""",
    "hint": """\
reverse_missing_path: not yet right (9 of 10 parts right, score 0.90).
vbar1 is wrong at x0 = 1.8, x1 = 2.4, x2 = 0.7: v1 is used by v5 and v6; your vbar1 only has the path through \
v5. An adjoint adds up the contributions of every use.

Not right yet at (1.8, 2.4, 0.7):
  vbar1: WRONG, yours -0.2272020947, expected 1.201369334""",
    "solution": """\
reverse_missing_path: not yet right (9 of 10 parts right, score 0.90).
vbar1 is wrong at x0 = 1.8, x1 = 2.4, x2 = 0.7: v1 is used by v5 and v6; your vbar1 only has the path through \
v5. An adjoint adds up the contributions of every use.
The corrected line: vbar1 = vbar5 * v4 + vbar6 * (1/v2)

Not right yet at (1.8, 2.4, 0.7):
  vbar1: WRONG, yours -0.2272020947, expected 1.201369334""",
}


def _at(level: str):
    return check_reverse(S.reverse_missing_path, S.Y, points=S.POINT_Y, notebook_reveal=level)


def _everything(result) -> str:
    return "\n".join([result.feedback, result._repr_html_(), json.dumps(result.to_dict())])


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_reads_as_its_example(level):
    assert _at(level).feedback == EXAMPLES[level]


@pytest.mark.parametrize("level", LEVELS)
def test_the_corrected_line_appears_only_at_solution(level):
    shown = _everything(_at(level))
    assert (CORRECTED in shown) == (level == "solution")
    assert ("vbar5 * v4 + vbar6" in shown) == (level == "solution")


def test_each_level_adds_to_the_one_below():
    verdict, culprit, hint, solution = (_at(level) for level in LEVELS)
    assert verdict.culprit is None and verdict.rows == [] and "vbar1" not in _everything(verdict)
    assert verdict.score == culprit.score == hint.score == solution.score == pytest.approx(0.9)
    assert culprit.culprit == "vbar1" and "used by" not in _everything(culprit)
    assert culprit.expected == {} and all("message" not in r for r in culprit.rows)
    assert "used by v5 and v6" in hint.feedback and hint.mistakes[0] == "missing-path"
    assert solution.solution == CORRECTED


def test_a_result_cut_down_cannot_be_raised_again():
    hint = _at("hint")
    assert student_view(hint, "solution").solution == ""
    assert CORRECTED not in student_view(hint, "solution").feedback
    assert revealed(revealed(_at("solution"), "culprit"), "hint").reveal == "culprit"


def test_the_readme_shows_every_level_as_the_checker_writes_it():
    readme = (REPO / "README.md").read_text()
    for level, text in EXAMPLES.items():
        assert text in readme, level


def test_errors_are_described_at_every_level():
    # An answer that raises: running it is not the answer, so even `verdict` says what went wrong.
    result = check_reverse(S.never_returns, S.Y, points=S.POINT_Y, time_limit=0.5, notebook_reveal="verdict")
    assert result.status == "timeout" and "time limit" in result.feedback


def test_the_hint_ladder_climbs_one_level_every_n_failed_runs():
    spec_fields = dict(kind="reverse", function=S.reverse_missing_path, reference=S.Y, args=["x0", "x1", "x2"],
                       test_points=S.POINT_Y, notebook_reveal="verdict", reveal_ladder=2, ladder_top="hint")
    shown = [str(notebook_grade("ladder_test", "reverse", points=4, **spec_fields)) for _ in range(6)]
    assert "look again at each step" in shown[0] and "1 more unsuccessful run" in shown[0]
    assert "Start with vbar1" in shown[1] and "2 more unsuccessful runs" in shown[1]
    assert "Start with vbar1" in shown[2]
    assert all("used by v5 and v6" in text for text in shown[3:])
    assert all(CORRECTED not in text and "more unsuccessful" not in text for text in shown[3:])


def test_the_ladder_is_off_by_default():
    spec_fields = dict(kind="reverse", function=S.reverse_missing_path, reference=S.Y, args=["x0", "x1", "x2"],
                       test_points=S.POINT_Y)
    shown = {str(notebook_grade("no_ladder", "reverse", points=4, **spec_fields)) for _ in range(4)}
    assert len(shown) == 1 and CORRECTED not in shown.pop()


def test_graded_feedback_follows_feedback_reveal_and_the_notebook_its_own_level():
    config = load_config(REPO / "graders" / "autodiff_by_hand.toml")
    spec = dict(config.exercise("reverse"), hidden_points=[], random_points=0)
    assert (spec["notebook_reveal"], spec["feedback_reveal"]) == ("hint", "solution")
    full = judge(spec, collect(spec, {"function_reverse": S.reverse_missing_path}))
    assert "The corrected line: " + CORRECTED in feedback_view(full, spec).feedback
    assert CORRECTED not in notebook_view(full, spec).feedback
    assert CORRECTED not in feedback_view(full, dict(spec, feedback_reveal="hint")).feedback


def test_the_compare_stepper_is_offered_from_hint_up():
    fields = dict(kind="reverse", function=S.reverse_missing_path, reference=S.Y, args=["x0", "x1", "x2"],
                  test_points=S.POINT_Y)
    offered = {level: notebook_grade("steps", "reverse", points=4, notebook_reveal=level, **fields).stepper
               is not None for level in LEVELS}
    assert offered == {"verdict": False, "culprit": False, "hint": True, "solution": True}


# -- every level on answers nobody wrote by hand ------------------------------------------------------------
import generate as G  # noqa: E402  (tests/checks, on the path above)


def _generated_wrong_answers() -> list:
    """For every function exercise of graders/*.toml, the first mutant of its solution of each mutation class
    that the checker fails (a mutant that raises, or whose values equal the solution's, has no diagnosis to
    reveal)."""
    picked = []
    for ex in G.exercises():
        seen = set()
        for mutant in G.mutants(ex):
            if mutant.what in seen or not G.values_differ(ex, mutant, ex.spec["test_points"]):
                continue
            seen.add(mutant.what)
            picked.append(mutant)
    return picked


WRONG = _generated_wrong_answers()


def _judged(mutant):
    ex = mutant.exercise
    return ex.spec, judge(ex.spec, collect(ex.spec, {ex.name: G.compile_variant(mutant)}))


def test_the_generated_answers_cover_every_function_exercise():
    exercises = {ex.spec["id"] for ex in G.exercises()}
    assert {m.exercise.spec["id"] for m in WRONG} == exercises and len(exercises) == 4
    assert len(WRONG) >= 4 * 3


@pytest.mark.parametrize("mutant", WRONG, ids=[f"{m.exercise.spec['id']}: {m.what} line {m.line}" for m in WRONG])
def test_each_level_shows_exactly_what_it_allows_on_a_generated_wrong_answer(mutant):
    spec, full = _judged(mutant)
    assert full.status == "failed" and full.culprit, mutant.source
    diagnosis = next(m for m in full.messages if not m.startswith("Right at "))
    summary = [m for m in full.messages if m.startswith("Right at ")]
    corrected = f"The corrected line: {full.solution}"
    for level in LEVELS:
        # The notebook check and the graded feedback at the same level show the same.
        seen = notebook_view(full, dict(spec, notebook_reveal=level, reveal_ladder=0))
        graded = feedback_view(full, dict(spec, feedback_reveal=level))
        assert seen.to_dict() == graded.to_dict(), level
        shown = _everything(seen)
        assert seen.failed_at == [] and seen.score == full.score, level
        if level == "verdict":
            assert seen.messages == summary + [note("verdict-only")] and seen.rows == []
            assert seen.culprit is None and full.culprit not in seen.feedback + seen._repr_html_()
            assert seen.graph is None and seen.received == {} and seen.point is None
        elif level == "culprit":
            assert seen.messages == summary + [note("culprit-only", culprit=full.culprit)]
            # "share" is what a part earned (1, 0.5 as its status already says, 0): the headline's count.
            assert all(set(r) <= {"part", "label", "name", "status", "ok", "received", "share"} for r in seen.rows)
            assert seen.expected == {} and seen.mistakes == []
        if level in ("verdict", "culprit"):
            assert diagnosis not in shown and not any(r.get("message") for r in seen.rows), level
            assert seen.fresh is None and seen.solution == ""
        else:
            assert diagnosis in seen.feedback and seen.mistakes == full.mistakes
        # The corrected line: at `solution` only (a forward pass has none to give).
        assert (corrected in seen.feedback) == (level == "solution" and bool(full.solution)), level
        if full.solution and level != "solution":
            assert full.solution not in shown and "The corrected line" not in shown, level


def _their_values(result) -> list[str]:
    """The student's own values in a complete result, as feedback would print them (numbers 6 significant
    digits, texts as given): what an answer that saw the hidden points could carry out."""
    out = []

    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        elif isinstance(x, float) and len(f"{x:.6g}".lstrip("-")) >= 4:  # "1" is in any page
            out.append(f"{x:.6g}")
        elif isinstance(x, str) and len(x) >= 3:
            out.append(x)

    walk(result.received)
    for row in result.rows:
        if isinstance(row.get("received"), str) and len(row["received"]) >= 3:
            out.append(row["received"])
    return out


def test_verdict_shows_none_of_the_students_values():
    from autodiff_course.checks import check_graph, check_variables

    graph = check_graph(S.decomposition_seed, {"v3": ["v0"], "v8": ["v6", "v7"]}, points=S.POINT_Y)
    strings = check_variables({"answer": "AddBackward0", "other": "SubBackward0"}, ["answer", "other"],
                              [{"check": "answer", "equals": "'MulBackward0'"},
                               {"check": "other", "equals": "'MulBackward0'"}])
    for full in (check_reverse(S.reverse_missing_path, S.Y, points=S.POINT_Y), graph, strings):
        values = _their_values(full)
        assert values and not full.passed
        culprit = _everything(revealed(full, "culprit"))
        assert any(v in culprit for v in values)  # the scan finds them where they are shown
        shown = _everything(revealed(full, "verdict"))
        assert [v for v in values if v in shown] == []
