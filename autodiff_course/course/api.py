"""`grade()`: what an autograded test cell calls inside a notebook.

nbgrader 0.9.6 (`nbgrader/utils.py: determine_grade, get_partial_grade`) scores a test cell from its outputs,
in order:
- an `error` output, or any `stream` output named `stderr`, before the `execute_result` gives 0 points;
- the `execute_result`'s text/plain, if it parses as a float between 0 and the cell's points, is the score;
  above the points nbgrader raises ValueError (the whole notebook's autograding fails), and a negative
  number or non-number counts as FULL marks;
- no `execute_result` and no error also counts as full marks.
So `grade()` never raises for a student's mistake, never writes to stderr, and returns an object whose
text/plain form is the earned points clamped to [0, points].

A failed function exercise also offers, in its HTML, the compare stepper on the student's own graph
(widgets/compare.py, found through feedback.views): their names, their values beside the expected ones,
the culprit marked. It is built from what the check collected, at a visible point only, and a stepper that
cannot be built is left out silently: the feedback and the score never depend on it.
"""
from __future__ import annotations

import contextlib
import copy
import html
import io
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any

from ..checks.kinds import KINDS
from .config import DEFAULTS

__all__ = ["Grade", "grade"]


def _number(value: float) -> str:
    """A plain decimal nbgrader's float() parses, with no exponent ('3.5', '4', '0.125')."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


@dataclass
class Grade:
    """The outcome of one test cell: `repr()` is the earned points (nbgrader's partial credit), the HTML form
    the check's feedback. `result` is the checker's `CheckResult` (None if the checker itself failed)."""

    assignment: str
    exercise: str
    points: float
    earned: float
    result: Any = None
    internal_error: str | None = None
    stepper: Any = None

    def __repr__(self) -> str:
        return _number(self.earned)

    def __float__(self) -> float:
        return float(self.earned)

    def __str__(self) -> str:
        head = f"{self.exercise}: {_number(self.earned)} / {_number(self.points)} points"
        if self.internal_error is not None:
            return f"{head}\n{self.internal_error}"
        return f"{head}\n{self.result}" if self.result is not None else head

    def _repr_html_(self) -> str:
        head = (f"<p><strong>Exercise {html.escape(self.exercise)}</strong>: "
                f"{_number(self.earned)} / {_number(self.points)} points</p>")
        if self.internal_error is not None:
            return head + f"<pre>{html.escape(self.internal_error)}</pre>"
        body = self.result._repr_html_() if hasattr(self.result, "_repr_html_") else (
            f"<pre>{html.escape(str(self.result))}</pre>")
        if self.stepper is not None:
            # The view's self-contained HTML: it steps in JupyterLab, Notebook 7 and exported feedback alike,
            # and shows the static graph and its table where scripts do not run.
            body += self.stepper.to_html()
        return head + body


@contextlib.contextmanager
def _silenced_stderr():
    """Swallow everything headed for stderr: Python warnings, writes to sys.stderr and, where the process
    has one, writes to file descriptor 2 (ipykernel forwards fd 2 into the cell's stderr stream, and any
    stderr output makes nbgrader give the cell 0 points)."""
    saved_fd = None
    try:
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - a broken stderr is exactly what we are hiding
        pass
    try:
        saved_fd = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        saved_fd = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.redirect_stderr(io.StringIO()):
                yield
    finally:
        if saved_fd is not None:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)


#: Every key a test cell may give grade(): each kind's config keys and the spec keys the config derives.
SPEC_KEYS = frozenset().union(*(kind.keys for kind in KINDS.values()), DEFAULTS, ("point_secret",)) - {
    "id", "points", "reveal"}


def _build_spec(assignment: str, exercise_id: str, points: float, fields: dict) -> dict:
    # Copies, so the checker can never alter the defaults or the caller's literals.
    spec = copy.deepcopy(DEFAULTS)
    spec.update(copy.deepcopy(fields))
    spec.update(id=exercise_id, assignment=assignment, points=points)
    return spec


def grade(assignment: str, exercise_id: str, *, points: float, namespace: dict | None = None,
          **spec_fields: Any) -> Grade:
    """Check exercise `exercise_id` of `assignment` against the student's code and return the points earned.

    `spec_fields` are the keys of the exercise's `[[exercise]]` table (docs/interfaces.md); left-out keys
    take the config defaults. The student's objects are looked up by name in `namespace` (test cells pass
    `globals()`); a callable given as `function=` is used directly. Runs the checker's `collect` then
    `judge` in this process. Never raises for student errors and never writes to stderr; if the checker
    itself fails, the cell earns 0 and the feedback says so.
    """
    unknown = sorted(set(spec_fields) - SPEC_KEYS)
    if unknown:
        # A test cell is rendered from a checked config; a key it does not know was typed by hand, and its
        # meaning (hidden points, a hidden expectation) would be lost without a word.
        return Grade(assignment, exercise_id, float(points), 0.0, None, internal_error=(
            f"The test cell of exercise {exercise_id!r} gives grade() the unknown key(s) {', '.join(unknown)}. "
            "This is not your mistake: please tell your instructor."))
    namespace = dict(namespace or {})
    function = spec_fields.get("function")
    if callable(function):
        name = getattr(function, "__name__", "")
        name = name if name.isidentifier() else "function"
        namespace[name] = function
        spec_fields = {**spec_fields, "function": name}
    points = float(points)
    spec = _build_spec(assignment, exercise_id, points, spec_fields)
    try:
        with _silenced_stderr():
            from autodiff_course.checks import collect
            from autodiff_course.checks.reveal import notebook_view

            from .judging import judge_exercise

            raw = collect(spec, namespace)
            result, earned = judge_exercise(spec, raw)
            result = notebook_view(result, spec)
    except Exception as exc:  # noqa: BLE001 - a checker bug must not become a traceback in the student's cell
        from autodiff_course.checks.privacy import for_students

        message = for_students(f"The checker itself failed on exercise {exercise_id!r} ({type(exc).__name__}: "
                               f"{exc}). This is not your mistake: please tell your instructor.")
        return Grade(assignment, exercise_id, points, 0.0, None, internal_error=message)
    return Grade(assignment, exercise_id, points, earned, result, stepper=_compare_stepper(result, raw, spec))


def _compare_stepper(result: Any, raw: dict, spec: dict) -> Any:
    """The view the failed check offers (the widgets register the compare stepper), or None."""
    try:
        with _silenced_stderr():
            from ..feedback.views import check_view

            return check_view(result, raw, spec)
    except Exception:  # noqa: BLE001 - an extra view; its failure must not cost the student anything
        return None
