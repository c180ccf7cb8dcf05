"""The student's graph in the feedback: a static SVG, no script, the culprit and the wrong values marked, their
value beside the right one at the visible point only, the same bytes on every run."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from autodiff_course.checks import check_reverse, collect, judge
from autodiff_course.checks.reveal import student_view
from autodiff_course.course.config import load_config

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "checks"))
import answers_by_hand as S  # noqa: E402
from pasted_answers import _examples_module, pasted, source_notebook  # noqa: E402


def _node(svg: str, name: str) -> str:
    return re.search(rf'<g class="([^"]*)" data-node="\d+" data-name="{name}".*?</g>', svg, re.S).group(0)


def test_the_graph_marks_the_culprit_and_the_wrong_values_with_the_numbers_beside():
    html = check_reverse(S.reverse_inherited, S.Y, points=S.POINT_Y)._repr_html_()
    svg = html[html.index("<svg"):html.index("</svg>") + 6]
    assert "<script" not in html and "onclick" not in html and "javascript:" not in html
    assert "adc-mark-culprit" in _node(svg, "v4") and "culprit</text>" in _node(svg, "v4")
    assert "adc-mark-wrong" in _node(svg, "v0")
    assert "vbar4: yours -2.4, right 2.4" in _node(svg, "v4")
    assert "vbar0: yours 2.11, right -2.564" in _node(svg, "v0")
    assert "adc-mark" not in _node(svg, "v5")  # right values stay plain
    assert "at the visible test point" in html


def test_the_figure_is_the_same_on_every_run():
    first = check_reverse(S.reverse_inherited, S.Y, points=S.POINT_Y)._repr_html_()
    assert first == check_reverse(S.reverse_inherited, S.Y, points=S.POINT_Y)._repr_html_()


def test_without_show_expected_the_note_gives_only_the_students_value():
    html = check_reverse(S.reverse_inherited, S.Y, points=S.POINT_Y, show_expected=False)._repr_html_()
    assert "vbar4: yours -2.4<" in html and "right 2.4" not in html


def test_a_mistake_seen_only_at_hidden_points_is_marked_without_numbers():
    config = load_config(REPO / "graders" / "autodiff_by_hand.toml")
    spec = config.exercise("reverse")
    scope = {"np": np}
    answer = pasted(spec, _examples_module().solutions(source_notebook())["reverse"], "derivatives")
    exec(compile(answer, "<answer cell>", "exec"), scope)  # noqa: S102
    result = judge(spec, collect(spec, scope))
    html = result._repr_html_()
    assert result.point is None and "<svg" in html and "adc-mark-culprit" in html
    assert "yours" not in html[html.index("<svg"):] and "Your computation at the visible" not in html


def test_passing_and_verdict_level_results_draw_no_graph():
    assert "<svg" not in check_reverse(S.reverse_seed_fixed, S.Y, points=S.POINT_Y)._repr_html_()
    full = check_reverse(S.reverse_inherited, S.Y, points=S.POINT_Y, notebook_reveal="solution")
    assert "<svg" not in student_view(full, "verdict")._repr_html_()
    assert "<svg" in student_view(full, "culprit")._repr_html_()
