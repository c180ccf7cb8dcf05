"""What runs inside the forked child that executes one untrusted notebook, and the wire format it speaks.

Everything here except the framing helpers runs *with student code in the same process*, so nothing it
produces is trusted: it only reports raw plain data (cell outputs, errors, what the collector returned) as
length-prefixed JSON frames on a pipe. The worker (`autodiff_course.grading.worker`) watches the frames with
deadlines and decides statuses; the batch runner judges the data where no student code ever ran.

Events the child sends, in order:
``{"event": "start", "index": i}`` before each cell it runs, then either
``{"event": "cell", "index": i, "status": "ok"|"error"|"timeout", "error": {...}|None, "outputs": [...],
"output_limit": bool}`` for a code cell, or additionally ``{"event": "exercise", "index": i, "id": str,
"data": dict}`` before the cell event of a test cell; finally ``{"event": "done"}``. That is phase 1, the only
one whose frames reach the graded notebook.

The exercise of a test cell with a hidden part (``checks.collect.HIDDEN_FIELDS``: its hidden and random test
points) reaches the notebook's process without it, so the student's function runs there at the visible (and
the fresh) points only. After the visible points the harness forks (`_collect_later`): the fork waits on a
pipe of its own (fd ``4 + k``, the ``release`` map of the job) that only the worker writes to, and the
exercise event carries ``"fork": pid | None``. Once every cell has run and the notebook's process has exited
(phase 2), the worker releases the forks one at a time: each reads the hidden part, collects it in the state
the visible points left (what one collect at every point would see), sends one ``{"event": "hidden",
"index": i, "id": str, "data": dict}`` and exits; what it prints goes to /dev/null. So no later cell ever runs
in a process that has seen a hidden point, and nothing a fork does reaches a cell.

Code cells run through a real IPython `InteractiveShell` (magics such as ``%matplotlib inline`` work,
``display()`` works) whose displays, results, errors and Python-level stdout/stderr are captured per cell as
nbformat output dicts within a byte budget. Test cells are not executed: the collector
(``autodiff_course.checks.collect`` unless another is injected) is called with the exercise spec and the
shell's user namespace; it is looked up once in the warm worker, before any student code, so a cell that
reassigns ``autodiff_course.checks.collect`` does not change what is called.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import signal
import sys
import time
import warnings

from autodiff_course.checks.collect import needs_hidden, rest_spec, visible_spec, with_fresh
from autodiff_course.grading.wire import FrameReader, ProtocolError, canonical_size, encode_frame, write_frame

__all__ = [
    "CellTimeout",
    "OutputLimitExceeded",
    "ProtocolError",
    "FrameReader",
    "write_frame",
    "encode_frame",
    "make_shell",
    "run_job",
]

# Written to fds 1 and 2 after each cell, so the worker can tell which cell wrote what at the fd level.
CELL_END = re.compile(rb"\x00\x1eADC-CELL-END (\d{1,9})\x1e\x00")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TRACEBACK_LINES = 40
TRACEBACK_LINE_CHARS = 400
EVALUE_CHARS = 2000
ENAME_CHARS = 200


class CellTimeout(BaseException):
    """Raised into a running cell when its wall-clock or CPU time runs out (a BaseException, so a student's
    ``except Exception`` does not swallow it)."""


class OutputLimitExceeded(BaseException):
    """Raised into the code that writes past the notebook's output budget."""


# ---------------------------------------------------------------------------------------------------------
# Output capture


class _Capture:
    """Outputs of one cell, charged against the notebook-wide byte budget."""

    def __init__(self, budget: _Budget):
        self.budget = budget
        self.outputs: list[dict] = []
        self.limited = False

    def _charge(self, n: int) -> bool:
        if self.budget.take(n):
            return True
        if not self.limited:
            self.limited = True
            self.outputs.append({"output_type": "stream", "name": "stderr",
                                 "text": f"[output truncated: the notebook's output limit of "
                                         f"{self.budget.total} bytes was reached]\n"})
        if not self.budget.raised:
            # Stop the flooding code once; later output of any cell is dropped silently, so honest cells
            # after a flood still run to the end.
            self.budget.raised = True
            raise OutputLimitExceeded(f"output limit of {self.budget.total} bytes exceeded")
        return False

    def stream(self, name: str, text: str) -> None:
        if not text:
            return
        # Charged in canonical bytes, as the worker counts them: re-encoding cannot make it grow.
        if not self._charge(canonical_size(text)):
            return
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name and not self.limited:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def rich(self, output_type: str, data: dict, metadata: dict | None, count: int | None = None) -> None:
        data = {str(k): v if isinstance(v, str) else _jsonable(v) for k, v in (data or {}).items()}
        size = sum(canonical_size(v) for v in data.values())
        if not self._charge(size):
            return
        out = {"output_type": output_type, "data": data, "metadata": _jsonable(metadata or {})}
        if output_type == "execute_result":
            out["execution_count"] = count
        self.outputs.append(out)

    def error(self, ename: str, evalue: str, stb: list[str]) -> dict:
        err = {"ename": ename[:ENAME_CHARS], "evalue": evalue[:EVALUE_CHARS], "traceback": short_traceback(stb)}
        self.outputs.append({"output_type": "error", **err})
        return err


class _Budget:
    def __init__(self, total: int):
        self.total = total
        self.used = 0
        self.raised = False

    def take(self, n: int) -> bool:
        if self.used + n > self.total:
            self.used = self.total
            return False
        self.used += n
        return True


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)[:EVALUE_CHARS]


def short_traceback(stb: list[str]) -> list[str]:
    """ANSI-free traceback lines, at most TRACEBACK_LINES (first 5 and the last ones), each cut short."""
    lines = []
    for chunk in stb or []:
        lines.extend(_ANSI.sub("", str(chunk)).splitlines())
    lines = [ln[:TRACEBACK_LINE_CHARS] for ln in lines]
    if len(lines) > TRACEBACK_LINES:
        lines = lines[:5] + ["..."] + lines[-(TRACEBACK_LINES - 6):]
    return lines


_current: dict = {"capture": None}


def _capture() -> _Capture | None:
    return _current["capture"]


class _Stream(io.TextIOBase):
    """sys.stdout / sys.stderr of the child: text goes into the current cell's outputs, within budget."""

    def __init__(self, name: str, fd: int):
        self.name_ = name
        self._fd = fd

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._fd

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        cap = _capture()
        if cap is not None:
            cap.stream(self.name_, s)
        return len(s)

    def flush(self):
        pass


def make_shell():
    """The warm IPython shell the worker creates once; each forked child inherits a pristine copy."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets import Type
    from traitlets.config import Config

    class _Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            cap = _capture()
            if cap is not None:
                cap.rich("display_data", data, metadata)

        def clear_output(self, wait=False):
            cap = _capture()
            if cap is not None:
                cap.outputs.clear()

    class _Hook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            cap = _capture()
            if cap is not None:
                cap.rich("execute_result", format_dict, md_dict, self.prompt_count)

        def finish_displayhook(self):
            self._is_active = False

    class GradingShell(InteractiveShell):
        displayhook_class = Type(_Hook)
        display_pub_class = Type(_Publisher)

        def enable_gui(self, gui=None):
            # No GUI event loop in the sandbox: `%matplotlib inline` (and friends) only need this to exist.
            pass

        def _showtraceback(self, etype, evalue, stb):
            cap = _capture()
            if cap is not None:
                cap.last_error = cap.error(getattr(etype, "__name__", str(etype)), str(evalue), stb)

    cfg = Config()
    cfg.HistoryManager.enabled = False
    cfg.InteractiveShell.colors = "nocolor"
    cfg.InteractiveShell.xmode = "Plain"  # short, and cheap to format under memory pressure
    shell = GradingShell.instance(config=cfg)
    return shell


# ---------------------------------------------------------------------------------------------------------
# Running a job in the child


def _on_timeout(signum, frame):
    kind = "CPU" if signum == signal.SIGXCPU else "wall-clock"
    raise CellTimeout(f"the cell exceeded its {kind} time limit")


def _set_cpu_soft(seconds: float | None) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if seconds is None:
        soft = hard
    else:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        soft = int(ru.ru_utime + ru.ru_stime + seconds) + 1
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ValueError, OSError):
        pass


def _run_code_cell(shell, cell: dict, limits: dict, budget: _Budget) -> dict:
    cap = _Capture(budget)
    cap.last_error = None
    _current["capture"] = cap
    sys.stdout, sys.stderr = _Stream("stdout", 1), _Stream("stderr", 2)
    signal.signal(signal.SIGALRM, _on_timeout)
    signal.signal(signal.SIGXCPU, _on_timeout)
    status, error = "ok", None
    try:
        _set_cpu_soft(limits["cell_cpu_seconds"])
        signal.setitimer(signal.ITIMER_REAL, limits["cell_wall_seconds"])
        result = shell.run_cell(cell["source"], store_history=True)
        signal.setitimer(signal.ITIMER_REAL, 0)
        exc = result.error_before_exec or result.error_in_exec
    except BaseException as e:  # raised outside IPython's own handler (e.g. in a post-execute hook)
        signal.setitimer(signal.ITIMER_REAL, 0)
        exc = e
        cap.last_error = cap.error(type(e).__name__, str(e), [])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _set_cpu_soft(None)
    if exc is not None:
        status = "timeout" if isinstance(exc, CellTimeout) else "error"
        error = cap.last_error or cap.error(type(exc).__name__, str(exc), [])
    _current["capture"] = None
    return {"status": status, "error": error, "outputs": cap.outputs, "output_limit": cap.limited}


def _collect(collector, spec: dict, namespace: dict) -> tuple[str, dict | None, dict]:
    """(status, error, data) of one collector call; the collector's own failure is data, never raised."""
    try:
        data = collector(spec, namespace)
        json.dumps(data)
        if not isinstance(data, dict):
            raise TypeError(f"the collector returned {type(data).__name__}, not a dict")
    except CellTimeout as exc:
        return "timeout", None, {"status": "timeout", "message": str(exc)}
    except BaseException as exc:
        return "error", {"ename": type(exc).__name__, "evalue": str(exc)[:EVALUE_CHARS], "traceback": []}, {
            "status": "error", "message": f"collecting exercise {spec.get('id')!r} failed: "
                                          f"{type(exc).__name__}: {str(exc)[:EVALUE_CHARS]}"}
    return "ok", None, data


def _run_exercise_cell(shell, cell: dict, collector, budget: _Budget, release: dict, events_fd: int
                       ) -> tuple[dict, dict, int | None]:
    """Collect the exercise of a test cell. With a release fd for it (it has hidden points): at its visible
    points, then fork the paused process that collects the hidden ones (`_collect_later`), then at its fresh
    points. (data, cell result, the fork's pid or None)."""
    spec = cell["exercise"]
    fd = release.pop(cell["index"], None)
    cap = _Capture(budget)
    cap.last_error = None
    _current["capture"] = cap
    sys.stdout, sys.stderr = _Stream("stdout", 1), _Stream("stderr", 2)
    # No alarm of ours here: the collector enforces its own per-check limit with signals.
    signal.signal(signal.SIGXCPU, _on_timeout)
    started = time.monotonic()
    status, error, data = _collect(collector, spec if fd is None else visible_spec(spec), shell.user_ns)
    seconds = time.monotonic() - started
    fork = None
    if fd is not None:
        if status == "ok" and needs_hidden(data):
            try:
                with warnings.catch_warnings():
                    # Python 3.12+ warns of fork() in a threaded process: not the student's output.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    fork = os.fork()
            except OSError:
                fork = None  # the worker reports the exercise's hidden points as not checked
            if fork == 0:
                _collect_later(shell, cell, collector, fd, release, seconds, events_fd)
            if spec.get("fresh_points"):
                data = with_fresh(data, _collect(collector, rest_spec(spec, seconds), shell.user_ns)[2])
        os.close(fd)
    _current["capture"] = None
    cell_result = {"status": status, "error": error, "outputs": cap.outputs, "output_limit": cap.limited}
    return data, cell_result, fork


def _collect_later(shell, cell: dict, collector, fd: int, release: dict, seconds: float, events_fd: int):
    """In the fork of a test cell: wait on `fd` until the worker sends the exercise's hidden part (once every
    cell of the notebook has run and its outputs are final), collect it in the state the visible points left,
    send only the data (a ``hidden`` event) and exit. What it prints goes nowhere. Never returns."""
    try:
        for other in release.values():
            os.close(other)
        _current["capture"] = None
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        os.close(quiet)
        hidden = _read_frame(fd)
        if isinstance(hidden, dict):
            spec = rest_spec(cell["exercise"], seconds, hidden)
            _status, _error, data = _collect(collector, spec, shell.user_ns)
            write_frame(events_fd, {"event": "hidden", "index": cell["index"],
                                    "id": str(cell["exercise"].get("id")), "data": data})
    finally:
        os._exit(0)


def _read_frame(fd: int, limit: int = 1 << 26):
    """The one frame the worker writes on a pipe, or None when it closes it without one."""
    reader = FrameReader(limit)
    while True:
        data = os.read(fd, 1 << 16)
        if not data:
            return None
        frames = reader.feed(data)
        if frames:
            return frames[0]


def run_job(shell, job: dict, skip: set, limits: dict, events_fd: int, collector, release=None) -> None:
    """Run the cells of `job` (except indices in `skip`) in `shell`, reporting events on `events_fd`.

    `release` maps the index of a test cell whose exercise has a hidden part to the fd its fork waits on."""
    budget = _Budget(int(limits["output_bytes"]))
    release = dict(release or {})
    for cell in job["cells"]:
        index = cell["index"]
        if cell.get("cell_type", "code") != "code" or index in skip:
            continue
        write_frame(events_fd, {"event": "start", "index": index})
        if cell.get("exercise"):
            forks = index in release
            data, result, fork = _run_exercise_cell(shell, cell, collector, budget, release, events_fd)
            event = {"event": "exercise", "index": index, "id": str(cell["exercise"].get("id")), "data": data}
            if forks:
                event["fork"] = fork
            write_frame(events_fd, event)
        else:
            result = _run_code_cell(shell, cell, limits, budget)
        mark = b"\x00\x1eADC-CELL-END %d\x1e\x00" % index
        for fd in (1, 2):
            try:
                os.write(fd, mark)
            except OSError:
                pass  # the student closed it: their fd-level output is lost, the grading goes on
        write_frame(events_fd, {"event": "cell", "index": index, **result})
    write_frame(events_fd, {"event": "done"})
