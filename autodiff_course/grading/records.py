"""Typed records of one grading run, built in one place and sent as plain dicts (`to_dict`).

`RunResult` is what the sandbox run of one notebook produced (the worker builds it; the pool builds the one of
a worker that died; the Dask client the one of a lost task): its dict form is the *run* documented in
`autodiff_course.grading.pool`. Everything in it except status, sandbox and seconds came from the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CELL_STATUSES", "RUN_STATUS_ORDER", "CellRun", "RunResult"]

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
