"""Typed records of one grading run, built in one place and sent or stored as plain dicts (`to_dict`).

`RunResult` is what the sandbox run of one notebook produced (the worker builds it; the pool builds the one of
a worker that died; the Dask client the one of a lost task): its dict form is the *run* documented in
`autodiff_course.grading.pool`. Everything in it except status, sandbox and seconds came from the sandbox.

`StoredResult` is one graded submission as the results store keeps it: `batch.make_result` builds it from
the submission, its run and its judged exercises (`course.judging.ExerciseEntry`); its dict form is the
stored JSON, and `from_dict` reads back what an earlier run stored, to reuse it or judge its run again.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields

from autodiff_course.course.judging import ExerciseEntry

__all__ = ["CELL_STATUSES", "RUN_STATUS_ORDER", "CellRun", "RunResult", "StoredResult"]

CELL_STATUSES = ("ok", "error", "timeout", "skipped", "crashed")
#: Run statuses from the most severe; "ok" when none applies.
RUN_STATUS_ORDER = ("killed", "crashed", "timeout", "memory", "output-limit")


@dataclass
class CellRun:
    """One code cell of a run: its status, error (nbformat error fields) and outputs (nbformat dicts)."""

    index: int
    status: str
    error: dict | None = None
    outputs: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"index": self.index, "status": self.status, "error": self.error, "outputs": self.outputs}


@dataclass
class RunResult:
    job_id: str | None
    status: str
    message: str
    sandbox: str | None
    seconds: float
    cells: list[CellRun] = field(default_factory=list)
    exercises: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"job_id": self.job_id, "status": self.status, "message": self.message, "sandbox": self.sandbox,
                "seconds": round(self.seconds, 3), "cells": [c.to_dict() for c in self.cells],
                "exercises": self.exercises}

    @classmethod
    def from_dict(cls, data) -> RunResult:
        """The run of a `to_dict` form (from the pool, a Dask worker or the results store); ``exercises`` stay
        the raw collected data, for judging to read as untrusted. Raises ValueError for anything else."""
        keys = {"job_id", "status", "message", "sandbox", "seconds", "cells", "exercises"}
        if not isinstance(data, dict) or set(data) != keys:
            raise ValueError(f"not a run: keys {sorted(data) if isinstance(data, dict) else type(data).__name__}")
        if not isinstance(data["cells"], list) or not isinstance(data["exercises"], dict):
            raise ValueError("not a run: cells must be a list and exercises a dict")
        try:
            cells = [CellRun(**cell) for cell in data["cells"]]
        except TypeError as exc:
            raise ValueError(f"not a run: a cell is malformed ({exc})") from None
        return cls(data["job_id"], data["status"], data["message"], data["sandbox"], data["seconds"], cells,
                   data["exercises"])

    @classmethod
    def failed(cls, job: dict | None, status: str, message: str, sandbox: str | None,
               seconds: float = 0.0) -> RunResult:
        """The run of a job whose grading process was lost: every code cell and exercise carries `message`
        (``timeout`` when the worker was killed for time, ``crashed`` otherwise)."""
        cell_status = "timeout" if status == "killed" else "crashed"
        cells, exercises = [], {}
        for c in (job or {}).get("cells", []):
            if c.get("cell_type", "code") != "code":
                continue
            cells.append(CellRun(c["index"], cell_status,
                                 {"ename": "WorkerDied", "evalue": message, "traceback": []}))
            if c.get("exercise"):
                exercises[c["exercise"]["id"]] = {"status": cell_status, "message": message}
        return cls((job or {}).get("job_id"), status, message, sandbox, seconds, cells, exercises)


@dataclass
class StoredResult:
    """One graded submission: who and what, the hand-in, how its run went, the judged exercises and their
    total (raw, before any late penalty: that is applied when results are published)."""

    student: str
    assignment: str
    notebook: str
    #: The file name of the notebook handed in (None: nothing was handed in).
    submitted: str | None
    handed_in: bool
    #: What the result was graded from (files and config): a result with the same one is reused.
    fingerprint: str
    problems: list[str]
    run_status: str | None
    run_message: str | None
    run_seconds: float | None
    tampered: dict[str, str]
    #: The hand-in time from nbgrader's timestamp.txt, ISO text (naive UTC), or None.
    timestamp: str | None
    submission_secret: str
    #: What the sandboxed run depends on (`batch.run_key`): a stored run with the same key is judged again.
    run_key: str | None
    #: The raw run (plain data from the sandbox), so changed points or tests are judged again from it.
    run: dict | None
    exercises: list[ExerciseEntry]
    score: float
    max_score: float
    #: Why there is no hand-in time (`course.late.timestamp_problem`: "no timestamp.txt", ...), else None.
    #: Results stored before it existed read back as None.
    timestamp_problem: str | None = None

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["exercises"] = [entry.to_dict() for entry in self.exercises]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> StoredResult:
        """The result of a stored dict (the store's ``format`` tag and the published copy's late fields are
        not part of it). Raises KeyError naming a field the dict lacks, TypeError for a malformed entry."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data or f.default is MISSING}
        if not isinstance(values["exercises"], list) or not all(isinstance(e, dict) for e in values["exercises"]):
            raise TypeError("stored exercises must be a list of dicts")
        values["exercises"] = [ExerciseEntry.from_dict(entry) for entry in values["exercises"]]
        return cls(**values)
