"""The long-lived, pre-warmed grading worker (one per pool slot) and how it grades one job.

Started by `autodiff_course.grading.pool.WorkerPool` (inside bwrap when available) as
``python -c "from autodiff_course.grading.worker import main; main()" --uid U --gid G --sandbox MODE ...``;
its folder options (``--python-path``, ``--hide``) come as JSON in ``WORKER_PATHS_ENV``, not on the command line.
It imports numpy, torch, matplotlib (Agg), IPython and ``autodiff_course`` once, creates a warm IPython shell,
then loops: read one job frame on stdin, grade it, write one result frame on stdout (frames: 4-byte big-endian
length + JSON, see `autodiff_course.grading.harness`). The first frame it writes is
``{"ready": true, "warnings": [...], "footprint_mb": float}``.

Grading one job (`grade`):

1. Fork a fresh child from the clean template (`_Template`: a process forked from the warm state before the
   first job, which never holds a job or a result) and send it its job on a pipe. The worker makes a private
   dir (only the job's ``files``); the child chdirs there, sets rlimits (RLIMIT_AS = its footprint +
   ``memory_mb``, RLIMIT_CPU, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_CORE=0), gets its own SysV IPC namespace
   where it can, sets no-new-privs and a seccomp filter against user namespaces, drops to the slot's
   unprivileged uid/gid, redirects fds 0/1/2 (stdin from /dev/null, stdout/stderr into pipes the worker reads
   within the output budget), closes every other fd, and runs the cells (`harness.run_job`), streaming events.
   The worker accepts those only in sequence and in the documented shapes, within byte budgets counted as it
   reads (`_Reader`, `autodiff_course.grading.wire`).
2. The worker enforces the per-cell and per-notebook wall clock by SIGKILL, and remembers which cell was
   running. When the child dies or is killed inside a cell, the cell is recorded as the cause (``crashed`` or
   ``timeout``) and the notebook is re-run in a fresh child with that cell (and earlier culprits) skipped, so
   the other exercises are still graded; all attempts share the notebook's wall-clock budget.
3. After every attempt every process of the slot uid is killed (daemons, fork bombs), orphans are reaped
   (the worker is a child subreaper) and the private dir is removed.

The result is a `records.RunResult`, sent as the run dict documented in `autodiff_course.grading.pool`.
"""

from __future__ import annotations

import argparse
import base64
import faulthandler
import fcntl
import importlib
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import PurePosixPath

from autodiff_course.checks.collect import join_hidden, needs_hidden, split_spec
from autodiff_course.checks.provenance import MAX_CELL_CHARS, MAX_CELLS, records_history
from autodiff_course.grading import harness, sandbox, wire
from autodiff_course.grading.limits import Limits
from autodiff_course.grading.records import RUN_STATUS_ORDER, CellRun, RunResult

__all__ = ["main", "Worker", "safe_relative_path", "WORKER_PATHS_ENV"]

#: The worker's folder options (``--python-path``, ``--hide``), JSON, in its environment rather than its argv.
WORKER_PATHS_ENV = "AUTODIFF_COURSE_WORKER_PATHS"

_MEMORY_HINTS = ("can't allocate memory", "Unable to allocate", "out of memory", "std::bad_alloc")


def safe_relative_path(name: str) -> str:
    """`name` if it is a plain relative path inside the private dir; ValueError naming it otherwise."""
    p = PurePosixPath(name)
    if not name or not p.parts or p.is_absolute() or ".." in p.parts or "\x00" in name:
        raise ValueError(f"job file name {name!r} must be a relative path without '..'")
    return str(p)


def _describe_exit(status: int) -> tuple[str, str]:
    """(cell status, text) for a child wait status."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU:
            return "timeout", "it used up its CPU time limit (SIGXCPU)"
        if sig == signal.SIGSEGV:
            return "crashed", "it crashed with a segmentation fault (SIGSEGV)"
        if sig == signal.SIGKILL:
            return "crashed", "it was killed (SIGKILL: CPU hard limit, out of memory or killed from inside)"
        return "crashed", f"it was killed by signal {name}"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return "crashed", f"its process exited with code {code} (e.g. os._exit())"


class _FdBudget:
    def __init__(self, total: int):
        self.left = total
        self.limited = False

    def take(self, data: bytes) -> bytes:
        keep = data[: max(0, self.left)]
        self.left -= len(keep)
        if len(keep) < len(data):
            self.limited = True
        return keep


class _FdStream:
    """One of the child's fds 1/2: bytes split into per-cell segments at `harness.CELL_END` marks.

    Memory stays bounded by the budget whatever the child writes; text after the last mark (a cell that never
    ended) is `outputs_of(None)`.
    """

    def __init__(self, name: str, budget: _FdBudget, cells=None):
        self.name, self.budget = name, budget
        self.cells = None if cells is None else set(cells)
        self.pending = bytearray()
        self.segments: dict[int, bytearray] = {}

    def feed(self, data: bytes) -> None:
        self.pending += data
        pos = 0
        while True:
            m = harness.CELL_END.search(self.pending, pos)
            if m is None:
                break
            index = int(m.group(1))
            if self.cells is not None and index not in self.cells:
                # A mark the student wrote for a cell the job does not have: dropped, so the number of
                # segments stays bounded by the job's cells.
                del self.pending[m.start():m.end()]
                pos = m.start()
                continue
            self.segments.setdefault(index, bytearray()).extend(self.budget.take(bytes(self.pending[: m.start()])))
            del self.pending[: m.end()]
            pos = 0
        tail = 64  # long enough to hold the start of a mark split across reads
        if len(self.pending) > max(0, self.budget.left) + tail + 4096:
            self.pending = self.pending[: max(0, self.budget.left)] + self.pending[-tail:]
            self.budget.limited = True

    def outputs_of(self, index: int | None) -> list[dict]:
        if index is None:
            data, self.pending = self.budget.take(bytes(self.pending)), bytearray()
        else:
            data = bytes(self.segments.pop(index, b""))
        if not data:
            return []
        return [{"output_type": "stream", "name": self.name, "text": data.decode("utf-8", "replace")}]


class _OutputBudget:
    """The trusted side's count of a notebook's outputs, in canonical bytes (`wire.canonical_size`).

    Whatever the child claims it charged, the worker keeps no more than `limits.output_bytes` of outputs
    per attempt; error outputs are bounded by `wire.clean_error`'s caps instead, so an honest traceback is
    never dropped for space."""

    def __init__(self, total: int):
        self.left = total
        self.limited = False

    def keep(self, outputs: list[dict]) -> list[dict]:
        kept = []
        for out in outputs:
            size = 0 if out["output_type"] == "error" else wire.canonical_size(out)
            if size > self.left:
                self.limited = True
                continue
            self.left -= size
            kept.append(out)
        return kept

    def keep_text(self, name: str, text: str) -> list[dict]:
        """fd-level text as one stream output, cut to what is left of the budget."""
        if not text:
            return []
        if wire.canonical_size(text) > self.left:
            self.limited = True
            # Canonical size is at most 12 bytes per character (an escaped surrogate pair): cut, then refine.
            text = text[: max(0, self.left // 12)]
            while text and wire.canonical_size(text) > self.left:
                text = text[: len(text) // 2]
        self.left -= wire.canonical_size(text)
        return [{"output_type": "stream", "name": name, "text": text}] if text else []


def _clip_error(err: dict | None) -> dict | None:
    if err is None:
        return None
    return {"ename": err["ename"][:harness.ENAME_CHARS], "evalue": err["evalue"][:harness.EVALUE_CHARS],
            "traceback": harness.short_traceback(err["traceback"])}


class _Attempt:
    """What one child process reported (validated) and how it ended."""

    def __init__(self):
        self.cells: dict[int, CellRun] = {}
        self.exercises: dict[str, dict] = {}
        self.failure: dict | None = None
        self.notebook_timeout = False
        self.harness_failure: str | None = None
        self.output_limited = False
        #: Test cell index -> exercise id, for exercises whose hidden part is still to be collected.
        self.hidden_pending: dict[int, str] = {}
        #: Test cell index -> (status, message) of a hidden part that could not be collected.
        self.hidden_failures: dict[int, tuple[str, str]] = {}


class _Template:
    """A process forked from the warm worker before it has seen any job; it forks every child.

    A child forked from the worker itself would inherit the worker's memory, which holds earlier students'
    jobs and results (`gc.get_objects()`, /proc/self/mem). The template only ever receives four pipe ends
    (no data) per request, so a child forked from it holds nothing but the warm state and, once it reads it,
    its own job. The child is forked through a short-lived middle process, so it is re-parented to the
    worker (a child subreaper), which can then wait for it and kill it as before.
    """

    def __init__(self, serve):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            self.sock.close()
            self._loop(theirs, serve)
        theirs.close()

    @staticmethod
    def _loop(sock, serve) -> None:
        try:
            sandbox.set_parent_death_signal(signal.SIGKILL)
            while True:
                msg, fds, _flags, _addr = socket.recv_fds(sock, 16, 4 + MAX_FORKS)
                if not msg:
                    os._exit(0)
                r_pid, w_pid = os.pipe()
                middle = os.fork()
                if middle == 0:
                    child = os.fork()
                    if child == 0:
                        sock.close()
                        os.close(r_pid)
                        os.close(w_pid)
                        serve(*fds)  # never returns
                    os.write(w_pid, str(child).encode())
                    os._exit(0)
                os.close(w_pid)
                reply = os.read(r_pid, 32)
                os.close(r_pid)
                os.waitpid(middle, 0)
                for fd in fds:
                    os.close(fd)
                sock.send(reply or b"0")
        except BaseException:
            os._exit(0)

    def spawn(self, fds: list[int]) -> int:
        """Fork a child that gets `fds`; returns its pid (already the worker's child)."""
        socket.send_fds(self.sock, [b"fork"], fds)
        pid = int(self.sock.recv(32) or b"0")
        if pid <= 0:
            raise OSError("the template process could not fork a grading child")
        return pid


class _Reader:
    """The worker's side of one attempt: reads the child's frames and fds within budgets and deadlines.

    Frames are accepted only in the order the harness sends them for this job's cells (start, [exercise],
    cell, ..., done) and only in the documented shapes (`autodiff_course.grading.wire`); anything else is a
    protocol violation, charged to the running cell as a crash."""

    def __init__(self, job: dict, skip: set, limits: Limits, att: _Attempt, fds: tuple[int, int, int],
                 child: int | None = None, hidden: dict | None = None, forkable=()):
        self.att, self.limits = att, limits
        self.child = child
        #: Index of a test cell with a hidden part -> that part (`checks.collect.split_spec`).
        self.hidden = dict(hidden or {})
        #: Index of a test cell -> its fork: {"id", "pid", "seconds" (its phase-1 time)}.
        self.forks: dict[int, dict] = {}
        #: The test cells given a release pipe (`Worker._spawn`): only their forks are believed.
        self.forkable = set(forkable)
        self.cells = {c["index"]: c for c in job["cells"]}
        self.order = [c["index"] for c in job["cells"] if c.get("cell_type", "code") == "code"
                      and c["index"] not in skip]
        self.next = 0
        self.r_ev, r_out, r_err = fds
        per_frame = int(limits.output_bytes) + int(limits.exercise_bytes) + _FRAME_SLACK
        self.frames = wire.FrameReader(per_frame, per_frame + _FRAME_SLACK * len(self.order))
        #: Phase 2: fd-level output is read and dropped (it can reach no notebook any more).
        self.quiet = False
        self.fd_budget = _FdBudget(int(limits.output_bytes))
        self.streams = {r_out: _FdStream("stdout", self.fd_budget, self.order),
                        r_err: _FdStream("stderr", self.fd_budget, self.order)}
        # The slack keeps the harness's own "[output truncated ...]" note, which it adds beyond its budget.
        self.outputs = _OutputBudget(int(limits.output_bytes) + _NOTE_SLACK)
        self.exercise_left = int(limits.exercise_bytes)
        self.open_fds = {self.r_ev, r_out, r_err}
        self.current: dict | None = None
        self.last_started: int | None = None
        self.done = False
        self.wait_status: int | None = None
        self.violation: wire.ProtocolError | None = None

    # -- frames -----------------------------------------------------------------------------------------
    def handle(self, ev) -> None:
        if not isinstance(ev, dict) or not isinstance(ev.get("event"), str):
            raise wire.ProtocolError("event is not an object with an 'event' name")
        kind, index = ev["event"], ev.get("index")
        if self.done:
            raise wire.ProtocolError(f"{kind!r} event after 'done'")
        if kind == "start":
            if self.current is not None or self.next >= len(self.order) or index != self.order[self.next]:
                raise wire.ProtocolError(f"'start' of cell {str(index)[:20]} out of sequence")
            self.last_started = index
            self.current = {"index": index, "start": time.monotonic(),
                            "exercise": bool(self.cells[index].get("exercise")), "collected": False}
        elif kind == "exercise":
            cur = self.current
            if cur is None or index != cur["index"] or not cur["exercise"] or cur["collected"]:
                raise wire.ProtocolError(f"'exercise' event for cell {str(index)[:20]} out of sequence")
            cur["collected"] = True
            ex_id = str(self.cells[index]["exercise"].get("id"))
            data = self.exercise_data(ex_id, ev.get("data"))
            if records_history(self.cells[index]["exercise"]) and data.get("status") != "error":
                # Which cells the answer came from is what the parent sent, not what the child says it ran:
                # its input history is the student's to rewrite (`In.clear()` would hide a `.grad`, a made-up
                # `In` would show one where a number was typed).
                data["cells"] = self.cells_before(index)
            self.att.exercises[ex_id] = data
            if index in self.hidden:
                pid = ev.get("fork") if index in self.forkable else None
                if pid is not None and not (isinstance(pid, int) and not isinstance(pid, bool)
                                            and self.child is not None and _parent_of(pid) == self.child):
                    raise wire.ProtocolError(f"cell {index}: 'fork' {str(pid)[:20]} is no process the cell forked")
                self.forks[index] = {"id": ex_id, "pid": pid, "seconds": 0.0}
                if needs_hidden(data):
                    self.att.hidden_pending[index] = ex_id
        elif kind == "cell":
            cur = self.current
            if cur is None or index != cur["index"]:
                raise wire.ProtocolError(f"'cell' event for cell {str(index)[:20]} out of sequence")
            raw_outputs = ev.get("outputs") or []
            if not isinstance(raw_outputs, list):
                raise wire.ProtocolError(f"cell {index}: outputs must be a list")
            outputs = [wire.clean_output(o, f"cell {index} output") for o in raw_outputs]
            outputs = [dict(o, **_clip_error(o)) if o["output_type"] == "error" else o for o in outputs]
            status = ev.get("status")
            if status not in ("ok", "error", "timeout"):
                raise wire.ProtocolError(f"cell {index}: status {str(status)[:20]!r}")
            error = _clip_error(wire.clean_error(ev.get("error"), f"cell {index} error"))
            kept = self.outputs.keep(outputs)
            self.att.cells[index] = CellRun(index, status, error, kept)
            if index in self.forks:
                self.forks[index]["seconds"] = time.monotonic() - cur["start"]
            if ev.get("output_limit") is True or len(kept) < len(outputs):
                self.att.output_limited = True
            self.current = None
            self.next += 1
        elif kind == "done":
            if self.current is not None or self.next != len(self.order):
                raise wire.ProtocolError("'done' before every cell was reported")
            self.done = True
        else:
            raise wire.ProtocolError(f"unknown event {kind[:20]!r}")

    def cells_before(self, index: int) -> list[str]:
        """The sources of the code cells run before test cell ``index``, as `checks.provenance` reads a
        history (the latest ``MAX_CELLS``, each cut at ``MAX_CELL_CHARS``)."""
        run = [str(self.cells[i].get("source") or "") for i in self.order[:self.order.index(index)]]
        return [c[:MAX_CELL_CHARS] for c in run[-MAX_CELLS:]]

    def exercise_data(self, ex_id: str, data) -> dict:
        """Untrusted collected data of one exercise as kept: cleaned, within what is left of the notebook's
        budget for exercise data (else an error for that exercise)."""
        if not isinstance(data, dict):
            return {"status": "error", "message": "the collector's data was not an object"}
        data = wire.clean_data(data, f"exercise {ex_id!r} data")
        size = wire.canonical_size(data)
        if size > self.exercise_left:
            return {"status": "error", "message": f"the data collected for exercise {ex_id!r} ({size} bytes) is "
                                                  f"over the notebook's limit of {self.limits.exercise_bytes} bytes"}
        self.exercise_left -= size
        return data

    # -- reading ----------------------------------------------------------------------------------------
    def read_fd(self, fd: int) -> bool:
        try:
            data = os.read(fd, 1 << 16)
        except OSError:
            data = b""
        if not data:
            self.open_fds.discard(fd)
            return False
        if fd == self.r_ev:
            if self.violation is not None or self.quiet:
                # After a violation nothing on the channel is believed: the frames the child wrote before it
                # was killed would move the reader on and charge the violation to a later, honest cell.
                return True
            try:
                for ev in self.frames.feed(data):
                    self.handle(ev)
                if self.frames.error is not None:
                    raise self.frames.error
            except wire.ProtocolError as exc:
                self.violation = exc
                raise
        elif not self.quiet:
            self.streams[fd].feed(data)
        return True

    def drain(self, seconds: float = 1.0) -> None:
        """Read what is already available, without blocking, for at most `seconds` (a leftover process of
        the submission could keep writing forever)."""
        give_up = time.monotonic() + seconds
        while time.monotonic() < give_up:
            ready = list(self.open_fds)
            readable = select.select(ready, [], [], 0)[0] if ready else []
            if not readable:
                return
            for fd in readable:
                self.read_fd(fd)

    def watch(self, pid: int, deadline: float) -> tuple[str | None, int | None]:
        """Read until the child exits or a deadline passes: (kill reason or None, wait status or None)."""
        limits = self.limits
        try:
            while True:
                now = time.monotonic()
                until = deadline
                if self.current is not None:
                    per_cell = (limits.exercise_wall_seconds if self.current["exercise"]
                                else limits.cell_wall_seconds + limits.kill_grace_seconds)
                    until = min(until, self.current["start"] + per_cell)
                if now >= until:
                    return ("notebook" if until == deadline else "cell"), None
                got, st = os.waitpid(pid, os.WNOHANG)
                if got:
                    self.wait_status = st  # kept even if what is drained next breaks the protocol
                    self.drain()
                    return None, st
                fds = list(self.open_fds)
                # Once the event pipe is closed the child is ending: poll its exit more often.
                wait = min(until - now, 0.25 if self.r_ev in self.open_fds else 0.01)
                if fds:
                    for fd in select.select(fds, [], [], wait)[0]:
                        self.read_fd(fd)
                else:
                    time.sleep(wait)
        except wire.ProtocolError as exc:
            return f"protocol: {exc}", self.wait_status


def _read_hidden(reader: _Reader, index: int, ex_id: str, got):
    """Read the events pipe in phase 2, where only one ``hidden`` event of exercise `ex_id` (cell `index`) is
    accepted; returns its data (kept within the notebook's budget), or `got` when none came. Raises
    ProtocolError for any other frame."""
    try:
        data = os.read(reader.r_ev, 1 << 16)
    except OSError:
        data = b""
    if not data:
        reader.open_fds.discard(reader.r_ev)
        return got
    for ev in reader.frames.feed(data):
        kind = ev.get("event") if isinstance(ev, dict) else None
        if got is not None or kind != "hidden" or ev.get("index") != index or ev.get("id") != ex_id:
            raise wire.ProtocolError(f"after the last cell only the data of exercise {ex_id!r} is accepted, "
                                     f"not a {str(kind)[:20]!r} event")
        got = reader.exercise_data(ex_id, ev.get("data"))
    if reader.frames.error is not None:
        raise reader.frames.error
    return got


def _write_within(fd: int, data: bytes, until: float) -> bool:
    """Write all of `data` to the pipe `fd` before `until` (a fork that does not read cannot block us)."""
    os.set_blocking(fd, False)
    view = memoryview(data)
    while view:
        left = until - time.monotonic()
        if left <= 0 or not select.select([], [fd], [], left)[1]:
            return False
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            continue
        except OSError:
            return False  # it is gone: its wait status says how
    return True


def _parent_of(pid: int) -> int | None:
    """The parent pid of `pid` as /proc shows it, or None."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as f:
            stat = f.read()
    except (OSError, ValueError):
        return None
    try:
        return int(stat[stat.rindex(b")") + 2:].split()[1])
    except (ValueError, IndexError):
        return None


#: At most this many test cells of one notebook have their hidden points collected in a fork (each waits on a
#: pipe of its own); an exercise beyond it is reported as not checked at its hidden points.
MAX_FORKS = 64

# Room in one frame, and per cell in the whole stream, beyond outputs and exercise data: event fields and an
# error (its traceback is at most TRACEBACK_LINES x TRACEBACK_LINE_CHARS, up to 6 canonical bytes each).
_FRAME_SLACK = 256 * 1024
_NOTE_SLACK = 1024


class Worker:
    def __init__(self, *, uid: int | None, gid: int | None, mode: str, collector, shell, tmp_dir: str,
                 footprint_bytes: int):
        self.uid, self.gid, self.mode = uid, gid, mode
        self.collector, self.shell = collector, shell
        self.tmp_dir = tmp_dir
        self.footprint_bytes = footprint_bytes
        self.pid = os.getpid()
        self.template: _Template | None = None

    def start_template(self) -> None:
        """Fork the clean template (call once, after warming up and before the first job)."""
        self.template = _Template(self._child)

    # -- one attempt: the child's set-up ----------------------------------------------------------------
    def _prepare_dir(self, files: dict) -> tuple[str, str]:
        root = tempfile.mkdtemp(prefix="job-", dir=self.tmp_dir)
        os.chmod(root, 0o711)
        work = os.path.join(root, "work")
        try:
            os.mkdir(work, 0o700)
            for name, b64 in (files or {}).items():
                rel = safe_relative_path(name)
                target = os.path.join(work, rel)
                os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
                with open(target, "wb") as f:
                    f.write(base64.b64decode(b64))
            if self.uid is not None:
                for dirpath, _dirnames, filenames in os.walk(work):
                    os.chown(dirpath, self.uid, self.gid)
                    for n in filenames:
                        os.chown(os.path.join(dirpath, n), self.uid, self.gid)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return root, work

    def _child(self, r_job: int, w_ev: int, w_out: int, w_err: int, *r_release: int) -> None:
        """In the child forked by the template: read this job, confine the process, run the cells."""
        try:
            os.setsid()
            payload = _read_payload(r_job)
            os.close(r_job)
            job, skip, limits = payload["job"], set(payload["skip"]), Limits.from_dict(payload["limits"])
            work = payload["work"]
            # The forks' release pipes go to 4, 5, ...: first moved above that range, so none is overwritten.
            first = 4 + len(r_release)
            moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, first) for fd in r_release]
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(w_out, 1)
            os.dup2(w_err, 2)
            os.dup2(w_ev, 3)
            for k, fd in enumerate(moved):
                os.dup2(fd, 4 + k)
            release = {index: 4 + k for index, k in payload["release"]}
            # Everything else inherited must not be reachable by student code.
            high = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            high = 65536 if high == resource.RLIM_INFINITY else high
            os.closerange(first, high)
            faulthandler.enable(file=sys.__stderr__)
            os.chdir(work)
            for var in ("HOME", "TMPDIR", "IPYTHONDIR"):
                os.environ[var] = work
            os.environ["MPLCONFIGDIR"] = os.path.join(work, ".matplotlib")
            tempfile.tempdir = work
            cpu = int(limits.notebook_wall_seconds) + 1
            mem = sandbox.vm_size() + int(limits.memory_mb) * 1024 * 1024
            disk = int(limits.disk_mb) * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
            resource.setrlimit(resource.RLIMIT_FSIZE, (disk, disk))
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
            if self.uid is not None:
                # The forks that wait for the hidden points come on top of the notebook's own processes.
                nproc = limits.max_processes + len(release)
                resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
                # Its own SysV IPC namespace (as root, before dropping it): objects die with the child.
                try:
                    sandbox.unshare_ipc()
                except OSError:
                    pass
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                sandbox.set_no_new_privs()
            except OSError:
                pass
            sandbox.deny_user_namespaces()
            if self.uid is not None:
                os.setgroups([])
                os.setgid(self.gid)
                os.setuid(self.uid)
            sandbox.set_parent_death_signal(signal.SIGKILL)
            if os.getppid() != self.pid:  # the worker is gone (the job was read after re-parenting)
                os._exit(70)
            sys.path.insert(0, work)
            harness.run_job(self.shell, job, skip, limits.to_dict(), 3, self.collector, release)
            os._exit(0)
        except BaseException as exc:
            try:
                os.write(2, f"grading harness failed: {type(exc).__name__}: {exc}\n".encode())
            finally:
                os._exit(70)

    def _spawn(self, job: dict, skip: set, limits: Limits, work: str, hidden: dict
               ) -> tuple[int, tuple[int, int, int], dict[int, int]]:
        """Fork a child from the template and send it its job without any exercise's hidden part; (pid, read
        ends of events, stdout, stderr, {test cell index: write end of its fork's release pipe})."""
        if self.template is None:
            self.start_template()
        pipes = [os.pipe() for _ in range(4)]
        (r_job, w_job), (r_ev, w_ev), (r_out, w_out), (r_err, w_err) = pipes
        forked = [i for i in sorted(hidden) if i not in skip][:MAX_FORKS]
        release = {i: os.pipe() for i in forked}
        try:
            pid = self.template.spawn([r_job, w_ev, w_out, w_err, *(release[i][0] for i in forked)])
        except BaseException:
            for _r, w in release.values():
                os.close(w)
            raise
        finally:
            for fd in (r_job, w_ev, w_out, w_err, *(r for r, _w in release.values())):
                os.close(fd)
        cells = [{"index": c.get("index"), "cell_type": c.get("cell_type"), "source": c.get("source"),
                  "exercise": split_spec(c["exercise"])[0] if c.get("exercise") else c.get("exercise")}
                 for c in job["cells"]]
        payload = {"job": {"cells": cells}, "skip": sorted(skip), "limits": limits.to_dict(), "work": work,
                   "release": [[i, k] for k, i in enumerate(forked)]}
        try:
            wire.write_frame(w_job, payload)
        except OSError:
            pass  # the child died before reading: its wait status says so
        finally:
            os.close(w_job)
        return pid, (r_ev, r_out, r_err), {i: w for i, (_r, w) in release.items()}

    def _attempt(self, job: dict, skip: set, limits: Limits, deadline: float) -> _Attempt:
        att = _Attempt()
        hidden = {c["index"]: part for c in job["cells"] if c.get("exercise")
                  for part in [split_spec(c["exercise"])[1]] if part}
        root, work = self._prepare_dir(job.get("files") or {})
        try:
            pid, fds, release = self._spawn(job, skip, limits, work, hidden)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        reader = _Reader(job, skip, limits, att, fds, child=pid, hidden=hidden, forkable=release)
        kill_reason = wait_status = None
        try:
            kill_reason, wait_status = reader.watch(pid, deadline)
            if kill_reason is None and reader.done:
                # Phase 2: every cell has run and the notebook's process is gone; only now may a hidden
                # point reach a process of the submission.
                self._collect_hidden(reader, release, limits, deadline)
        finally:
            for w in release.values():
                os.close(w)
            wait_status = self._end_child(pid, wait_status)
            try:
                reader.drain()  # all writers are gone now: this ends at EOF
            except wire.ProtocolError:
                pass
            shutil.rmtree(root, ignore_errors=True)
            for fd in fds:
                os.close(fd)
        return self._finish(att, reader, kill_reason, wait_status, limits)

    # -- one attempt: phase 2, the hidden points ----------------------------------------------------------
    def _collect_hidden(self, reader: _Reader, release: dict[int, int], limits: Limits, deadline: float) -> None:
        """Release the forks of the exercises still to be collected, one at a time, each with its exercise's
        hidden part, and join what each sends to its visible data. A fork that sends anything but its one
        ``hidden`` event, hangs past what is left of its exercise's time, or ends without data costs that
        exercise only. Nothing read here reaches a cell: fd-level output is dropped."""
        reader.quiet = True
        att = reader.att
        pending = [i for i in sorted(att.hidden_pending) if reader.forks.get(i, {}).get("pid") is not None]
        for i in sorted(att.hidden_pending):
            if i not in pending:
                why = (f"a notebook may have at most {MAX_FORKS} such exercises" if i not in reader.forkable
                       else "no process could be forked for them")
                att.hidden_failures[i] = ("crashed", f"its hidden test points could not be checked: {why}")
        self._kill_all_but({reader.forks[i]["pid"] for i in pending})
        for n, index in enumerate(pending):
            fork = reader.forks[index]
            ex_id = fork["id"]
            reader.drain(0.2)  # dropped (quiet): what an earlier fork or anything else left is not this one's
            reader.frames = wire.FrameReader(int(limits.exercise_bytes) + _FRAME_SLACK)
            now = time.monotonic()
            until = min(deadline, now + max(0.5, limits.exercise_wall_seconds - fork["seconds"]))
            if now >= deadline - 0.05:
                att.hidden_failures[index] = ("timeout", f"the notebook's wall-clock limit of "
                                                         f"{limits.notebook_wall_seconds:g} s was reached before "
                                                         f"its hidden test points were checked")
                continue
            outcome = self._run_fork(reader, fork["pid"], index, ex_id, release.pop(index), until)
            if isinstance(outcome, dict):
                att.exercises[ex_id] = join_hidden(att.exercises[ex_id], outcome)
            else:
                att.hidden_failures[index] = outcome
            self._kill_all_but({reader.forks[i]["pid"] for i in pending[n + 1:]})
        att.hidden_pending.clear()

    def _run_fork(self, reader: _Reader, pid: int, index: int, ex_id: str, w_release: int, until: float):
        """Send one fork its exercise's hidden part and read its answer: the data, or (status, message)."""
        got = None
        try:
            # The notebook (or a fork released before it) may have stopped it with SIGSTOP: it is woken, or it
            # would sit out its exercise's whole time limit.
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            if not _write_within(w_release, wire.encode_frame(reader.hidden[index]), until):
                raise TimeoutError
            while True:
                try:
                    done, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done, status = pid, 0
                if done:
                    # It has exited: what it wrote is on the pipe already (within a second: a process it left
                    # behind may keep writing).
                    give_up = time.monotonic() + 1.0
                    while (reader.r_ev in reader.open_fds and time.monotonic() < give_up
                           and select.select([reader.r_ev], [], [], 0)[0]):
                        got = _read_hidden(reader, index, ex_id, got)
                    if got is not None:
                        return got
                    return "crashed", f"checking its hidden test points did not finish: {_describe_exit(status)[1]}"
                left = until - time.monotonic()
                if left <= 0:
                    if got is not None:
                        return got  # it answered, then did not exit: the answer stands
                    raise TimeoutError
                for fd in select.select(list(reader.open_fds), [], [], min(0.05, left))[0]:
                    if fd == reader.r_ev:
                        got = _read_hidden(reader, index, ex_id, got)
                    else:
                        reader.read_fd(fd)  # dropped: phase 2 writes no output
        except TimeoutError:
            return "timeout", (f"checking its hidden test points exceeded what was left of the exercise's "
                               f"wall-clock limit of {reader.limits.exercise_wall_seconds:g} s and was killed")
        except wire.ProtocolError as exc:
            return "crashed", f"checking its hidden test points broke the grading protocol ({exc})"
        finally:
            os.close(w_release)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass

    def _kill_all_but(self, keep: set[int]) -> None:
        """SIGKILL every process of the slot uid but `keep` (phase 2: what the notebook left running)."""
        if self.uid is None:
            return
        for pid in sandbox.processes_of_uid(self.uid):
            if pid not in keep:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _end_child(self, pid: int, wait_status: int | None) -> int:
        # The child leads its own session: its group goes first (all that can be done without a uid).
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        if wait_status is None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, wait_status = os.waitpid(pid, 0)
        self._end_processes()
        return wait_status

    # -- one attempt: the result ------------------------------------------------------------------------
    @staticmethod
    def _finish(att: _Attempt, reader: _Reader, kill_reason: str | None, wait_status: int,
                limits: Limits) -> _Attempt:
        # fd-level output (os.write, C code, subprocesses) is split per cell by the child's end-of-cell marks.
        for index, cell in att.cells.items():
            for st in reader.streams.values():
                for o in st.outputs_of(index):
                    cell.outputs += reader.outputs.keep_text(o["name"], o["text"])
        leftover = [out for st in reader.streams.values() for o in st.outputs_of(None)
                    for out in reader.outputs.keep_text(o["name"], o["text"])]
        att.output_limited = att.output_limited or reader.fd_budget.limited or reader.outputs.limited
        current = reader.current
        if reader.done and kill_reason is None:
            return att
        if kill_reason == "notebook":
            att.notebook_timeout = True
            if current is not None:
                att.failure = {"index": current["index"], "status": "timeout", "outputs": leftover,
                               "message": f"the notebook's wall-clock limit of "
                                          f"{limits.notebook_wall_seconds:g} s was reached in this cell"}
            return att
        if kill_reason == "cell":
            limit = limits.exercise_wall_seconds if current["exercise"] else limits.cell_wall_seconds
            att.failure = {"index": current["index"], "status": "timeout", "outputs": leftover,
                           "message": f"the cell exceeded its wall-clock limit of {limit:g} s and was killed"}
            return att
        if kill_reason is not None:  # protocol violation: treat as a crash of the running cell
            status, text = "crashed", f"it broke the grading protocol ({kill_reason[10:]})"
        else:
            status, text = _describe_exit(wait_status)
        if current is None and kill_reason is not None and reader.last_started is not None:
            # Between cells only the harness writes: a violation seen there was written by the code of the
            # cell that ran last (say, it forged that cell's end).
            current = {"index": reader.last_started}
        if current is not None:
            att.failure = {"index": current["index"], "status": status, "outputs": leftover,
                           "message": f"the cell did not finish: {text}"}
        else:
            detail = "".join(o["text"] for o in leftover)[-2000:]
            att.harness_failure = f"the grading process ended outside any cell: {text}. {detail}".strip()
        return att

    @staticmethod
    def _reap() -> None:
        """Collect the orphans that came to this subreaper."""
        while True:
            try:
                got, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not got:
                return

    def _end_processes(self) -> None:
        """Kill every process of the slot uid, reap the orphans until not even a zombie is left, and remove
        the SysV IPC objects the uid left in this worker's namespace."""
        if self.uid is not None:
            # SIGKILLed processes take a moment to release their memory and become zombies: repeat until
            # not even a zombie of the uid is left, so the next job starts from nothing.
            give_up = time.monotonic() + 10
            while True:
                sandbox.kill_uid_processes(self.uid)
                self._reap()
                if not sandbox.processes_of_uid(self.uid, zombies=True) or time.monotonic() > give_up:
                    break
                time.sleep(0.005)
            sandbox.remove_ipc_of_uid(self.uid)
        else:
            self._reap()

    # -- one job ----------------------------------------------------------------------------------------
    def grade(self, job: dict) -> dict:
        started = time.monotonic()
        limits = Limits.from_dict(job.get("limits") or {})
        deadline = started + limits.notebook_wall_seconds
        code_cells = [c for c in job["cells"] if c.get("cell_type", "code") == "code"]
        failures: dict[int, dict] = {}
        att = _Attempt()
        for _ in range(len(code_cells) + 1):
            att = self._attempt(job, set(failures), limits, deadline)
            if att.failure is None:
                break
            failures[att.failure["index"]] = att.failure
            if att.notebook_timeout or time.monotonic() >= deadline - 0.5:
                att.notebook_timeout = True
                break
        return self._assemble(job, code_cells, failures, att, limits, time.monotonic() - started).to_dict()

    def _assemble(self, job, code_cells, failures, att: _Attempt, limits: Limits, seconds: float) -> RunResult:
        cells, exercises, problems, flags = [], {}, [], set()
        for c in code_cells:
            i = c["index"]
            spec = c.get("exercise")
            if i in failures:
                f = failures[i]
                ename = "CellTimeout" if f["status"] == "timeout" else "CellCrashed"
                entry = CellRun(i, f["status"], {"ename": ename, "evalue": f["message"], "traceback": []},
                                f["outputs"])
                flags.add(f["status"] if f["status"] == "timeout" else "crashed")
                problems.append(f"cell {i}: {f['message']}" + ("" if att.notebook_timeout and f is att.failure
                                                               else "; graded the rest without it"))
                if spec:
                    exercises[str(spec.get("id"))] = {"status": f["status"], "message": f["message"]}
            elif i in att.cells:
                entry = att.cells[i]
                err = entry.error or {}
                if entry.status == "timeout":
                    flags.add("timeout")
                    problems.append(f"cell {i}: {err.get('evalue') or 'time limit exceeded'}")
                evalue = str(err.get("evalue", ""))
                if err.get("ename") == "MemoryError" or any(h in evalue for h in _MEMORY_HINTS):
                    flags.add("memory")
                    problems.append(f"cell {i}: ran out of memory (limit {limits.memory_mb} MB)")
                if spec:
                    exercises[str(spec.get("id"))] = att.exercises.get(str(spec.get("id")), {
                        "status": "error", "message": "the collector reported nothing for this exercise"})
                if i in att.hidden_pending:  # the run ended before the hidden points were collected
                    why = ("the notebook's wall-clock limit was reached" if att.notebook_timeout
                           else att.harness_failure or "the run of a later cell failed")
                    att.hidden_failures[i] = ("timeout" if att.notebook_timeout else "crashed",
                                              f"its hidden test points were not checked: {why}")
                if i in att.hidden_failures:
                    status, message = att.hidden_failures[i]
                    flags.add(status)
                    problems.append(f"cell {i}: {message}")
                    exercises[str(spec.get("id"))] = {"status": status, "message": message}
            else:
                why = ("the notebook's wall-clock limit was reached before this cell" if att.notebook_timeout
                       else att.harness_failure or "not reached")
                entry = CellRun(i, "skipped")
                if spec:
                    exercises[str(spec.get("id"))] = {
                        "status": "timeout" if att.notebook_timeout else "crashed", "message": why}
            cells.append(entry)
        if att.output_limited:
            flags.add("output-limit")
            problems.append(f"output was cut at the limit of {limits.output_bytes} bytes")
        if att.notebook_timeout:
            flags.add("timeout")
            problems.append(f"the notebook's wall-clock limit of {limits.notebook_wall_seconds:g} s was "
                            "reached")
        if att.harness_failure:
            flags.add("crashed")
            problems.append(att.harness_failure)
        status = next((s for s in RUN_STATUS_ORDER if s in flags), "ok")
        return RunResult(job.get("job_id"), status, "; ".join(problems), self.mode, seconds, cells, exercises)


def _read_payload(fd: int) -> dict:
    """The one frame the worker writes on the child's job pipe."""
    reader = wire.FrameReader(1 << 30)
    while True:
        data = os.read(fd, 1 << 20)
        if not data:
            raise EOFError("the job pipe closed before a whole job was read")
        frames = reader.feed(data)
        if frames:
            return frames[0]


def _resolve_collector(path: str):
    module, _, attr = path.partition(":")
    try:
        fn = getattr(importlib.import_module(module), attr or "collect")
        if not callable(fn):
            raise TypeError(f"{path} is not callable")
        return fn
    except Exception as exc:
        reason = f"the collector {path} is not available ({type(exc).__name__}: {exc})"

        def unavailable(spec, namespace):
            return {"status": "error", "message": reason}

        return unavailable


def preload(modules) -> list[str]:
    """Import each ``"module"`` or ``"module:name"`` of `modules` (the name read as an attribute, which runs
    a lazy ``__getattr__``), so no child pays for it; returns the texts of those that failed (not fatal:
    the notebook then imports it itself, or fails the way it would anywhere)."""
    failed = []
    for item in modules:
        module, _, attr = str(item).partition(":")
        try:
            loaded = importlib.import_module(module)
            if attr:
                getattr(loaded, attr)
        except Exception as exc:  # noqa: BLE001 - any import error is the notebook's to meet
            failed.append(f"{item}: {type(exc).__name__}")
    return failed


def _warm_up(collector_path: str):
    import numpy  # noqa: F401
    import torch

    torch.set_num_threads(1)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401

    try:
        import matplotlib_inline.backend_inline  # noqa: F401
    except ImportError:
        pass
    # The package itself (engine, checks, feedback, widgets) is warm already: importing this module ran
    # autodiff_course/__init__.py, which imports every layer.
    shell = harness.make_shell()
    _warm_first_uses(shell)
    return shell, _resolve_collector(collector_path)


def _warm_first_uses(shell) -> None:
    """Pay, once in the warm worker, for what nearly every notebook pays on first use: otherwise every child,
    forked from this state, pays it again (on a 2-core machine that was most of a notebook's grading time).

    An optimiser's first step imports ``torch._dynamo`` (hundreds of modules, sympy among them), printing a
    tensor builds its formatter, a figure's first PNG loads fonts, IPython's first traceback loads pygments and
    the debugger (the modules the course's notebooks import are `preload`'s). Only generic values are used here
    (no course, no reference, no student): what a child inherits from this is the same for everyone. Global
    state a student can observe is left as it was (no figure stays open, the RNG is not drawn from).
    """
    import io

    import numpy.fft  # noqa: F401
    import numpy.random  # noqa: F401
    import torch

    weight = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    (weight * weight).sum().backward()
    optimizer.step()
    optimizer.zero_grad()
    repr(torch.ones(2, dtype=torch.float64))
    repr(torch.ones(2, requires_grad=True) * 2)

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0.0, 1.0], [0.0, 1.0], label="warm-up")
    ax.legend()
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    try:
        import autodiff_course.checks.snapshot  # noqa: F401
    except ImportError:
        pass
    try:
        raise ValueError("warm-up")
    except ValueError:
        shell.InteractiveTB.structured_traceback(*sys.exc_info())
    import timeit  # noqa: F401

    # IPython's own lazily loaded parts: the debugger and logger (a traceback, `%logstart`) and what the first
    # line magic (`%matplotlib inline`, `%timeit`) loads. The magic itself is not run: it would change the
    # backend for every notebook, not only those that ask for it.
    import IPython.core.debugger  # noqa: F401
    import IPython.core.logger  # noqa: F401
    import IPython.core.magic_arguments  # noqa: F401
    import IPython.core.magics.ast_mod  # noqa: F401
    import IPython.core.magics.execution  # noqa: F401
    import IPython.core.magics.pylab  # noqa: F401
    import IPython.utils.contexts  # noqa: F401
    import IPython.utils.module_paths  # noqa: F401


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def main(argv: list[str] | None = None) -> None:
    """Run the worker loop until stdin closes. Arguments are the pool's; see the module docstring."""
    ap = argparse.ArgumentParser(prog="autodiff-course-worker")
    ap.add_argument("--uid", type=int)
    ap.add_argument("--gid", type=int)
    ap.add_argument("--sandbox", choices=("bwrap", "none"), required=True)
    ap.add_argument("--collector", default="autodiff_course.checks:collect")
    ap.add_argument("--python-path", action="append", default=[])
    ap.add_argument("--hide", action="append", default=[])
    ap.add_argument("--preload", action="append", default=[])
    ap.add_argument("--tmp-dir", default=tempfile.gettempdir())
    ap.add_argument("--disk-mb", type=int, default=256)
    # The folders come in the environment (see the pool), and leave it before any child is forked.
    paths = json.loads(os.environ.pop(WORKER_PATHS_ENV, "[]"))
    args = ap.parse_args([*(sys.argv[1:] if argv is None else argv), *paths])

    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stray prints must never corrupt the result frames
    os.set_inheritable(proto_in, False)
    os.set_inheritable(proto_out, False)
    try:
        sandbox.set_parent_death_signal(signal.SIGKILL)
        sandbox.set_child_subreaper()
    except OSError:
        pass
    for p in args.python_path:
        if p not in sys.path:
            sys.path.append(p)
    uid = args.uid if os.geteuid() == 0 else None
    gid = args.gid if args.gid is not None else args.uid
    # What the overlay launcher could not do (autodiff_course.grading.overlay_launcher.NOTES_ENV).
    warnings = list(json.loads(os.environ.pop("AUTODIFF_COURSE_SANDBOX_NOTES", "[]")))
    shell, collector = _warm_up(args.collector)
    preload(args.preload)
    if args.sandbox == "none":
        # The package folder itself, not the folder holding it: that may be the course, which is hidden.
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        expose = [sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix, package,
                  *args.python_path]
        warnings += sandbox.isolate_fallback(args.hide, expose, private_tmp=args.tmp_dir,
                                             tmp_bytes=args.disk_mb * 1024 * 1024)
    if uid is not None:
        sandbox.kill_uid_processes(uid)
    footprint = sandbox.vm_size()
    worker = Worker(uid=uid, gid=gid if uid is not None else None, mode=args.sandbox, collector=collector,
                    shell=shell, tmp_dir=args.tmp_dir, footprint_bytes=footprint)
    worker.start_template()  # before any job reaches this process
    harness.write_frame(proto_out, {"ready": True, "warnings": warnings, "footprint_mb": footprint / 2**20})
    reader = harness.FrameReader(1 << 30)
    while True:
        head = _read_exact(proto_in, 4)
        if head is None:
            break
        body = _read_exact(proto_in, int.from_bytes(head, "big"))
        if body is None:
            break
        (job,) = reader.feed(head + body)
        try:
            result = worker.grade(job)
        except Exception as exc:  # a bug of ours or a malformed job: report it, keep serving
            result = RunResult(job.get("job_id") if isinstance(job, dict) else None, "crashed",
                               f"the grading worker failed: {type(exc).__name__}: {exc}", args.sandbox,
                               0.0).to_dict()
        harness.write_frame(proto_out, result)
    # Nothing to flush or save: skip the interpreter's (slow, torch- and IPython-laden) shutdown.
    os._exit(0)


if __name__ == "__main__":
    main()
