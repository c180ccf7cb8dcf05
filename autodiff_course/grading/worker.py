"""The long-lived, pre-warmed grading worker (one per pool slot) and how it grades one job.

Started by `autodiff_course.grading.pool.WorkerPool` (inside bwrap when available) as
``python -c "from autodiff_course.grading.worker import main; main()" --uid U --gid G --sandbox MODE ...``.
It imports numpy, torch, matplotlib (Agg), IPython and ``autodiff_course`` once, creates a warm IPython shell,
then loops: read one job frame on stdin, grade it, write one result frame on stdout (frames: 4-byte big-endian
length + JSON, see `autodiff_course.grading.harness`). The first frame it writes is
``{"ready": true, "warnings": [...], "footprint_mb": float}``.

Grading one job (`grade`):

1. Fork a fresh child from the warm state. The child makes a private dir (only the job's ``files``), chdirs
   there, sets rlimits (RLIMIT_AS = warm footprint + ``memory_mb``, RLIMIT_CPU, RLIMIT_NPROC, RLIMIT_FSIZE,
   RLIMIT_CORE=0), sets no-new-privs, drops to the slot's unprivileged uid/gid, redirects fds 0/1/2 (stdin
   from /dev/null, stdout/stderr into pipes the worker reads within the output budget), closes every other
   fd, and runs the cells (`harness.run_job`), streaming events.
2. The worker enforces the per-cell and per-notebook wall clock by SIGKILL, and remembers which cell was
   running. When the child dies or is killed inside a cell, the cell is recorded as the cause (``crashed`` or
   ``timeout``) and the notebook is re-run in a fresh child with that cell (and earlier culprits) skipped, so
   the other exercises are still graded; all attempts share the notebook's wall-clock budget.
3. After every attempt every process of the slot uid is killed (daemons, fork bombs), orphans are reaped
   (the worker is a child subreaper) and the private dir is removed.

The result dict is the one documented in `autodiff_course.grading.pool`.
"""

from __future__ import annotations

import argparse
import base64
import faulthandler
import importlib
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
from pathlib import PurePosixPath

from autodiff_course.grading import harness, sandbox
from autodiff_course.grading.limits import Limits

__all__ = ["main", "Worker", "safe_relative_path"]

CELL_STATUSES = ("ok", "error", "timeout", "skipped", "crashed")
RUN_STATUS_ORDER = ("killed", "crashed", "timeout", "memory", "output-limit")
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

    def __init__(self, name: str, budget: _FdBudget):
        self.name, self.budget = name, budget
        self.pending = bytearray()
        self.segments: dict[int, bytearray] = {}

    def feed(self, data: bytes) -> None:
        self.pending += data
        while True:
            m = harness.CELL_END.search(self.pending)
            if m is None:
                break
            self.segments.setdefault(int(m.group(1)), bytearray()).extend(
                self.budget.take(bytes(self.pending[: m.start()])))
            del self.pending[: m.end()]
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


class _Attempt:
    def __init__(self):
        self.cells: dict[int, dict] = {}
        self.exercises: dict[str, dict] = {}
        self.failure: dict | None = None
        self.notebook_timeout = False
        self.harness_failure: str | None = None
        self.fd_output_limited = False


class Worker:
    def __init__(self, *, uid: int | None, gid: int | None, mode: str, collector, shell, tmp_dir: str,
                 footprint_bytes: int):
        self.uid, self.gid, self.mode = uid, gid, mode
        self.collector, self.shell = collector, shell
        self.tmp_dir = tmp_dir
        self.footprint_bytes = footprint_bytes

    # -- one attempt ------------------------------------------------------------------------------------
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

    def _child(self, job, skip, limits: Limits, work, w_ev, w_out, w_err):
        try:
            os.setsid()
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(w_out, 1)
            os.dup2(w_err, 2)
            # The job pipes to the pool and everything else inherited must not be reachable by student code.
            high = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            high = 65536 if high == resource.RLIM_INFINITY else high
            os.closerange(3, w_ev)
            os.closerange(w_ev + 1, high)
            faulthandler.enable(file=sys.__stderr__)
            os.chdir(work)
            for var in ("HOME", "TMPDIR", "IPYTHONDIR"):
                os.environ[var] = work
            os.environ["MPLCONFIGDIR"] = os.path.join(work, ".matplotlib")
            tempfile.tempdir = work
            cpu = int(limits.notebook_wall_seconds) + 1
            mem = (self.footprint_bytes or _vm_size()) + int(limits.memory_mb) * 1024 * 1024
            disk = int(limits.disk_mb) * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
            resource.setrlimit(resource.RLIMIT_FSIZE, (disk, disk))
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
            if self.uid is not None:
                resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                sandbox.set_no_new_privs()
            except OSError:
                pass
            if self.uid is not None:
                os.setgroups([])
                os.setgid(self.gid)
                os.setuid(self.uid)
            sandbox.set_parent_death_signal(signal.SIGKILL)
            sys.path.insert(0, work)
            harness.run_job(self.shell, job, skip, limits.to_dict(), w_ev, self.collector)
            os._exit(0)
        except BaseException as exc:
            try:
                os.write(2, f"grading harness failed: {type(exc).__name__}: {exc}\n".encode())
            finally:
                os._exit(70)

    def _attempt(self, job: dict, skip: set, limits: Limits, deadline: float) -> _Attempt:
        att = _Attempt()
        cells_by_index = {c["index"]: c for c in job["cells"]}
        root, work = self._prepare_dir(job.get("files") or {})
        r_ev, w_ev = os.pipe()
        r_out, w_out = os.pipe()
        r_err, w_err = os.pipe()
        # Memory is limited relative to the address space at this fork (it grows over a worker's life).
        self.footprint_bytes = _vm_size()
        pid = os.fork()
        if pid == 0:
            self._child(job, skip, limits, work, w_ev, w_out, w_err)
        for fd in (w_ev, w_out, w_err):
            os.close(fd)
        reader = harness.FrameReader(int(limits.output_bytes) * 4 + (64 << 20))
        fd_budget = _FdBudget(int(limits.output_bytes))
        streams = {r_out: _FdStream("stdout", fd_budget), r_err: _FdStream("stderr", fd_budget)}
        current: dict | None = None
        done = False
        kill_reason: str | None = None
        wait_status: int | None = None
        open_fds = {r_ev, r_out, r_err}

        def read_fd(fd) -> bool:
            try:
                data = os.read(fd, 1 << 16)
            except OSError:
                data = b""
            if not data:
                open_fds.discard(fd)
                return False
            if fd == r_ev:
                for ev in reader.feed(data):
                    handle(ev)
            else:
                streams[fd].feed(data)
            return True

        def drain(fds, seconds: float = 1.0) -> None:
            """Read what is already available on `fds`, without blocking, for at most `seconds` (a leftover
            process of the submission could keep writing forever)."""
            give_up = time.monotonic() + seconds
            while time.monotonic() < give_up:
                ready = [fd for fd in fds if fd in open_fds]
                readable = select.select(ready, [], [], 0)[0] if ready else []
                if not readable:
                    return
                for fd in readable:
                    read_fd(fd)

        def handle(ev):
            nonlocal current, done
            if not isinstance(ev, dict):
                raise harness.ProtocolError("event is not an object")
            kind = ev.get("event")
            index = ev.get("index")
            if kind == "done":
                done = True
            elif kind == "start" and index in cells_by_index:
                current = {"index": index, "start": time.monotonic(),
                           "exercise": bool(cells_by_index[index].get("exercise"))}
            elif kind == "exercise" and index in cells_by_index and cells_by_index[index].get("exercise"):
                data = ev.get("data")
                ex_id = str(cells_by_index[index]["exercise"].get("id"))
                att.exercises[ex_id] = data if isinstance(data, dict) else {
                    "status": "error", "message": "the collector's data was not an object"}
            elif kind == "cell" and index in cells_by_index:
                outputs = [o for o in ev.get("outputs") or [] if isinstance(o, dict)]
                status = ev.get("status") if ev.get("status") in CELL_STATUSES else "error"
                error = ev.get("error") if isinstance(ev.get("error"), dict) else None
                att.cells[index] = {"index": index, "status": status, "error": error,
                                    "outputs": outputs,
                                    "output_limit": bool(ev.get("output_limit"))}
                current = None

        try:
            while True:
                now = time.monotonic()
                until = deadline
                if current is not None:
                    per_cell = (limits.exercise_wall_seconds if current["exercise"]
                                else limits.cell_wall_seconds + limits.kill_grace_seconds)
                    until = min(until, current["start"] + per_cell)
                if now >= until:
                    kill_reason = "notebook" if until == deadline else "cell"
                    break
                got, st = os.waitpid(pid, os.WNOHANG)
                if got:
                    wait_status = st
                    drain((r_ev, r_out, r_err))
                    break
                fds = [fd for fd in (r_ev, r_out, r_err) if fd in open_fds]
                # Once the event pipe is closed the child is ending: poll its exit more often.
                wait = min(until - now, 0.25 if r_ev in open_fds else 0.01)
                if fds:
                    for fd in select.select(fds, [], [], wait)[0]:
                        read_fd(fd)
                else:
                    time.sleep(wait)
        except harness.ProtocolError as exc:
            kill_reason = f"protocol: {exc}"
        finally:
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
            try:
                drain((r_ev, r_out, r_err))  # all writers are gone now: this ends at EOF
            except harness.ProtocolError:
                pass
            shutil.rmtree(root, ignore_errors=True)
            for fd in (r_ev, r_out, r_err):
                os.close(fd)

        # fd-level output (os.write, C code, subprocesses) is split per cell by the child's end-of-cell marks.
        for index, cell in att.cells.items():
            for st in streams.values():
                cell["outputs"] += st.outputs_of(index)
        leftover = [o for st in streams.values() for o in st.outputs_of(None)]
        att.fd_output_limited = fd_budget.limited
        if done and kill_reason is None:
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
        """Kill every process of the slot uid and reap the orphans, until not even a zombie is left."""
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
        return self._assemble(job, code_cells, failures, att, limits, time.monotonic() - started)

    def _assemble(self, job, code_cells, failures, att: _Attempt, limits: Limits, seconds: float) -> dict:
        cells, exercises, problems, flags = [], {}, [], set()
        for c in code_cells:
            i = c["index"]
            spec = c.get("exercise")
            if i in failures:
                f = failures[i]
                ename = "CellTimeout" if f["status"] == "timeout" else "CellCrashed"
                entry = {"index": i, "status": f["status"], "outputs": f["outputs"],
                         "error": {"ename": ename, "evalue": f["message"], "traceback": []}}
                flags.add(f["status"] if f["status"] == "timeout" else "crashed")
                problems.append(f"cell {i}: {f['message']}" + ("" if att.notebook_timeout and f is att.failure
                                                               else "; graded the rest without it"))
                if spec:
                    exercises[str(spec.get("id"))] = {"status": f["status"], "message": f["message"]}
            elif i in att.cells:
                entry = att.cells[i]
                err = entry.get("error") or {}
                if entry["status"] == "timeout":
                    flags.add("timeout")
                    problems.append(f"cell {i}: {err.get('evalue') or 'time limit exceeded'}")
                evalue = str(err.get("evalue", ""))
                if err.get("ename") == "MemoryError" or any(h in evalue for h in _MEMORY_HINTS):
                    flags.add("memory")
                    problems.append(f"cell {i}: ran out of memory (limit {limits.memory_mb} MB)")
                if entry.pop("output_limit", False):
                    flags.add("output-limit")
                if spec:
                    exercises[str(spec.get("id"))] = att.exercises.get(str(spec.get("id")), {
                        "status": "error", "message": "the collector reported nothing for this exercise"})
            else:
                why = ("the notebook's wall-clock limit was reached before this cell" if att.notebook_timeout
                       else att.harness_failure or "not reached")
                entry = {"index": i, "status": "skipped", "error": None, "outputs": []}
                if spec:
                    exercises[str(spec.get("id"))] = {
                        "status": "timeout" if att.notebook_timeout else "crashed", "message": why}
            entry.pop("output_limit", None)
            cells.append(entry)
        if att.fd_output_limited:
            flags.add("output-limit")
        if "output-limit" in flags:
            problems.append(f"output was cut at the limit of {limits.output_bytes} bytes")
        if att.notebook_timeout:
            flags.add("timeout")
            problems.append(f"the notebook's wall-clock limit of {limits.notebook_wall_seconds:g} s was "
                            "reached")
        if att.harness_failure:
            flags.add("crashed")
            problems.append(att.harness_failure)
        status = next((s for s in RUN_STATUS_ORDER if s in flags), "ok")
        return {"job_id": job.get("job_id"), "status": status, "message": "; ".join(problems),
                "sandbox": self.mode, "seconds": round(seconds, 3), "cells": cells, "exercises": exercises}


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
    import autodiff_course  # noqa: F401

    try:
        import autodiff_course.checks  # noqa: F401
    except ImportError:
        pass
    shell = harness.make_shell()
    return shell, _resolve_collector(collector_path)


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


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
    ap.add_argument("--tmp-dir", default=tempfile.gettempdir())
    ap.add_argument("--disk-mb", type=int, default=256)
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)

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
    warnings = []
    shell, collector = _warm_up(args.collector)
    if args.sandbox == "none":
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        expose = [sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix, here, *args.python_path]
        warnings += sandbox.isolate_fallback(args.hide, expose, private_tmp=args.tmp_dir,
                                             tmp_bytes=args.disk_mb * 1024 * 1024)
    if uid is not None:
        sandbox.kill_uid_processes(uid)
    footprint = _vm_size()
    worker = Worker(uid=uid, gid=gid if uid is not None else None, mode=args.sandbox, collector=collector,
                    shell=shell, tmp_dir=args.tmp_dir, footprint_bytes=footprint)
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
            result = {"job_id": job.get("job_id") if isinstance(job, dict) else None, "status": "crashed",
                      "message": f"the grading worker failed: {type(exc).__name__}: {exc}",
                      "sandbox": args.sandbox, "seconds": 0.0, "cells": [], "exercises": {}}
        harness.write_frame(proto_out, result)
    # Nothing to flush or save: skip the interpreter's (slow, torch- and IPython-laden) shutdown.
    os._exit(0)


if __name__ == "__main__":
    main()
