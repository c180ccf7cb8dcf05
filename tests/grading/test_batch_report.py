"""The class report and feedback pages, from hand-written results: numbers, flags, determinism, no leaks."""
from __future__ import annotations

import re
from pathlib import Path

from autodiff_course.course.config import AssignmentConfig
from autodiff_course.grading.batch import csv_rows, format_points, points_awarded, summary_table
from autodiff_course.grading.report import class_statistics, render_feedback, render_report

CONFIG = AssignmentConfig(
    path=Path("graders/hw.toml"), assignment="hw", notebook="hw.ipynb", title="Homework",
    exercises=[{"id": "rev", "kind": "reverse", "points": 4, "hidden_points": [[0.3, -1.2]]},
               {"id": "fwd", "kind": "forward", "points": 2, "hidden_points": []}])
CONFIGS = {"hw": CONFIG}


def entry(ex_id, score, top, status, mistakes=(), message=""):
    check = {"mistakes": list(mistakes)} if mistakes else None
    return {"id": ex_id, "kind": "x", "max_score": top, "score": score, "status": status, "message": message,
            "check": check}


def result(student, entries, problems=(), handed_in=True):
    return {"student": student, "assignment": "hw", "notebook": "hw.ipynb", "handed_in": handed_in,
            "fingerprint": "f", "problems": list(problems), "tampered": {}, "exercises": entries,
            "score": sum(e["score"] for e in entries), "max_score": 6.0}


RESULTS = [
    result("amy", [entry("rev", 4.0, 4, "ok"), entry("fwd", 2.0, 2, "ok")]),
    result("bo", [entry("rev", 2.5, 4, "failed", ["missing-path", "sign"]), entry("fwd", 0.0, 2, "error")]),
    result("cal", [entry("rev", 1.0, 4, "failed", ["missing-path"]), entry("fwd", 2.0, 2, "tampered")]),
    result("dee", [entry("rev", 0.0, 4, "timeout"), entry("fwd", 0.0, 2, "missing")], handed_in=False),
]


def test_per_exercise_means_pass_rates_and_mistakes_are_over_submitted_work_only():
    stats = class_statistics(RESULTS, CONFIGS)["hw"]
    rev, fwd = stats["exercises"]["rev"], stats["exercises"]["fwd"]
    # dee handed nothing in: counted as missing, not as a zero in the means.
    assert rev["mean"] == round((4.0 + 2.5 + 1.0) / 3, 3)
    assert rev["pass_rate"] == 1 / 3
    assert rev["mistakes"] == [("missing-path", 2), ("sign", 1)]
    assert fwd["statuses"] == {"error": 1, "ok": 1, "tampered": 1}
    assert stats["totals"] == [("amy", 6.0), ("bo", 2.5), ("cal", 3.0)]
    assert stats["states"] == {"submitted": 3, "unanswered": 0, "missing": 1}


def test_item_statistics_difficulty_and_discrimination_by_hand():
    items = class_statistics(RESULTS, CONFIGS)["hw"]["items"]
    # difficulty: share of the points earned over the three submissions
    assert items["rev"]["difficulty"] == round((4.0 + 2.5 + 1.0) / (3 * 4), 3)
    assert items["fwd"]["difficulty"] == round((2.0 + 0.0 + 2.0) / (3 * 2), 3)
    # discrimination of rev: Pearson r of (4, 2.5, 1) with the rest (2, 0, 2): deviations (1.5, 0, -1.5) and
    # (2/3, -4/3, 2/3) have a zero cross product, so r = 0.
    assert items["rev"]["discrimination"] == 0.0
    # fwd (2, 0, 2) against rest (4, 2.5, 1): deviations (2/3, -4/3, 2/3), (1.5, 0, -1.5) -> also 0.
    assert items["fwd"]["discrimination"] == 0.0
    assert items["rev"]["mistakes"] == [("missing-path", 2), ("sign", 1)]


def test_item_discrimination_is_one_when_the_item_orders_students_like_the_rest():
    config = AssignmentConfig(path=Path("hw.toml"), assignment="hw", notebook="hw.ipynb", title="hw",
                              exercises=[{"id": "a", "kind": "x", "points": 2}, {"id": "b", "kind": "x",
                                                                                  "points": 2}])
    results = [result(s, [entry("a", x, 2, "ok"), entry("b", x, 2, "ok")]) for s, x in
               (("p", 0.0), ("q", 1.0), ("r", 2.0))]
    items = class_statistics(results, {"hw": config})["hw"]["items"]
    assert items["a"]["discrimination"] == 1.0 and items["a"]["difficulty"] == 0.5


def test_report_has_a_per_student_table_with_missing_apart_from_zero():
    page = render_report(RESULTS, CONFIGS)
    table = page.split('<table class="students">')[1].split("</table>")[0]
    assert "<tr><td>dee</td><td class=\"missing\">missing</td><td>0 / 6</td></tr>" in table
    assert "<tr><td>bo</td><td>2.5</td><td>2.5 / 6</td></tr>" in table
    assert "3 submissions graded, 0 handed in unanswered, 1 missing" in page


def test_report_is_deterministic_and_lists_the_flagged_submissions():
    first, second = render_report(RESULTS, CONFIGS), render_report(RESULTS, CONFIGS)
    assert first == second
    assert "<svg" in first and "<dc:date>" not in first
    flagged = first.split("Tampered, failed and unreadable submissions")[1]
    rows = re.findall(r"<tr><td>(\w+)</td><td>hw</td><td>([^<]*)</td>", flagged)
    assert rows == [("bo", "error"), ("cal", "tampered"), ("dee", "timeout")]
    assert "missing-path (2), sign (1)" in first
    assert "<td>33%</td>" in first  # 1 of the 3 submitted passed rev


def test_feedback_page_shows_scores_and_messages_but_no_config_secrets():
    bo = RESULTS[1]
    bo["exercises"][1]["message"] = "Your function raised NameError at line 3"
    page = render_feedback(bo, CONFIG)
    assert "2.5 / 6" in page and "Your function raised NameError at line 3" in page
    assert "0.3, -1.2" not in page and "hidden" not in page.lower()


def test_feedback_page_names_files_without_the_graders_paths():
    page = render_feedback(result("eve", [entry("rev", 0, 4, "missing"), entry("fwd", 0, 2, "missing")],
                                  problems=["/srv/course/submitted/eve/hw/hw.ipynb: invalid JSON at line 1"]),
                           CONFIG)
    assert "hw.ipynb: invalid JSON at line 1" in page and "/srv/course" not in page


def test_points_follow_the_notebooks_rounding_and_csv_spelling():
    assert points_awarded(2 / 3, 3) == 2.0
    assert points_awarded(1 / 3, 1) == 0.3333
    assert points_awarded(1.2, 2) == 2.0 and points_awarded(-0.5, 2) == 0.0
    assert points_awarded(float("nan"), 2) == 0.0
    assert [format_points(v) for v in (4.0, 2.5, 0.3333, 0.0, 123.4567)] == ["4", "2.5", "0.3333", "0",
                                                                             "123.4567"]


def test_csv_rows_and_summary_table_follow_config_order():
    rows = csv_rows(list(reversed(RESULTS)), CONFIGS)
    assert rows[:2] == [("amy", "hw", "hw.ipynb", "rev", "4", "4", "ok"),
                        ("amy", "hw", "hw.ipynb", "fwd", "2", "2", "ok")]
    table = summary_table(RESULTS, CONFIGS).splitlines()
    assert table[0].split() == ["student", "hw", "total"]
    assert table[3].split() == ["bo", "2.5/6", "2.5/6"]
    thirds = [dict(RESULTS[0], student="cy", score=11 / 3)]
    assert summary_table(thirds, CONFIGS).splitlines()[2].split() == ["cy", "3.67/6", "3.67/6"]


def judged_entry(show_expected: bool) -> dict:
    """A real check of a wrong decomposition, judged as the grader judges it (collect, then judge)."""
    import numpy as np

    from autodiff_course.checks import collect, judge

    def function(x0, x1, x2):
        v0 = x0
        v1 = x1
        v2 = x2
        v3 = np.sin(v0)
        v4 = v1 * v3
        return v4 + v1 / v2

    spec = {"id": "rev", "kind": "decomposition", "points": 4, "function": "function",
            "args": ["x0", "x1", "x2"], "reference": "np.sin(x0) + x1*np.cos(x0) + x1/x2",
            "test_points": [[1.8, 2.4, 0.7]], "hidden_points": [], "random_points": 0, "domain": [],
            "rtol": 1e-9, "atol": 0.0, "time_limit": 10, "show_expected": show_expected,
            "partial_credit": True, "assignment": "hw"}
    check = judge(spec, collect(spec, {"function": function, "np": np}))
    assert check.status == "failed"
    return entry("rev", points_awarded(check.score, 4), 4, check.status) | {"check": check.to_dict()}


def test_feedback_page_hides_expected_values_when_the_exercise_says_so():
    expected_value = "3.857134"  # sin(1.8) + 2.4 cos(1.8) + 2.4 / 0.7, the reference at the visible point
    shown = render_feedback(result("fay", [judged_entry(True), entry("fwd", 2, 2, "ok")]), CONFIG)
    hidden = render_feedback(result("fay", [judged_entry(False), entry("fwd", 2, 2, "ok")]), CONFIG)
    assert expected_value in shown
    assert expected_value not in hidden


def test_a_hand_in_of_the_untouched_stubs_is_unanswered_not_a_zero_of_the_class():
    from autodiff_course.grading.report import submission_state

    stub = result("eli", [entry("rev", 0.0, 4, "error", message="NotImplementedError raised in function_reverse"),
                          entry("fwd", 0.0, 2, "error", message="NotImplementedError raised in function_dx0")])
    stub["run"] = {"exercises": {"rev": {"status": "error"}, "fwd": {"status": "error"}}}
    tried = result("fay", [entry("rev", 0.0, 4, "failed"), entry("fwd", 0.0, 2, "error",
                                                                message="NotImplementedError")])
    tried["run"] = {"exercises": {"rev": {"status": "ok"}, "fwd": {"status": "error"}}}
    assert [submission_state(r) for r in (stub, tried, RESULTS[3], RESULTS[0])] == [
        "unanswered", "submitted", "missing", "submitted"]
    stats = class_statistics([*RESULTS, stub, tried], CONFIGS)["hw"]
    assert stats["states"] == {"submitted": 4, "unanswered": 1, "missing": 1}
    assert [s for s, _ in stats["totals"]] == ["amy", "bo", "cal", "fay"]


def _course_forward():
    """The course's forward exercise (4 hidden points: 2 given, 2 drawn) and its instructor's solution."""
    import sys

    import nbformat
    import numpy as np

    from autodiff_course.course.config import load_config

    repo = Path(__file__).resolve().parents[2]
    config = load_config(repo / "graders" / "autodiff_by_hand.toml")
    sys.path.insert(0, str(repo / "examples"))
    try:
        import make_examples
    finally:
        sys.path.pop(0)
    nb = nbformat.read(repo / "notebooks" / "autodiff_by_hand" / "autodiff_by_hand.ipynb", as_version=4)
    scope = {"np": np}
    exec(make_examples.solutions(nb)["forward"], scope)  # noqa: S102 - the instructor's solution
    return config, config.exercise("forward"), scope["function_dx0"]


def _wrong_where(solution, wrong: list[bool]):
    """The solution with its returned derivative off by one at the test points ``wrong`` marks (the function
    is run plain then traced at each point in turn; later calls, at the fresh points, are right)."""
    calls = []

    def function_dx0(x0, x1, x2):
        k = len(calls) // 2
        calls.append(k)
        y, d = solution(x0, x1, x2)
        return y, d + (1.0 if k < len(wrong) and wrong[k] else 0.0)

    return function_dx0


def test_only_the_instructors_report_lists_the_hidden_points_and_who_failed_at_each():
    from autodiff_course.checks import collect, judge
    from autodiff_course.checks.points import test_points
    from autodiff_course.checks.reveal import feedback_data
    from autodiff_course.notation import fmt

    config, spec, solution = _course_forward()
    points = test_points(spec, hidden=True)
    answers = {"right": [False] * len(points), "negative_x0": [p[0] < 0 for p in points],
               "hidden_only": [False] + [True] * (len(points) - 1),
               "first_hidden": [i == 1 for i in range(len(points))]}
    results = []
    for student, wrong in answers.items():
        check = judge(spec, collect(spec, {"function_dx0": _wrong_where(solution, wrong)}))
        assert check.passed == (not any(wrong))
        ex = {"id": "forward", "kind": "forward", "max_score": 3.0, "score": points_awarded(check.score, 3),
              "status": check.status, "message": check.feedback, "check": check.to_dict()}
        results.append({"student": student, "assignment": config.assignment, "notebook": config.notebook,
                        "handed_in": True, "problems": [], "tampered": {}, "exercises": [ex],
                        "score": ex["score"], "max_score": 3.0})
    page = render_report(results, {config.assignment: config})
    section = page.split("Hidden test points (instructor only")[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>forward</td><td>\(([^)]*)\)</td><td>(\w+)</td><td>(\d+) of (\d+)</td></tr>",
                      section)
    assert [r[0] for r in rows] == [", ".join(fmt(v) for v in p) for p in points[1:]]
    assert [r[1] for r in rows] == ["hidden", "hidden", "random", "random"]
    # Counted from the answers as written, not from the checker: who was made wrong at each hidden point.
    assert [(int(r[2]), int(r[3])) for r in rows] == [
        (sum(wrong[i] for wrong in answers.values()), len(answers)) for i in range(1, len(points))]
    # What students see of the same results carries none of it.
    for r in results:
        entry_ = r["exercises"][0]
        viewed = {**entry_, "check": feedback_data(entry_["check"], spec)}
        page = render_feedback({**r, "exercises": [viewed]}, config)
        assert "instructor only" not in page and viewed["check"]["failed_at"] == []
        assert all(", ".join(fmt(v) for v in p) not in page for p in points[1:])
