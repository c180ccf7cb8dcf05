"""Judging: from what a notebook's run collected to points, the one place every grader goes through.

The notebook-side `grade()` (`autodiff_course.course.api`), the batch grader and the Dask tasks
(`autodiff_course.grading`) all score an exercise with `judge_exercise` and round points with
`points_awarded`, so a test cell run by `nbgrader autograde` and the batch grader agree on every cell.
`judge_run` applies it to every exercise of one sandbox run. Everything here is trusted and pure: it reads
plain JSON data, never a student's object.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Iterable

__all__ = ["EXERCISE_STATUSES", "ExerciseEntry", "judge_exercise", "judge_run", "points_awarded"]

#: Every status an exercise row of grades.csv can carry.
EXERCISE_STATUSES = ("ok", "failed", "error", "timeout", "unanswered", "tampered", "missing")


def points_awarded(score: float, points: float) -> float:
    """Points for a check that earned `score` (0..1) of an exercise worth `points`.

    Clamped to [0, 1], NaN counted as 0 and rounded to 4 decimals, the same in the notebook's `grade()` and
    the batch grader."""
    score = float(score)
    if score != score:
        score = 0.0
    return round(min(max(score, 0.0), 1.0) * float(points), 4)


@dataclass
class ExerciseEntry:
    """One judged exercise: the row of grades.csv and what feedback shows (`check` is the CheckResult's
    dict when a check was judged)."""

    id: str
    kind: str
    max_score: float
    score: float = 0.0
    status: str = "missing"
    message: str = ""
    check: dict | None = None
    #: What went wrong in the grader itself (for the instructor; the student's message says it is not theirs).
    internal: str | None = None
    #: How the student changed this exercise's test cell (the batch grader's restore step), if they did.
    tampered: str | None = None

    def to_dict(self) -> dict:
        """Plain JSON data, as the judging processes send it and the results store keeps it (the optional
        fields only where set)."""
        out = asdict(self)
        for optional in ("internal", "tampered"):
            if out[optional] is None:
                del out[optional]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> ExerciseEntry:
        """The entry of a `to_dict` form. Raises TypeError for a key it does not know or a required one it
        lacks."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TypeError(f"exercise entry with unknown fields {unknown}")
        return cls(**data)

    @classmethod
    def unjudged(cls, spec: dict, status: str, message: str) -> ExerciseEntry:
        return cls(str(spec.get("id")), str(spec.get("kind", "")), float(spec.get("points", 0)), 0.0, status,
                   message)


def judge_exercise(spec: dict, raw: dict):
    """The CheckResult of `raw` (what collect returned for `spec`) and the points it earns: (result, points).

    Raises whatever the checker raises; callers turn that into an error for this exercise."""
    from autodiff_course.checks import judge

    result = judge(spec, raw)
    return result, points_awarded(result.score, spec["points"])


def judge_run(specs: list[dict], run: dict, *, present: Iterable[str]) -> list[dict]:
    """Score every exercise of `specs` from the sandbox's raw `run`, as plain data (`ExerciseEntry` dicts).

    Statuses: the check's own (ok/failed/error/timeout), `error` for a crashed run, `missing` when the
    exercise's cell is not in the notebook.
    """
    from autodiff_course.checks.reveal import feedback_view
    from autodiff_course.notation import note

    present = set(present)
    raw_by_id = run.get("exercises") or {}
    judged = []
    for spec in specs:
        entry = ExerciseEntry.unjudged(spec, "missing", "")
        raw = raw_by_id.get(spec["id"])
        if spec["id"] not in present:
            entry.message = f"the test cell {spec['id']!r} is not in the notebook"
        elif raw is None:
            entry.status = "timeout" if run.get("status") == "timeout" else "error"
            entry.message = run.get("message") or f"the run ended before exercise {spec['id']!r} was checked"
        elif raw.get("status") in ("error", "timeout", "crashed") and set(raw) <= {"status", "message"}:
            entry.status = "timeout" if raw["status"] == "timeout" else "error"
            entry.message = raw.get("message") or raw["status"]
        else:
            try:
                result, points = judge_exercise(spec, raw)
            except Exception as exc:  # noqa: BLE001 - a judge failure must not lose the whole batch
                # The grader's fault: the student reads that it is not theirs, the instructor the detail.
                entry.status = "error"
                entry.message = note("checker-fault")
                entry.internal = f"could not judge exercise {spec['id']!r}: {type(exc).__name__}: {exc}"
            else:
                entry.status = result.status if result.status in EXERCISE_STATUSES else "error"
                entry.score = points
                # The stored check is complete (the instructor's); the message is what the student is shown.
                entry.check = result.to_dict()
                entry.message = feedback_view(result, spec).feedback
        judged.append(entry.to_dict())
    return judged
