"""CheckResult: the verdict of one check, as plain data that renders itself.

Everything in a result is JSON-safe (``to_dict``/``from_dict`` round-trip exactly), its words contain no
randomness (snapshot-testable), and it never holds a value the exercise does not mean to show: with
``show_expected`` false, ``expected`` is empty and rows carry no expected values.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from .numbers import DEFAULT_RTOL

STATUSES = ("ok", "failed", "error", "timeout", "unanswered")

#: How a result turns into words ("text") and a notebook table ("html"). The feedback layer, above this one,
#: registers both when imported (the package's ``__init__`` imports it), so results never import upward.
RENDERERS: dict[str, Callable[["CheckResult"], str]] = {}


def render(result: "CheckResult", form: str) -> str:
    """``result`` rendered by the feedback layer's ``form`` renderer ("text" or "html")."""
    renderer = RENDERERS.get(form)
    if renderer is None:
        raise RuntimeError(f"no {form} renderer registered: import autodiff_course.feedback first")
    return renderer(result)


@dataclass
class CheckResult:
    """One check's verdict.

    ``status``: ``"ok"`` (every part right), ``"failed"`` (a student's mistake, described in ``feedback``),
    ``"error"`` (their code raised, or the collected data was unusable), ``"timeout"``.
    ``culprit``: the student's variable that holds the first real mistake (later values that are wrong only
    because they inherit it are not culprits). ``rows``: one dict per graded part (``part, label, status, ok,
    received, expected?, message``). ``received``/``expected``: the compared values by the student's variable
    names at the point the diagnosis is about (``expected`` empty unless the exercise shows expected values).
    ``wrong``: names of the wrong values. ``point``: the inputs of that point, or None when they are hidden.
    ``graph``: the student's traced graph at the visible test point (``{"data", "labels"}``), drawn by the
    feedback. ``solution``: the corrected line of the culprit. ``reveal``: how much of this result a student may see
    (``checks.reveal.LEVELS``); a result straight from ``judge`` is complete ("solution"), ``revealed`` cuts
    it down to a level. ``fresh``: when the diagnosis is at a hidden point, the same mistake at a fresh point
    (no test point, never scored) with its numbers, ``{"point", "part", "received", "expected"}``; None
    otherwise. ``failed_at``: the indexes (into ``points.test_points``) of the test points where the answer
    is wrong or could not be judged, for the instructor's report; a student's view never carries them.
    """

    exercise: str
    kind: str
    status: str
    passed: bool
    score: float
    culprit: str | None = None
    feedback: str = ""
    mistakes: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    received: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)
    point: list[float] | None = None
    messages: list[str] = field(default_factory=list)
    rtol: float = DEFAULT_RTOL
    atol: float = 0.0
    show_expected: bool = True
    solution: str = ""
    reveal: str = "solution"
    graph: dict | None = None
    fresh: dict | None = None
    failed_at: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-safe plain data (non-finite numbers become the strings "nan", "inf", "-inf")."""
        return _json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> "CheckResult":
        """The result ``to_dict`` produced. Raises TypeError/KeyError for data of another shape."""
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        return cls(**kwargs)

    def __str__(self) -> str:
        return self.feedback

    def _repr_html_(self) -> str:
        return render(self, "html")


def _json_safe(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return _json_safe(x.tolist())
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return x
    try:
        f = float(x)
    except (TypeError, ValueError):
        return repr(x)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return f
