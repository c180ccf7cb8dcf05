"""Judging with a budget: each notebook's exercises are judged in a warm judging process of its own.

Judging is trusted code, but what it judges is not: an answer can be built so that checking it costs 2^N or
K^2 (a graph with shared subexpressions, a huge tensor). `BoundedJudge` runs `course.judging.judge_run` one
exercise at a time in a pre-warmed subprocess with an address-space limit (its footprint plus
``Limits.judge_memory_mb``) and gives one notebook ``Limits.judge_seconds`` in all: exercises judged within
it keep their verdicts, the rest are ``timeout``, and the process is killed and replaced. A process that dies
(memory, a crash) costs that notebook ``error`` rows for the exercises left, and is replaced. Honest results
are those of judging in-process: the same function, its plain-data result sent back as JSON.
"""
from __future__ import annotations

import os
import queue
import resource
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from autodiff_course.course.judging import ExerciseEntry, judge_run
from autodiff_course.grading import sandbox, wire
from autodiff_course.grading.limits import Limits

__all__ = ["BoundedJudge", "serve"]

_REPLY_BYTES = 64 << 20


class _JudgeProcess:
    def __init__(self, limits: Limits):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).resolve().parents[2]), *filter(None, [os.environ.get("PYTHONPATH")])]))
        argv = [sys.executable, "-c", "from autodiff_course.grading.judge_pool import serve; serve()",
                str(int(limits.judge_memory_mb))]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                     start_new_session=True)
        self.reader = wire.FrameReader(_REPLY_BYTES)
        ready = self.read(time.monotonic() + 120)
        if ready != {"ready": True}:
            self.kill()
            raise RuntimeError(f"the judging process did not start ({ready!r})")

    def read(self, deadline: float):
        fd = self.proc.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if not select.select([fd], [], [], left)[0]:
                continue
            data = os.read(fd, 1 << 20)
            if not data:
                raise EOFError("the judging process ended")
            frames = self.reader.feed(data)
            if frames:
                if len(frames) > 1 or self.reader.pending:
                    raise wire.ProtocolError("the judging process sent more than one reply")
                return frames[0]

    def request(self, obj: dict, deadline: float):
        self.proc.stdin.write(wire.encode_frame(obj))
        self.proc.stdin.flush()
        return self.read(deadline)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class BoundedJudge:
    """`processes` warm judging processes; `judge` is thread-safe and never raises for a notebook."""

    def __init__(self, processes: int, limits: Limits | None = None):
        self.limits = limits or Limits()
        self._idle: queue.Queue[_JudgeProcess | None] = queue.Queue()
        for _ in range(max(1, int(processes))):
            self._idle.put(None)  # started on first use, in the thread that needs it
        self._all: list[_JudgeProcess] = []

    def __enter__(self) -> BoundedJudge:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for p in self._all:
            if p.proc.poll() is None:
                p.kill()

    def _start(self) -> _JudgeProcess:
        p = _JudgeProcess(self.limits)
        self._all.append(p)
        return p

    def judge(self, specs: list[dict], run: dict, *, present) -> list[dict]:
        """`judge_run(specs, run, present=present)` within the notebook's judging budget."""
        present = sorted(present)
        p = self._idle.get()
        try:
            if p is None or p.proc.poll() is not None:
                p = self._start()
            deadline = time.monotonic() + float(self.limits.judge_seconds)
            entries = []
            for i, spec in enumerate(specs):
                try:
                    if i == 0:
                        p.request({"run": run, "present": present}, deadline)
                    entries.append(p.request({"spec": spec}, deadline)["entry"])
                    continue
                except TimeoutError:
                    status, why = "timeout", (f"judging this notebook took longer than its limit of "
                                              f"{self.limits.judge_seconds:g} s; stopped")
                except (OSError, EOFError, wire.ProtocolError, KeyError, TypeError) as exc:
                    what = "ran out of memory or crashed" if isinstance(exc, (EOFError, OSError)) else str(exc)
                    status, why = "error", (f"the judging process {what} (limit {self.limits.judge_memory_mb} "
                                            "MB)")
                entries += [_unjudged(s, status, f"judging exercise {s.get('id')!r} failed: {why}")
                            for s in specs[len(entries):]]
                p.kill()
                p = None
                break
            return entries
        finally:
            self._idle.put(p)


def _unjudged(spec: dict, status: str, message: str) -> dict:
    return ExerciseEntry.unjudged(spec, status, message).to_dict()


def serve() -> None:
    """The judging process: warm the checkers, cap the address space, answer frames on stdin until EOF."""
    memory_mb = int(sys.argv[1]) if len(sys.argv) > 1 else Limits().judge_memory_mb
    proto_in, proto_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)  # a print in a checker must not corrupt the replies
    import autodiff_course.checks  # noqa: F401 - warm: the first notebook is not charged the imports

    limit = sandbox.vm_size() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    reader = wire.FrameReader(1 << 30)
    wire.write_frame(proto_out, {"ready": True})
    run, present = {}, []
    while True:
        data = os.read(proto_in, 1 << 20)
        if not data:
            os._exit(0)
        for req in reader.feed(data):
            if "run" in req:
                run, present = req["run"], req["present"]
                wire.write_frame(proto_out, {"loaded": True})
            else:
                (entry,) = judge_run([req["spec"]], run, present=present)
                wire.write_frame(proto_out, {"entry": entry})
