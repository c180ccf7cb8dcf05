"""A pool of pre-warmed, sandboxed workers that grade untrusted notebooks in parallel (stable API).

Usage::

    from autodiff_course.grading.pool import WorkerPool
    from autodiff_course.grading.limits import Limits

    with WorkerPool(jobs=2, sandbox="auto", limits=Limits()) as pool:
        run = pool.run(job)            # blocking and thread-safe
        for run in pool.map(jobs):     # runs in the order they finish
            ...

A **job** is a dict::

    {"job_id": str,
     "cells": [{"index": int, "cell_type": "code", "source": str,
                "exercise": spec-dict or None}],          # exercise set: a test cell, collected not executed
     "files": {relative_name: base64 str}}                # the only files the notebook can see

Test cells (``exercise`` set) are not executed: ``collect(spec, user_ns)`` of the collector (default
``autodiff_course.checks.collect``) is called in the sandboxed child and its JSON-safe dict is returned raw.
Non-code cells are ignored. Code cells run in a fresh IPython ``InteractiveShell`` (magics work, matplotlib
uses a non-GUI backend, ``display()`` works).

A **run** is a dict::

    {"job_id": str,
     "status": "ok" | "crashed" | "timeout" | "memory" | "output-limit" | "killed",
     "message": str,                 # what went wrong, naming the cells; "" when status is "ok"
     "sandbox": "bwrap" | "none",
     "seconds": float,               # wall time of the whole grading, re-runs included
     "cells": [{"index": int,
                "status": "ok" | "error" | "timeout" | "skipped" | "crashed",
                "error": {"ename": str, "evalue": str, "traceback": [str, ...]} or None,
                "outputs": [nbformat output dicts: stream / execute_result / display_data / error]}],
     "exercises": {exercise_id: raw dict from collect
                                or {"status": "error" | "timeout" | "crashed", "message": str}}}

Run status: ``"ok"`` when nothing hit a limit (student exceptions are cell ``"error"`` and leave it ``"ok"``);
otherwise the most severe of ``killed`` (the worker did not answer within the notebook limit plus a margin and
was killed and restarted) > ``crashed`` (a cell ended its process: exit, segfault, ...; or the worker itself
died, then it is restarted and every cell is reported ``crashed``) > ``timeout`` > ``memory`` >
``output-limit``. A cell that crashed or
was killed for time is reported as the cause (``error.ename`` ``"CellCrashed"`` / ``"CellTimeout"``) and the
notebook is re-run without it, so its other exercises still get data; cells never reached are ``"skipped"``.

Everything in a run except ``status``/``sandbox``/``seconds`` comes from the sandbox and is untrusted data:
judge it on the trusted side, never execute or trust it.

Forged frames are possible by design. Student code runs in the same process as the harness, so it can
reach the event channel and write frames of its own. The worker accepts a frame only for this job, in the
order of its cells and in the documented shapes, within byte budgets counted as it reads
(`autodiff_course.grading.worker`); a frame outside that is a protocol violation, charged to the cell that
was running as a crash. A submission that forges frames in the right order therefore gets no further
than claiming answers (an exercise's collected data, a cell's outputs) for its own notebook, which an
honest notebook could produce by computing them. Those answers are judged on the trusted side against the
instructor's reference (`autodiff_course.course.judging`), so a forged claim of being right earns nothing.
Nothing in a frame can name another job, another student or a score. Conversely, everything in a job reaches the memory
of the student's process: put in an exercise spec only what ``collect`` needs (not the judge's reference
expressions or expectations), since a determined submission can read it.

The pool is thread-safe for `run`/`map`; call `close` (or leave the ``with`` block) after they return.

Errors: `WorkerPool` raises `autodiff_course.grading.sandbox.SandboxUnavailable` for ``sandbox="bwrap"``
where bwrap cannot run (and for ``"none"``, or ``"auto"`` without bwrap, unless ``allow_unsandboxed``),
``ValueError`` for a malformed job (naming the job and cell), ``RuntimeError`` when a worker cannot start
(with its stderr). Where allowed, ``sandbox="auto"`` falls back to ``"none"`` with one
`autodiff_course.grading.sandbox.SandboxWarning`.
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autodiff_course.grading import sandbox, wire
from autodiff_course.grading.limits import Limits
from autodiff_course.grading.records import RunResult
from autodiff_course.grading.worker import WORKER_PATHS_ENV, safe_relative_path

__all__ = ["WorkerPool", "DEFAULT_COLLECTOR", "validate_job"]

DEFAULT_COLLECTOR = "autodiff_course.checks:collect"

# Where the worker finds compiled modules under bwrap as root (sandbox.overlay_launch): the folders it shows
# have no __pycache__, so the worker's first step, before any import of the package, maps each module of the
# sandbox's folders (/opt/...) to its compiled file below that folder, which only root may enter. A child that
# has dropped to the submission's uid cannot read there: what it imports afterwards is compiled from source.
COMPILED_ENV = "AUTODIFF_COURSE_COMPILED"
WORKER_BOOT = (
    "import os, importlib._bootstrap_external as _b\n"
    f"_c = os.environ.pop('{COMPILED_ENV}', '')\n"
    "if _c:\n"
    "    _b.cache_from_source = lambda p, *a, _c=_c, _f=_b.cache_from_source, **k: ("
    "(_c if p.startswith('/opt/') and not p.startswith(_c) else '') + _f(p, *a, **k))\n"
    "del _b, _c\n"
)
# The pool's own deadline for a reply, beyond the worker's notebook limit: cleanup and re-runs need a margin.
REPLY_MARGIN_SECONDS = 30.0


def validate_job(job) -> None:
    """Raise ValueError naming the job (and cell) when `job` does not follow the documented format."""
    if not isinstance(job, dict):
        raise ValueError(f"a job must be a dict, got {type(job).__name__}")
    jid = job.get("job_id")
    if not isinstance(jid, str) or not jid:
        raise ValueError(f"job_id must be a non-empty str, got {jid!r}")
    cells = job.get("cells")
    if not isinstance(cells, list):
        raise ValueError(f"job {jid!r}: cells must be a list")
    seen = set()
    for pos, c in enumerate(cells):
        where = f"job {jid!r}, cell {pos}"
        if not isinstance(c, dict) or not isinstance(c.get("index"), int) or isinstance(c.get("index"), bool):
            raise ValueError(f"{where}: each cell must be a dict with an int 'index'")
        if c["index"] in seen:
            raise ValueError(f"{where}: duplicate cell index {c['index']}")
        seen.add(c["index"])
        if not isinstance(c.get("source", ""), str):
            raise ValueError(f"{where}: source must be a str")
        ex = c.get("exercise")
        if ex is not None and not (isinstance(ex, dict) and isinstance(ex.get("id"), str)):
            raise ValueError(f"{where}: exercise must be None or a spec dict with a str 'id'")
    files = job.get("files") or {}
    if not isinstance(files, dict):
        raise ValueError(f"job {jid!r}: files must be a dict of relative name -> base64 str")
    for name, b64 in files.items():
        try:
            safe_relative_path(name)
        except ValueError as exc:
            raise ValueError(f"job {jid!r}: {exc}") from None
        try:
            base64.b64decode(b64, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ValueError(f"job {jid!r}: file {name!r} is not valid base64") from None


class _WorkerDied(Exception):
    pass


class _Spawner:
    """Starts every worker process from one thread that lives as long as the pool.

    The parent-death signal (bwrap's --die-with-parent, the fallback worker's PR_SET_PDEATHSIG) fires when the
    *thread* that forked the process exits: a worker started from a short-lived thread would die with it.
    """

    def __init__(self):
        self._requests: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="grading-spawner", daemon=True)
        self._thread.start()

    def _loop(self):
        while True:
            item = self._requests.get()
            if item is None:
                return
            args, kwargs, box, done = item
            try:
                box.append(subprocess.Popen(*args, **kwargs))
            except BaseException as exc:
                box.append(exc)
            done.set()

    def popen(self, *args, **kwargs) -> subprocess.Popen:
        box: list = []
        done = threading.Event()
        self._requests.put((args, kwargs, box, done))
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def stop(self):
        self._requests.put(None)


class _Worker:
    """One worker process (a bwrap sandbox or a plain process) and the pipes to it."""

    def __init__(self, pool: WorkerPool, slot: int, uid: int):
        self.pool, self.slot, self.uid = pool, slot, uid
        self.proc: subprocess.Popen | None = None
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=60)
        self.tmp_dir: str | None = None
        self.warnings: list[str] = []

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float) -> None:
        pool = self.pool
        package_parent = str(Path(__file__).resolve().parent.parent.parent)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONNOUSERSITE": "1", "PYTHONPATH": os.pathsep.join([package_parent, *pool.python_path])}
        argv = [sys.executable, "-c", WORKER_BOOT + "from autodiff_course.grading.worker import main; main()",
                "--uid", str(self.uid), "--gid", str(self.uid), "--sandbox", pool.mode,
                "--collector", pool.collector]
        # Folders go in the environment, which the worker removes before any job: every process may read a
        # process's command line, and the worker's is its children's (they are forked from it).
        paths = []
        for p in pool.python_path:
            paths += ["--python-path", p]
        # Module names, not folders: what the released notebooks import, which students see anyway.
        for m in pool.preload:
            argv += ["--preload", m]
        pass_fds: tuple[int, ...] = ()
        if pool.mode == "bwrap":
            # Inside, every folder is a neutral one (/opt/...): the interpreter, its path, the environment,
            # module files and tracebacks name no folder of this machine (see sandbox.SandboxLayout).
            layout = sandbox.neutral_layout(pool.python_path)
            env.update(layout.env, HOME="/tmp", PYTHONPATH=layout.package_parent)
            argv[0] = layout.executable
            paths = [a for p in layout.python_path for a in ("--python-path", p)]
            argv += ["--tmp-dir", "/tmp"]
            # As root, the folders are overlay mounts, so that the mount table does not name them either.
            overlays = os.geteuid() == 0
            if overlays:  # the worker loads compiled modules from where only root may read them
                env[COMPILED_ENV] = sandbox.NEUTRAL_COMPILED
            # In the worker's environment only, not in bwrap's (pid 1 of the sandbox).
            cmd, data_fds = sandbox.bwrap_command(argv, env={**env, WORKER_PATHS_ENV: json.dumps(paths)},
                                                  layout=layout, stage=sandbox.OVERLAY_STAGE if overlays else None,
                                                  tmp_bytes=pool.limits.disk_mb * 1024 * 1024)
            cmd, args_fd = sandbox.args_through_fd(cmd)
            pass_fds = (args_fd, *data_fds)
            if overlays:
                cmd, spec_fd = sandbox.overlay_launch(cmd, layout)
                pass_fds += (spec_fd,)
            # bwrap's own environment names nothing: its processes' environments are set by its options.
            env, cwd = {"PATH": env["PATH"], "LANG": "C.UTF-8"}, "/"
        else:
            self.tmp_dir = tempfile.mkdtemp(prefix=f"autodiff-grading-{self.slot}-")
            os.chmod(self.tmp_dir, 0o711)
            env["HOME"] = self.tmp_dir
            argv += ["--tmp-dir", self.tmp_dir, "--disk-mb", str(pool.limits.disk_mb)]
            for h in pool.hidden_paths:
                paths += ["--hide", h]
            env[WORKER_PATHS_ENV] = json.dumps(paths)
            cmd, cwd = argv, self.tmp_dir
        try:
            self.proc = pool._spawner.popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, env=env, cwd=cwd, start_new_session=True,
                                            close_fds=True, pass_fds=pass_fds)
        finally:
            for fd in pass_fds:
                os.close(fd)
        self._stderr_thread = threading.Thread(target=self._drain_stderr, args=(self.proc,), daemon=True)
        self._stderr_thread.start()
        ready = self._read_frame(time.monotonic() + timeout)
        if not (isinstance(ready, dict) and ready.get("ready")):
            raise _WorkerDied(f"unexpected first frame {ready!r}")
        self.warnings = list(ready.get("warnings") or [])

    def _drain_stderr(self, proc: subprocess.Popen) -> None:
        for line in iter(proc.stderr.readline, b""):
            self.stderr_tail.append(line.decode("utf-8", "replace").rstrip())

    def _read_frame(self, deadline: float):
        fd = self.proc.stdout.fileno()
        # The worker only sends what it accepted within the job's budgets; this bounds its reply anyway.
        lim = self.pool.limits
        reader = wire.FrameReader(2 * (int(lim.output_bytes) + int(lim.exercise_bytes)) + (64 << 20))
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from the grading worker in time")
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            data = os.read(fd, 1 << 20)
            if not data:
                raise _WorkerDied("the grading worker exited")
            try:
                frames = reader.feed(data)
            except wire.ProtocolError as exc:
                raise _WorkerDied(f"the grading worker's reply is malformed ({exc})") from None
            if frames:
                return frames[0]

    def request(self, job: dict, timeout: float) -> dict:
        try:
            self.proc.stdin.write(wire.encode_frame(job))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _WorkerDied(f"cannot send the job to the grading worker: {exc}") from None
        return self._read_frame(time.monotonic() + timeout)

    def stop(self, kill: bool = False) -> None:
        proc = self.proc
        if proc is None:
            return
        if not kill:
            try:
                proc.stdin.close()
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                kill = True
        if kill or proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        # bwrap's pid namespace dies with the worker; without bwrap, the slot uid's processes are ended here.
        if os.geteuid() == 0:
            sandbox.kill_uid_processes(self.uid)
            # Children of a killed worker are re-parented to init, which reaps them in its own time: wait
            # (briefly) until not even a zombie of the uid is left, so the next worker starts from nothing.
            give_up = time.monotonic() + 5
            while sandbox.processes_of_uid(self.uid, zombies=True) and time.monotonic() < give_up:
                sandbox.kill_uid_processes(self.uid)
                time.sleep(0.02)
        if self.tmp_dir:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None
        self.proc = None


class WorkerPool:
    """`jobs` pre-warmed sandboxed workers; see the module docstring for the job and run formats.

    Parameters (keyword-only after `jobs`):
    - `jobs`: number of workers, default ``os.cpu_count()``.
    - `sandbox`: ``"auto"`` (bwrap when it works, else ``"none"`` with a SandboxWarning), ``"bwrap"`` or
      ``"none"``; grading without bwrap needs `allow_unsandboxed` (else SandboxUnavailable).
    - `limits`: `Limits` applied to every job.
    - `collector`: ``"module:function"`` called for test cells, default ``autodiff_course.checks:collect``.
    - `python_path`: extra directories (read-only in the sandbox) appended to the workers' ``sys.path``.
    - `preload`: modules (``"module"`` or ``"module:name"``) the warm worker imports before any job, so no
      child pays for them: the ones the course's notebooks import (`worker.preload`; failures are ignored).
    - `hidden_paths`: for ``sandbox="none"``, folders to cover in the workers' mount namespace (the course,
      the gradebook, the output folder); the repo's notebooks/, graders/, examples/ are always added. Under
      bwrap nothing outside the interpreter and the package is visible anyway.
    """

    def __init__(self, jobs: int | None = None, *, sandbox: str = "auto", limits: Limits | None = None,
                 collector: str = DEFAULT_COLLECTOR, python_path=(), hidden_paths=(), preload=(),
                 startup_timeout: float = 120.0, allow_unsandboxed: bool = False):
        self.jobs = int(jobs or os.cpu_count() or 1)
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        self.requested_sandbox = sandbox
        self.allow_unsandboxed = allow_unsandboxed
        self.limits = limits or Limits()
        self.collector = collector
        self.python_path = [str(Path(p).resolve()) for p in python_path]
        self.preload = [str(m) for m in preload]
        self.hidden_paths = [str(Path(p).resolve()) for p in (*sandbox_default_hidden(), *hidden_paths)]
        self.startup_timeout = startup_timeout
        self.mode: str | None = None
        self.warnings: list[str] = []
        self._workers: list[_Worker] = []
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._spawner: _Spawner | None = None

    # -- lifecycle --------------------------------------------------------------------------------------
    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Start every worker (in parallel). Raises SandboxUnavailable or RuntimeError (with the stderr)."""
        if self._workers:
            return
        self.mode, self.warnings = sandbox.resolve_sandbox(self.requested_sandbox, self.allow_unsandboxed)
        self._spawner = _Spawner()
        uids = [sandbox.claim_uid() for _ in range(self.jobs)] if os.geteuid() == 0 else [None] * self.jobs
        self._workers = [_Worker(self, slot, uid if uid is not None else os.getuid())
                         for slot, uid in enumerate(uids)]
        errors: list[str] = []

        def boot(w: _Worker):
            try:
                self._start_worker(w)
            except Exception as exc:
                errors.append(str(exc))

        threads = [threading.Thread(target=boot, args=(w,)) for w in self._workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            self.close()
            raise RuntimeError("grading worker failed to start: " + errors[0])
        for w in self._workers:
            self.warnings += [m for m in w.warnings if m not in self.warnings]
            self._idle.put(w)
        sandbox.warn_once(self.warnings)

    def _start_worker(self, w: _Worker) -> None:
        try:
            w.start(self.startup_timeout)
        except (_WorkerDied, TimeoutError, OSError) as exc:
            tail = "\n".join(list(w.stderr_tail)[-20:])
            w.stop(kill=True)
            raise RuntimeError(f"worker {w.slot} ({self.mode}) did not become ready: {exc}\n{tail}") from None

    def close(self) -> None:
        """Stop every worker and end every process of their uids. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for w in self._workers:
            w.stop()
            if w.uid != os.getuid():
                sandbox.release_uid(w.uid)
        if self._spawner is not None:
            self._spawner.stop()

    @property
    def uids(self) -> list[int]:
        """The unprivileged uid of each worker slot (what submissions run as)."""
        return [w.uid for w in self._workers]

    @property
    def worker_pids(self) -> list[int | None]:
        """Host pids of the worker processes (the bwrap process under bwrap)."""
        return [w.pid for w in self._workers]

    # -- grading ----------------------------------------------------------------------------------------
    def run(self, job: dict) -> dict:
        """Grade one job in a fresh sandboxed child; blocks until done. Thread-safe.

        Raises ValueError for a malformed job and RuntimeError when the pool is closed; every failure of
        the submission or the worker is reported in the returned run instead.
        """
        validate_job(job)
        if self._closed or not self._workers:
            raise RuntimeError("the WorkerPool is not started or already closed (use it in a `with` block)")
        payload = dict(job, limits=self.limits.to_dict())
        w = self._idle.get()
        started = time.monotonic()
        try:
            if w.proc is None or w.proc.poll() is not None:
                # It died while idle (killed from outside): replace it before it sees this job.
                w.stop(kill=True)
                self._start_worker(w)
            try:
                return w.request(payload, self.limits.notebook_wall_seconds + REPLY_MARGIN_SECONDS)
            except (_WorkerDied, TimeoutError) as exc:
                timed_out = isinstance(exc, TimeoutError)
                w.stop(kill=True)
                w._stderr_thread.join(timeout=2)  # its last words say why it died
                detail = "\n".join(list(w.stderr_tail)[-5:])
                self._start_worker(w)
                what = "did not answer in time" if timed_out else "died"
                message = f"the grading worker {what} ({exc}); it was restarted. {detail}".strip()
                return self._failed_run(job, "killed" if timed_out else "crashed", message,
                                        time.monotonic() - started)
        finally:
            self._idle.put(w)

    def map(self, jobs):
        """Grade `jobs` over all workers; yields each run as it finishes (not in input order)."""
        jobs = list(jobs)
        for j in jobs:
            validate_job(j)
        with ThreadPoolExecutor(max_workers=self.jobs) as ex:
            futures = [ex.submit(self.run, j) for j in jobs]
            for fut in as_completed(futures):
                yield fut.result()

    def _failed_run(self, job: dict, status: str, message: str, seconds: float) -> dict:
        return RunResult.failed(job, status, message, self.mode, seconds).to_dict()


def sandbox_default_hidden():
    return [str(p) for p in sandbox.default_hidden_paths()]
