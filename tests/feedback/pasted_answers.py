"""Answers that paste numbers instead of computing them, built from the instructor's solutions, and a scan
for numbers a student must never see.

Each pasted answer is right at the visible test point (its numbers are the solution's there) and wrong at
the hidden ones, the case where hidden tests used to leak: the feedback spelled out the hidden point and the
reference's values there.
"""
from __future__ import annotations

import html
import json
import math
import re
import sys
from pathlib import Path

import nbformat

from autodiff_course.checks.expected import expected_at
from autodiff_course.checks.points import test_points, visible_count

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "autodiff_by_hand"
EXAMPLES = REPO / "examples" / "submitted"


def _examples_module():
    sys.path.insert(0, str(REPO / "examples"))
    try:
        import make_examples
    finally:
        sys.path.pop(0)
    return make_examples


def source_notebook():
    return nbformat.read(REPO / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


def hidden_exercises(config) -> list[dict]:
    """The function exercises of ``config`` that have hidden points (hidden or random)."""
    return [s for s in config.exercises if len(test_points(s, hidden=True)) > visible_count(s)]


def _solution_function(text: str, name: str):
    import numpy as np

    scope = {"np": np}
    exec(compile(text, f"<solution of {name}>", "exec"), scope)  # noqa: S102 - the instructor's solution
    return scope[name]


_ASSIGN = re.compile(r"^(\s*)(\w+) = .*$", re.M)


def pasted(spec: dict, solution: str, style: str) -> str:
    """The answer cell of ``spec`` with numbers pasted in ``style``:

    - ``derivatives``: the forward pass computed, every derivative the solution returns pasted as its value
      at the visible point;
    - ``inputs``: the inputs after the first pasted as their visible values (``v1 = 2.4``);
    - ``all``: the function returns the solution's numbers at the visible point and computes nothing.
    """
    fn = _solution_function(solution, spec["function"])
    visible = spec["test_points"][0]
    out = fn(*visible)
    values = [float(v) for v in (out if isinstance(out, tuple) else (out,))]
    args = spec["args"]
    if style == "all":
        body = ", ".join(repr(v) for v in values)
        return f"def {spec['function']}({', '.join(args)}):\n    return {body}\n"
    if style == "inputs":
        text = solution
        for arg, value in list(zip(args, visible, strict=True))[1:]:
            text = re.sub(rf"^(\s*)(\w+) = {arg}$", rf"\g<1>\g<2> = {value!r}", text, flags=re.M)
        return text
    returned = re.search(r"return (.+)$", solution, re.M).group(1).split(", ")
    by_name = dict(zip(returned, values, strict=True))
    if spec["kind"] == "forward":
        return solution.replace(f"return {', '.join(returned)}",
                                f"return {returned[0]}, {values[1]!r}")
    if spec["kind"] == "reverse":
        def paste(m):
            name = m.group(2)
            return f"{m.group(1)}{name} = {by_name[name]!r}" if name in by_name and name != returned[0] else m.group(0)
        return _ASSIGN.sub(paste, solution)
    return pasted(spec, solution, "inputs")


STYLES = ("derivatives", "inputs", "all")


def pasted_notebook(config, style: str):
    """ada's notebook with every exercise that has hidden points answered in ``style``."""
    make = _examples_module()
    answers = make.solutions(source_notebook())
    nb = nbformat.read(EXAMPLES / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    specs = {s["id"]: s for s in hidden_exercises(config)}
    for cell in nb.cells:
        exercise = make._answer_id(cell)
        if exercise in specs:
            cell.source = pasted(specs[exercise], answers[exercise], style)
    return nb


def forbidden_values(config) -> list[float]:
    """Every hidden point's inputs and the reference's values there: y, dy/dx of every input, and every value
    the instructor's solution returns there (tangents and adjoints)."""
    answers = _examples_module().solutions(source_notebook())
    values: list[float] = []
    for spec in hidden_exercises(config):
        fn = _solution_function(answers[spec["id"]], spec["function"])
        for point in test_points(spec, hidden=True)[visible_count(spec):]:
            values += point
            exp = expected_at(spec, point)
            values.append(exp.y)
            values += list(exp.grad or ())
            out = fn(*point)
            values += [float(v) for v in (out if isinstance(out, tuple) else (out,))]
    return values


def allowed_values(config, extra=()) -> list[float]:
    """Numbers a student may see: the visible points, the solution's values there, small whole numbers and
    the ``extra`` ones (scores and points)."""
    answers = _examples_module().solutions(source_notebook())
    values = [float(i) for i in range(-20, 21)] + [float(v) for v in extra]
    for spec in config.exercises:
        for point in spec.get("test_points") or []:
            values += point
        if spec in hidden_exercises(config):
            exp = expected_at(spec, spec["test_points"][0])
            values += [exp.y, *(exp.grad or ())]
            out = _solution_function(answers[spec["id"]], spec["function"])(*spec["test_points"][0])
            values += [float(v) for v in (out if isinstance(out, tuple) else (out,))]
    return values


def asset_numbers() -> list[float]:
    """The numbers in the stepper's own CSS and script (an opacity of 0.5, a speed of 0.5x), which the
    in-notebook check embeds with the compare stepper: constants of the page, not data."""
    widgets = REPO / "autodiff_course" / "widgets"
    text = "".join(path.read_text() for path in sorted(widgets.glob("*.css")) + sorted(widgets.glob("*.js")))
    return [float(t) for t in _NUMBER.findall(text)]


_NUMBER = re.compile(r"(?<![\w.])-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")


def _digits(token: str) -> int:
    mantissa = re.split(r"[eE]", token.lstrip("-"))[0].replace(".", "").lstrip("0").rstrip("0")
    return max(len(mantissa), 1)


def _shown(value: float) -> int:
    """The significant digits a value has (0.3 has 1, 1.309960737... has 6: the most a scan compares)."""
    return min(_digits(repr(float(value))), 6)


def _same(token: str, value: float, digits: int) -> bool:
    return math.isfinite(value) and f"{float(token):.{digits}g}" == f"{value:.{digits}g}"


def leaks(text: str, forbidden: list[float], allowed: list[float]) -> list[tuple[str, float]]:
    """(token, hidden value) for every number in ``text`` that shows a forbidden value to its significant
    digits (at most 6: 0.3 as 0.3, 1.30996073 as 1.30996) and is not one a student may see anyway."""
    found = []
    for token in _NUMBER.findall(html.unescape(text)):
        shown = _digits(token)
        digits = min(shown, 6)
        for h in forbidden:
            if shown < _shown(h) or not _same(token, h, digits):
                continue
            if not any(_same(token, a, digits) for a in allowed):
                found.append((token, h))
    return found


def texts_of_notebook(path: Path) -> str:
    """A graded notebook's whole JSON: sources, outputs and metadata alike."""
    return json.dumps(json.loads(path.read_text()))
