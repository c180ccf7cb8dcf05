"""The hostile corpus: notebooks (built with nbformat) whose one bad cell attacks the grader.

Every hostile notebook is the honest notebook with one cell inserted between its exercises, so a test can
check that the honest exercises around the attack still yield exactly the data they yield alone. Each attack
is bounded so that it is safe for the machine even if the sandbox failed: at most 200 forks, at most 1.2 GB
of allocations, loops stopped by short time limits, daemons that sleep (never spin) and die within minutes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autodiff_course.grading.limits import Limits

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
COLLECTOR = "sandbox_collector:collect"

# Small limits keep every attack short and cheap (see each case).
TEST_LIMITS = Limits(cell_wall_seconds=2, cell_cpu_seconds=2, notebook_wall_seconds=25,
                     exercise_wall_seconds=5, memory_mb=300, max_processes=16, output_bytes=20_000,
                     disk_mb=64, kill_grace_seconds=1)

DATA_CSV = b"1.0,2.0\n3.0,4.0\n"


def _grade(grade_id, spec, points=1):
    return {"nbgrader": {"grade": True, "solution": False, "locked": True, "grade_id": grade_id,
                         "points": points, "schema_version": 3}, "exercise": spec}


def honest_notebook(hostile_source: str | None = None):
    """The honest notebook; with `hostile_source`, that cell is inserted as cell 4 (between the exercises)."""
    cells = [
        new_markdown_cell("# Honest work"),
        new_code_cell("import numpy as np\nx = np.loadtxt('data.csv', delimiter=',')\n"
                      "print('loaded', x.shape)"),
        new_code_cell("def f(v):\n    return v * 2 + 1"),
        new_code_cell("", metadata=_grade("ex_x", {"id": "ex_x", "kind": "variables", "variables": ["x"]})),
        new_code_cell("y = f(x)\ny.sum()"),
        new_code_cell("", metadata=_grade("ex_y", {"id": "ex_y", "kind": "variables", "variables": ["y"]})),
        new_code_cell("", metadata=_grade("ex_f", {"id": "ex_f", "kind": "call", "function": "f",
                                                   "args": [3]})),
    ]
    if hostile_source is not None:
        cells.insert(4, new_code_cell(hostile_source))
    nb = new_notebook(cells=cells)
    nbformat.validate(nb)
    return nb


HOSTILE_INDEX = 4


def notebook_to_job(nb, job_id: str, files: dict[str, bytes] | None = None) -> dict:
    """The job the batch runner would send: code cells in order, test cells carrying their exercise spec."""
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cells.append({"index": index, "cell_type": "code", "source": cell.source,
                      "exercise": cell.metadata.get("exercise")})
    all_files = {"data.csv": DATA_CSV, **(files or {})}
    return {"job_id": job_id, "cells": cells,
            "files": {name: base64.b64encode(data).decode() for name, data in all_files.items()}}


def comparable(run: dict) -> dict:
    """A run without what legitimately varies between two gradings (timing, job id)."""
    return {k: v for k, v in run.items() if k not in ("seconds", "job_id")}


def hash_tree(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` plus each entry's mode: any change outside the sandbox shows."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            st = p.lstat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            out[str(p.relative_to(root))] = f"{oct(st.st_mode)}:{digest}"
    return out


def outputs_text(cell: dict) -> str:
    parts = []
    for o in cell["outputs"]:
        if o["output_type"] == "stream":
            parts.append(o["text"])
        elif o["output_type"] == "error":
            parts.append(f"{o['ename']}: {o['evalue']}")
        else:
            parts.append(str(o.get("data", {}).get("text/plain", "")))
    return "".join(parts)


@dataclass
class Attack:
    name: str
    source: str                      # tokens @COURSE@ @GRADEBOOK@ @REPO@ @PORT@ are filled in by the test
    run_status: str | None           # expected run status (None: any documented status)
    cell_status: str | None          # expected status of the hostile cell (None: any documented status)
    ename: str | None = None         # expected error name of the hostile cell
    files: dict = field(default_factory=dict)
    must_not_print: tuple = ()       # texts that would prove the attack worked
    must_print: tuple = ()           # texts that prove the attack ran and was stopped
    honest_data_intact: bool = True  # False where the attack corrupts the child's own collector (builtins)


def _code(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


# Student code that finds the child's result channel (any pipe it may write besides fds 1 and 2) and writes
# frames of its own to it: `frame(obj)` as the harness would, `raw(bytes)` anything at all.
_WIRE = _code("""
    import json, os, stat, struct
    def _channels():
        out = []
        for name in os.listdir('/proc/self/fd'):
            fd = int(name)
            try:
                st = os.fstat(fd)
            except OSError:
                continue
            if fd > 2 and stat.S_ISFIFO(st.st_mode):
                out.append(fd)
        return out
    def raw(data):
        for fd in _channels():
            try:
                os.write(fd, data)
            except OSError:
                pass
    def frame(obj, ascii=True):
        data = json.dumps(obj, ensure_ascii=ascii).encode('utf-8', 'surrogatepass')
        raw(struct.pack('>I', len(data)) + data)
    """)


def _wire(text: str) -> str:
    return _WIRE + "\n" + _code(text)


ATTACKS = [
    Attack("sys_exit", "import sys\nsys.exit(3)", "ok", "error", "SystemExit"),
    Attack("os_exit", "import os\nos._exit(0)", "crashed", "crashed", "CellCrashed"),
    Attack("segfault", "import ctypes\nctypes.string_at(0)", "crashed", "crashed", "CellCrashed"),
    Attack("kill_self", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "crashed", "crashed",
           "CellCrashed"),
    Attack("kill_parent_and_init", _code("""
        import os, signal
        for pid in (os.getppid(), 1):
            try:
                os.kill(pid, signal.SIGKILL)
                print('KILLED', pid)
            except OSError as e:
                print('refused', pid, type(e).__name__)
        try:
            os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
        except OSError as e:
            print('refused group', type(e).__name__)
        """), "ok", "ok", must_not_print=("KILLED",), must_print=("refused",)),
    Attack("infinite_loop", "while True:\n    pass", "timeout", "timeout", "CellTimeout"),
    Attack("infinite_loop_signals_blocked", _code("""
        import signal
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGXCPU})
        while True:
            pass
        """), "timeout", "timeout", "CellTimeout"),
    Attack("sleep_forever", "import time\ntime.sleep(3600)", "timeout", "timeout", "CellTimeout"),
    # Bounded to 1.2 GB and 0.8 GB, beyond the tests' 300 MB limit.
    Attack("memory_bomb", "hog = []\nfor _ in range(12):\n    hog.append(bytearray(100_000_000))",
           "memory", "error", "MemoryError"),
    Attack("numpy_memory_bomb", "import numpy as np\nbig = np.ones((1000, 1000, 100))", "memory", "error"),
    Attack("print_flood", "while True:\n    print('x' * 1000)", "output-limit", "error",
           "OutputLimitExceeded"),
    Attack("fd_flood", "import os\nfor _ in range(20_000):\n    os.write(1, b'y' * 1000)", "output-limit",
           "ok"),
    Attack("fork_bomb", _code("""
        import os, time
        kids = 0
        for _ in range(200):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(120)
                os._exit(0)
            kids += 1
        print('forked', kids)
        """), "ok", "ok", must_print=("forked",)),
    Attack("daemon", _code("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(300)
                os._exit(0)
            os._exit(0)
        os.wait()
        print('daemon started')
        """), "ok", "ok", must_print=("daemon started",)),
    # A daemon that keeps the output pipes open and floods them for a minute (status depends on how much
    # of it arrives before grading ends, so only "a documented status" is required).
    Attack("flooding_daemon", _code("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                end = time.time() + 60
                while time.time() < end:
                    try:
                        os.write(1, b'z' * 4096)
                    except OSError:
                        pass
                os._exit(0)
            os._exit(0)
        os.wait()
        print('flooding daemon started')
        """), None, "ok", must_print=("flooding daemon started",)),
    Attack("read_instructor_files", _code("""
        import os
        for p in ['@REPO@/graders', '@REPO@/notebooks', '@COURSE@', '@GRADEBOOK@',
                  '@COURSE@/source/assignment/assignment.ipynb', '@REPO@/.git/HEAD', '@REPO@/.git/config',
                  '@REPO@/.git']:
            try:
                data = os.listdir(p) if os.path.isdir(p) else open(p).read()
                print('LEAK', p, data) if data else print('blocked (empty)')
            except OSError as e:
                print('blocked', type(e).__name__)
        """), "ok", "ok", must_not_print=("LEAK", "SECRET"), must_print=("blocked",)),
    Attack("write_gradebook", _code("""
        import os
        for p in ['@GRADEBOOK@', '@COURSE@/outputs/grades.csv', '@COURSE@/new_file']:
            try:
                with open(p, 'w') as fh:
                    fh.write('student,100')
                print('WROTE', p)
            except OSError as e:
                print('blocked', type(e).__name__)
        """), "ok", "ok", must_not_print=("WROTE",), must_print=("blocked",)),
    Attack("litter_shared_folders", _code("""
        import os
        for d in ['/tmp', '/var/tmp', '/dev/shm', '/']:
            try:
                with open(os.path.join(d, 'adc-litter-@PORT@'), 'w') as fh:
                    fh.write('left behind')
                print('WROTE', d)
            except OSError as e:
                print('blocked', type(e).__name__)
        """), "ok", "ok", must_not_print=("WROTE",), must_print=("blocked",)),
    Attack("network", _code("""
        import socket
        try:
            s = socket.create_connection(('127.0.0.1', @PORT@), timeout=3)
            print('CONNECTED')
        except OSError as e:
            print('no network', type(e).__name__)
        """), "ok", "ok", must_not_print=("CONNECTED",), must_print=("no network",)),
    Attack("shadow_package", _code("""
        import autodiff_course, numpy, sandbox_collector
        print('files', autodiff_course.__file__, numpy.__file__, sandbox_collector.__file__)
        """), "ok", "ok",
           files={"autodiff_course.py": b"raise SystemExit('SHADOWED')\n",
                  "autodiff_course/__init__.py": b"raise SystemExit('SHADOWED')\n",
                  "autodiff_course/checks.py": b"def collect(spec, ns):\n    return {'FORGED': True}\n",
                  "sandbox_collector.py": b"def collect(spec, ns):\n    return {'FORGED': True}\n",
                  "numpy.py": b"raise SystemExit('SHADOWED')\n"},
           must_not_print=("SHADOWED", "FORGED", "job-")),
    Attack("patch_collector_and_numpy", _code("""
        import sys, numpy as np, sandbox_collector
        sandbox_collector.collect = lambda spec, ns: {'FORGED': True}
        sys.modules['sandbox_collector'].collect = sandbox_collector.collect
        import autodiff_course
        try:
            import autodiff_course.checks as checks
            checks.collect = sandbox_collector.collect
        except ImportError:
            pass
        np.allclose = lambda *a, **k: True
        np.isclose = lambda *a, **k: True
        print('patched')
        """), "ok", "ok", must_print=("patched",)),
    # Corrupting builtins corrupts whatever runs after it in that child, the collector included: the raw data
    # may be wrong (the trusted side must judge it), but the run ends cleanly and nothing else is affected.
    Attack("patch_builtins", _code("""
        import builtins, json
        builtins.isinstance = lambda *a: True
        builtins.len = lambda *a: 0
        json.dumps = lambda *a, **k: '{}'
        print('patched')
        """), None, None, honest_data_intact=False),
    Attack("host_unix_socket", _code("""
        import socket
        for path in @SOCKETS@:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(path)
                print('CONNECTED', path)
            except OSError as e:
                print('no socket', type(e).__name__)
        """), "ok", "ok", must_not_print=("CONNECTED",), must_print=("no socket",)),
    Attack("user_namespace", _code("""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        for flags in (0x10000000, 0x10000000 | 0x00020000):
            if libc.unshare(flags) == 0:
                print('NEW USER NAMESPACE')
            else:
                print('refused', os.strerror(ctypes.get_errno()))
        import subprocess
        r = subprocess.run(['unshare', '-U', '-r', 'id'], capture_output=True, text=True)
        print('unshare tool', r.returncode, 'uid=0(root)' in r.stdout and 'ROOT IN NAMESPACE' or 'refused')
        """), "ok", "ok", must_not_print=("NEW USER NAMESPACE", "ROOT IN NAMESPACE"), must_print=("refused",)),
    # -- the wire: frames of the student's own on the result channel --------------------------------------
    # Made-up snapshots for exercises that are not running: out of sequence, so this cell is charged with a
    # crash and the notebook is graded again without it (the exercises keep their honest data).
    Attack("forge_exercise_frames", _wire("""
        for index, name in ((3, 'x'), (5, 'y')):
            frame({'event': 'exercise', 'index': index, 'id': 'ex_' + name,
                   'data': {'variables': {name: 'FORGED'}}})
        print('forged')
        """), "crashed", "crashed", "CellCrashed", must_not_print=("FORGED",)),
    # A cell frame of 3 MB of non-ASCII text sent raw (it would be 6 MB re-encoded): never kept past the
    # output budget, and the run is charged a crash of this cell.
    Attack("oversized_cell_frame", _wire("""
        frame({'event': 'cell', 'index': 4, 'status': 'ok', 'error': None,
               'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': '\u4e00' * 1_000_000}]},
              ascii=False)
        print('sent')
        """), "crashed", "crashed", "CellCrashed", must_not_print=("\u4e00" * 100,)),
    # A header announcing a 2 GB frame: refused from the header, before anything is buffered.
    Attack("huge_frame_header", _wire("""
        raw((2**31).to_bytes(4, 'big') + b'[' * 1000)
        import time
        time.sleep(0.5)
        print('sent')
        """), "crashed", "crashed", "CellCrashed"),
    Attack("deeply_nested_frame", _wire("""
        deep = b'[' * 100_000 + b']' * 100_000
        raw(len(deep).to_bytes(4, 'big') + deep)
        import time
        time.sleep(0.5)
        """), "crashed", "crashed", "CellCrashed"),
    Attack("ill_typed_frame", _wire("""
        frame({'event': 'cell', 'index': 4, 'status': 'ok', 'error': None,
               'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': 123}]})
        import time
        time.sleep(0.5)
        """), "crashed", "crashed", "CellCrashed"),
    Attack("garbage_on_the_channel", _wire("""
        raw(b'\\x00\\x00\\x00\\x05{{{{{')
        import time
        time.sleep(0.5)
        """), "crashed", "crashed", "CellCrashed"),
    # Non-ASCII output grows 2 to 3 times when escaped: it is charged in escaped bytes, so the flood is cut
    # within the budget however it is encoded later.
    Attack("non_ascii_flood", "while True:\n    print('\\U0001F600' * 1000)", "output-limit", "error",
           "OutputLimitExceeded"),
    Attack("non_ascii_fd_flood", "import os\nfor _ in range(20_000):\n    os.write(1, b'\\xff' * 1000)",
           "output-limit", "ok"),
    # -- second round: attacks written after the fix, against it ------------------------------------------
    # End-of-cell marks of its own on fd 1, for cells the job does not have (and one with 5000 digits):
    # dropped, so the worker's bookkeeping stays bounded; the text around them is ordinary output.
    Attack("forged_cell_marks", _code("""
        import os
        os.write(1, b''.join(b'\\x00\\x1eADC-CELL-END %d\\x1e\\x00' % i for i in range(100, 200_000)))
        os.write(1, b'\\x00\\x1eADC-CELL-END ' + b'9' * 5000 + b'\\x1e\\x00')
        print('marked')
        """), None, "ok", must_print=("marked",)),
    # Under the fallback /proc shows the submission no process but its own (hidepid): nothing to read.
    Attack("read_other_processes", _code("""
        import os
        others = [pid for pid in os.listdir('/proc') if pid.isdigit() and int(pid) != os.getpid()]
        if not others:
            print('refused: no other process visible')
        for pid in others:
            try:
                with open(f'/proc/{pid}/mem', 'rb') as fh:
                    fh.seek(0x400000)
                    print('LEAK', pid, len(fh.read(16)))
            except (OSError, ValueError) as e:
                print('refused', type(e).__name__)
        """), "ok", "ok", must_not_print=("LEAK",), must_print=("refused",)),
    Attack("signal_everyone", _code("""
        import os, signal
        others = [pid for pid in os.listdir('/proc') if pid.isdigit() and int(pid) not in (os.getpid(), 1)]
        if not others:
            print('refused: no other process visible')
        for pid in others:
            try:
                os.kill(int(pid), signal.SIGKILL)
                print('KILLED', pid)
            except OSError as e:
                print('refused', type(e).__name__)
        """), "ok", "ok", must_not_print=("KILLED",), must_print=("refused",)),
    Attack("ptrace_parent", _code("""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.ptrace(16, os.getppid(), None, None) == 0:
            print('ATTACHED')
        else:
            print('refused', os.strerror(ctypes.get_errno()))
        """), "ok", "ok", must_not_print=("ATTACHED",), must_print=("refused",)),
    Attack("surrogate_mime_key", _code("""
        from IPython.display import display
        display({'text/plain': 'ok', 'x-\\udc80/y': 'v\\ud801'}, raw=True)
        """), "ok", "ok", must_print=("ok",)),
    # Display data nested beyond the wire's depth limit: refused by the worker, the cell counts as crashed.
    Attack("deep_display_data", _code("""
        from IPython.display import display
        deep = []
        for _ in range(60):
            deep = [deep]
        display({'text/plain': 'deep', 'application/json': deep}, raw=True)
        """), "crashed", "crashed", "CellCrashed"),
    # Lone surrogates (no UTF-8 file can hold them) become U+FFFD; the graded notebook can be written.
    Attack("lone_surrogates", _code("""
        print('\\ud800 lone')
        from IPython.display import display
        display({'text/plain': 'x\\udfff'}, raw=True)
        """), "ok", "ok", must_print=("\ufffd lone", "x\ufffd")),
]
