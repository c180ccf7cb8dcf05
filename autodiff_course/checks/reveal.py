"""How much of a verdict a student sees: the reveal policy.

A result straight from ``judge`` is complete. Before a student sees it, it is cut down to one of four levels,
set per assignment and per exercise in the grader config, separately for the in-notebook check
(``notebook_reveal``) and the graded feedback (``feedback_reveal``):

- ``verdict``: right or wrong, and the score;
- ``culprit``: also which value to fix first, and which parts are right;
- ``hint``: also the mistake and the rule in words ("v0 is used by v3 and v4; your vbar0 only has the path
  through v3");
- ``solution``: also the corrected line ("vbar0 = vbar3 * cos(v0) + vbar4 * (-sin(v0))").

The in-notebook check may climb a hint ladder: with ``reveal_ladder = N`` every N unsuccessful runs of a cell
show one level more, up to ``ladder_top``. Off (0) by default. Errors, time-outs and unanswered stubs are
described at every level: they are about running the code, not about the answer.
"""

from __future__ import annotations

import copy

from ..notation import LEVEL_WORDS, note
from .result import CheckResult, render

LEVELS = ("verdict", "culprit", "hint", "solution")
DEFAULT_LEVEL = "hint"
#: Spec keys of the policy (their defaults are in ``checks.spec.DEFAULTS``).
POLICY_KEYS = ("notebook_reveal", "feedback_reveal", "reveal_ladder", "ladder_top")

_ROW_KEYS = {
    "verdict": set(),
    # "share" (what the part earned) keeps the headline's count the score's; it says nothing of the mistake.
    "culprit": {"part", "label", "name", "status", "ok", "received", "share"},
}


def check_level(level: object, where: str = "reveal level") -> str:
    """``level`` if it is one of ``LEVELS``; ValueError naming ``where`` and the levels otherwise."""
    if level not in LEVELS:
        raise ValueError(f"{where} must be one of {', '.join(LEVELS)}, not {level!r}")
    return level  # type: ignore[return-value]


def revealed(result: CheckResult, level: str) -> CheckResult:
    """A copy of ``result`` holding only what ``level`` shows, its ``feedback`` rendered again. A result
    already cut to a lower level stays there (nothing cut away comes back)."""
    check_level(level)
    if LEVELS.index(level) >= LEVELS.index(result.reveal):
        return result
    out = copy.deepcopy(result)
    out.reveal = level
    out.solution = ""
    out.rows = [{k: v for k, v in r.items() if k != "solution"} for r in out.rows]
    if out.status == "failed" and level in _ROW_KEYS:
        summary = [m for m in out.messages if m.startswith("Right at ")]
        if level == "culprit" and out.culprit:
            out.messages = summary + [note("culprit-only", culprit=out.culprit)]
        else:
            out.messages = summary + [note("verdict-only")]
            out.culprit = None
            out.wrong = []
            out.point = None
            out.received = {}
            out.graph = None
        out.fresh = None
        keep = _ROW_KEYS[level]
        out.rows = [{k: v for k, v in r.items() if k in keep} for r in out.rows if keep]
        out.expected = {}
        out.show_expected = False
        out.mistakes = []
    out.feedback = render(out, "text")
    return out


def with_solution(result: CheckResult) -> CheckResult:
    """``result`` at the ``solution`` level with the corrected line among its words."""
    if not result.solution or any(m.startswith("The corrected line:") for m in result.messages):
        return result
    out = copy.deepcopy(result)
    out.messages.append(f"The corrected line: {result.solution}")
    out.feedback = render(out, "text")
    return out


def student_view(result: CheckResult, level: str) -> CheckResult:
    """What a student sees of ``result`` at ``level``: cut down, or at ``solution`` with the corrected line
    written out; never which test points it failed at (that is the instructor's report's)."""
    view = with_solution(result) if level == "solution" else revealed(result, level)
    if view.failed_at:
        view = copy.deepcopy(view) if view is result else view
        view.failed_at = []
    return view


def feedback_view(result: CheckResult, spec: dict) -> CheckResult:
    """The graded feedback's view of ``result`` under ``spec``'s policy."""
    return student_view(result, spec.get("feedback_reveal", DEFAULT_LEVEL))


def feedback_data(check: dict | None, spec: dict) -> dict | None:
    """A stored result (``CheckResult.to_dict()``, complete) as the graded feedback shows it, as data again;
    None stays None."""
    return None if check is None else feedback_view(CheckResult.from_dict(check), spec).to_dict()


#: Unsuccessful runs of each in-notebook check so far, by (assignment, exercise): the hint ladder's memory.
#: It lives in the kernel, so restarting the kernel starts the ladder again.
_FAILED_RUNS: dict[tuple[str, str], int] = {}


def notebook_view(result: CheckResult, spec: dict) -> CheckResult:
    """The in-notebook check's view of ``result`` under ``spec``'s policy, counting this run on the ladder."""
    base = spec.get("notebook_reveal", DEFAULT_LEVEL)
    step = int(spec.get("reveal_ladder") or 0)
    if step <= 0 or result.status != "failed":
        return student_view(result, base)
    key = (str(spec.get("assignment")), str(spec.get("id")))
    _FAILED_RUNS[key] = failures = _FAILED_RUNS.get(key, 0) + 1
    top = max(LEVELS.index(spec.get("ladder_top", "solution")), LEVELS.index(base))
    now = min(LEVELS.index(base) + failures // step, top)
    view = student_view(result, LEVELS[now])
    if now < top:
        more = step - failures % step
        view = copy.deepcopy(view)
        view.messages.append(note("ladder", runs=more, s="s" if more != 1 else "",
                                  more=LEVEL_WORDS[LEVELS[now + 1]]))
        view.feedback = render(view, "text")
    return view
