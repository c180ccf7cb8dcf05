"""Resource limits for grading one untrusted notebook.

`Limits` is a plain, frozen dataclass; its defaults suit teaching notebooks. The worker pool sends it to every
worker as a dict (`to_dict()` / `Limits.from_dict()`), so all fields are plain numbers.

How each limit is enforced (see `autodiff_course.grading.worker`):

- ``cell_wall_seconds``: a SIGALRM inside the child raises ``CellTimeout`` in the cell; the worker SIGKILLs
  the child ``kill_grace_seconds`` later if the cell still has not finished (C loops, signals ignored).
- ``cell_cpu_seconds``: a soft RLIMIT_CPU per code cell (SIGXCPU raises ``CellTimeout``); the hard RLIMIT_CPU
  is the notebook wall-clock limit, which the student cannot raise.
- ``notebook_wall_seconds``: the whole grading of one job, re-runs included; enforced by the worker (SIGKILL)
  and, with a margin, by the pool.
- ``exercise_wall_seconds``: hard kill of one test cell (``checks.collect`` enforces its own, smaller limit).
- ``memory_mb``: RLIMIT_AS above the warm worker's address space at fork time.
- ``max_processes``: RLIMIT_NPROC of the per-worker unprivileged uid (threads count too).
- ``output_bytes``: the text/data of all outputs of one notebook; beyond it outputs are dropped and the run's
  status is ``"output-limit"``.
- ``disk_mb``: RLIMIT_FSIZE (largest file) and, under bwrap, the size of the worker's private /tmp.
- ``exercise_bytes``: what the collector may send for all exercises of one notebook, in canonical JSON bytes
  (`autodiff_course.grading.wire`); an exercise beyond it is an ``error`` for that exercise.
- ``judge_seconds`` / ``judge_memory_mb``: the trusted side's budget for judging one notebook (in a judging
  process of its own, `autodiff_course.grading.judging`); beyond it the remaining exercises are ``timeout``
  (or ``error`` for memory) and the judging process is replaced.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    cell_wall_seconds: float = 30.0
    cell_cpu_seconds: float = 30.0
    notebook_wall_seconds: float = 120.0
    exercise_wall_seconds: float = 60.0
    memory_mb: int = 1024
    max_processes: int = 32
    output_bytes: int = 1_000_000
    disk_mb: int = 256
    kill_grace_seconds: float = 2.0
    exercise_bytes: int = 4_000_000
    judge_seconds: float = 60.0
    judge_memory_mb: int = 1024

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"Limits.{f.name} must be a positive number, got {value!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Limits:
        """Rebuild from `to_dict()` output; unknown keys raise ValueError naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown Limits field(s): {', '.join(unknown)}")
        return cls(**d)
