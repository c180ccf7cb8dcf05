"""The warm worker pool: what a run contains, parallelism, worker restarts, limits, both sandbox modes."""

import base64
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

HOSTILE = Path(__file__).resolve().parent.parent / "hostile"
sys.path.insert(0, str(HOSTILE))

from corpus import COLLECTOR, HERE, TEST_LIMITS, honest_notebook, notebook_to_job, outputs_text  # noqa: E402

from autodiff_course.grading.batch import notebook_imports  # noqa: E402
from autodiff_course.grading.pool import WorkerPool  # noqa: E402
from autodiff_course.grading.sandbox import bwrap_available, processes_of_uid  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops to a separate uid: needs root")


# What the course's notebooks import, as the batch preloads it (`batch.notebook_imports`).
COURSE_IMPORTS = notebook_imports(nbformat.read(path, as_version=4)
                                  for path in sorted((HOSTILE.parents[1] / "notebooks").glob("*/*.ipynb")))

# Room for a PNG (a plot is ~20 kB), small enough to flood quickly.
LIMITS = dataclasses.replace(TEST_LIMITS, output_bytes=200_000)


@pytest.fixture(scope="module", params=["bwrap", "none"])
def pool(request):
    if request.param == "bwrap" and not bwrap_available()[0]:
        pytest.skip("bubblewrap cannot run here")
    with WorkerPool(jobs=2, sandbox=request.param, allow_unsandboxed=True, limits=LIMITS, collector=COLLECTOR,
                    python_path=[HERE], preload=COURSE_IMPORTS) as p:
        yield p


def _job(job_id, *sources, files=None, exercises=()):
    cells = [{"index": i, "cell_type": "code", "source": s, "exercise": None} for i, s in enumerate(sources)]
    for k, spec in enumerate(exercises):
        cells.append({"index": len(sources) + k, "cell_type": "code", "source": "", "exercise": spec})
    return {"job_id": job_id, "cells": cells,
            "files": {n: base64.b64encode(b).decode() for n, b in (files or {}).items()}}


def test_run_reports_streams_results_displays_and_errors(pool):
    run = pool.run(_job("kinds", "print('out'); import sys; print('err', file=sys.stderr)\n6 * 7",
                        "from IPython.display import display, HTML\ndisplay(HTML('<b>hi</b>'))",
                        "undefined_name"))
    assert run["job_id"] == "kinds" and run["status"] == "ok" and run["sandbox"] == pool.mode
    c0, c1, c2 = run["cells"]
    assert c0["outputs"] == [
        {"output_type": "stream", "name": "stdout", "text": "out\n"},
        {"output_type": "stream", "name": "stderr", "text": "err\n"},
        {"output_type": "execute_result", "data": {"text/plain": "42"}, "metadata": {}, "execution_count": 1}]
    assert c1["outputs"][0]["output_type"] == "display_data"
    assert c1["outputs"][0]["data"]["text/html"] == "<b>hi</b>"
    assert c2["status"] == "error" and c2["error"]["ename"] == "NameError"
    assert "undefined_name" in c2["error"]["evalue"]
    assert any("NameError" in line for line in c2["error"]["traceback"])
    assert not any("\x1b[" in line for line in c2["error"]["traceback"])  # no ANSI colours


def test_matplotlib_inline_magic_produces_a_png(pool):
    run = pool.run(_job("plot", "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3]);"))
    cell = run["cells"][0]
    assert cell["status"] == "ok", cell
    pngs = [o for o in cell["outputs"] if "image/png" in o.get("data", {})]
    assert len(pngs) == 1
    assert base64.b64decode(pngs[0]["data"]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"


def test_files_are_the_only_files_and_cwd_is_private(pool):
    run = pool.run(_job("files", "import os\nprint(sorted(os.listdir('.')))\n"
                                 "print(open('sub/d.txt').read())\n"
                                 "open('scratch.txt', 'w').write('mine')\nprint(os.getuid() != 0)",
                        files={"a.txt": b"A", "sub/d.txt": b"D"}))
    assert outputs_text(run["cells"][0]) == "['a.txt', 'sub']\nD\nTrue\n"
    again = pool.run(_job("files2", "import os\nprint(sorted(os.listdir('.')))"))
    assert outputs_text(again["cells"][0]) == "[]\n"  # nothing of the previous job is left


def test_each_job_starts_from_a_fresh_namespace(pool):
    pool.run(_job("first", "leak = 1\nimport numpy\nnumpy.leak = 2"))
    run = pool.run(_job("second", "import numpy\nprint('leak' in globals(), hasattr(numpy, 'leak'))"))
    assert outputs_text(run["cells"][0]) == "False False\n"


def test_exercise_cells_are_collected_not_executed(pool):
    run = pool.run(_job("ex", "a = 2; print('ran')",
                        exercises=[{"id": "e1", "kind": "variables", "variables": ["a", "b"]}]))
    assert run["cells"][1]["status"] == "ok" and run["cells"][1]["outputs"] == []
    assert run["exercises"] == {"e1": {"variables": {"a": 2, "b": {"missing": True}}}}


def test_collector_error_is_reported_per_exercise(pool):
    run = pool.run(_job("bad-kind", "a = 2",
                        exercises=[{"id": "e1", "kind": "nonsense"},
                                   {"id": "e2", "kind": "variables", "variables": ["a"]}]))
    assert run["exercises"]["e1"]["status"] == "error"
    assert "unknown kind 'nonsense'" in run["exercises"]["e1"]["message"]
    assert run["exercises"]["e2"] == {"variables": {"a": 2}}


def test_missing_collector_is_an_error_per_exercise_not_a_crash():
    from autodiff_course.grading.worker import _resolve_collector

    collect = _resolve_collector("no_such_module:collect")
    data = collect({"id": "e", "kind": "variables"}, {})
    assert data["status"] == "error"
    assert "no_such_module:collect" in data["message"] and "ModuleNotFoundError" in data["message"]


def test_output_limit_cuts_python_and_fd_output(pool):
    run = pool.run(_job("flood", "print('a' * 500_000)", "import os\nos.write(1, b'b' * 500_000)",
                        "print('after')"))
    assert run["status"] == "output-limit"
    text = "".join(outputs_text(c) for c in run["cells"])
    assert "a" * 1000 not in text  # one oversized write is refused whole
    assert "b" * 1000 in text and "b" * (LIMITS.output_bytes + 1) not in text  # fd output is cut at the limit
    assert "output truncated" in text
    assert run["cells"][2]["status"] == "ok"


def test_cpu_limit_stops_a_cell_that_spins_in_c(pool):
    # A C loop that never returns to Python: only the CPU rlimit / the worker's kill can stop it.
    run = pool.run(_job("cspin", "import re\nre.match(r'(a+)+$', 'a' * 40 + 'b')", "ok = 1",
                        exercises=[{"id": "e", "kind": "variables", "variables": ["ok"]}]))
    assert run["status"] == "timeout"
    assert run["cells"][0]["status"] == "timeout"
    assert run["exercises"]["e"] == {"variables": {"ok": 1}}
    assert run["seconds"] < TEST_LIMITS.cell_wall_seconds + TEST_LIMITS.kill_grace_seconds + 5


def test_map_grades_in_parallel_and_returns_every_job(pool):
    jobs = [_job(f"p{i}", "import time\ntime.sleep(1.0)\nprint('done')") for i in range(4)]
    started = time.monotonic()
    runs = list(pool.map(jobs))
    elapsed = time.monotonic() - started
    assert sorted(r["job_id"] for r in runs) == ["p0", "p1", "p2", "p3"]
    assert all(outputs_text(r["cells"][0]) == "done\n" for r in runs)
    # 4 one-second jobs on 2 workers: about 2 s in parallel, at least 4 s if run one after another.
    assert elapsed < 3.8


def test_honest_results_do_not_depend_on_the_worker(pool):
    job = notebook_to_job(honest_notebook(), "same")
    runs = list(pool.map([job, job, job, job]))
    first = {k: v for k, v in runs[0].items() if k != "seconds"}
    for r in runs[1:]:
        assert {k: v for k, v in r.items() if k != "seconds"} == first


def test_dead_worker_is_restarted_and_the_job_reported_crashed(pool):
    box = {}

    def grade():
        box["run"] = pool.run(_job("victim", "import time\ntime.sleep(1.5)", "x = 1",
                                   exercises=[{"id": "e", "kind": "variables", "variables": ["x"]}]))

    before = set(pool.worker_pids)
    t = threading.Thread(target=grade)
    t.start()
    time.sleep(0.7)
    idle = {w.pid for w in list(pool._idle.queue)}
    busy = [pid for pid in pool.worker_pids if pid not in idle]
    assert len(busy) == 1
    os.killpg(busy[0], signal.SIGKILL)  # the worker (its bwrap under bwrap) grading the job
    t.join(timeout=60)
    run = box["run"]
    assert run["status"] == "crashed"
    assert "died" in run["message"]
    assert run["exercises"]["e"]["status"] == "crashed"
    # The pool replaced the dead worker and still grades.
    after = pool.run(_job("after", "print(1 + 1)"))
    assert outputs_text(after["cells"][0]) == "2\n"
    assert set(pool.worker_pids) == (before - set(busy)) | (set(pool.worker_pids) - before)
    assert busy[0] not in pool.worker_pids and len(set(pool.worker_pids)) == 2
    for uid in pool.uids:
        assert processes_of_uid(uid, zombies=True) == []


def test_malformed_jobs_raise_naming_the_problem(pool):
    with pytest.raises(ValueError, match="job_id"):
        pool.run({"cells": [], "files": {}})
    with pytest.raises(ValueError, match=r"job 'j', cell 0"):
        pool.run({"job_id": "j", "cells": [{"source": "1"}], "files": {}})
    with pytest.raises(ValueError, match=r"'\.\./x'"):
        pool.run({"job_id": "j", "cells": [], "files": {"../x": ""}})
    with pytest.raises(ValueError, match="base64"):
        pool.run({"job_id": "j", "cells": [], "files": {"x": "not base64!"}})


def test_closed_pool_refuses_jobs_and_leaves_nothing_behind():
    p = WorkerPool(jobs=1, sandbox="none", allow_unsandboxed=True, limits=TEST_LIMITS, collector=COLLECTOR,
                   python_path=[HERE])
    p.start()
    pids, uids = p.worker_pids, p.uids
    p.close()
    with pytest.raises(RuntimeError, match="not started or already closed"):
        p.run(_job("late", "1"))
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    for uid in uids:
        assert processes_of_uid(uid, zombies=True) == []


def test_bwrap_mode_is_refused_where_bwrap_is_missing(monkeypatch):
    from autodiff_course.grading import sandbox

    monkeypatch.setattr(sandbox, "_bwrap_probe", {"result": (False, "bubblewrap (bwrap) is not installed")})
    with pytest.raises(sandbox.SandboxUnavailable, match="not installed"):
        WorkerPool(jobs=1, sandbox="bwrap").start()
    with pytest.raises(sandbox.SandboxUnavailable, match="--i-understand-unsandboxed"):
        sandbox.resolve_sandbox("auto")
    with pytest.warns(sandbox.SandboxWarning, match="without bubblewrap"):
        mode, warns = sandbox.resolve_sandbox("auto", allow_unsandboxed=True)
        sandbox.warn_once(warns)
    assert mode == "none"


def test_the_fallback_must_be_asked_for_explicitly(monkeypatch):
    from autodiff_course.grading import sandbox

    monkeypatch.delenv(sandbox.ALLOW_UNSANDBOXED_ENV, raising=False)
    with pytest.raises(sandbox.SandboxUnavailable, match="--sandbox none --i-understand-unsandboxed"):
        WorkerPool(jobs=1, sandbox="none").start()
    assert sandbox.resolve_sandbox("none", allow_unsandboxed=True)[0] == "none"
    monkeypatch.setenv(sandbox.ALLOW_UNSANDBOXED_ENV, "1")
    assert sandbox.resolve_sandbox("none")[0] == "none"


@pytest.fixture(scope="module")
def fresh_interpreter_seconds():
    """What the pool saves per notebook: a new interpreter importing torch and the package."""
    t = time.monotonic()
    subprocess.run([sys.executable, "-c", "import torch, autodiff_course"], check=True)
    return time.monotonic() - t


def test_warm_pool_beats_a_fresh_interpreter_per_notebook(pool, fresh_interpreter_seconds):
    warm = []
    for i in range(3):
        t = time.monotonic()
        run = pool.run(_job(f"trivial{i}", "x = 1 + 1"))
        warm.append(time.monotonic() - t)
        assert run["status"] == "ok"
    assert min(warm) < fresh_interpreter_seconds / 2, (warm, fresh_interpreter_seconds)


def test_a_typical_notebook_imports_nothing_the_warm_worker_did_not(pool):
    # What the course's notebooks do on first use: an optimiser step (imports torch._dynamo), printing a
    # tensor, an inline figure, the stepper widget (preloaded as the course imports it), a traceback. Paid
    # in every child, that was most of a notebook's grading time; the warm worker pays it once, before any job.
    assert "autodiff_course.widgets:autograd_stepper" in COURSE_IMPORTS
    run = pool.run(_job(
        "first-uses",
        "import sys\nbefore = set(sys.modules)",
        "import torch\nw = torch.nn.Parameter(torch.ones(3))\nopt = torch.optim.Adam([w], lr=0.1)\n"
        "(w ** 2).sum().backward()\nopt.step()\nopt.zero_grad()\nprint(w)",
        "%matplotlib inline\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
        "plt.plot(np.linspace(0, 1, 5), label='x'); plt.legend(); plt.show()",
        "from autodiff_course.widgets import autograd_stepper\nimport timeit",
        "1 / 0",
        "print(sorted(set(sys.modules) - before))"))
    assert run["status"] == "ok", run["message"]
    assert run["cells"][4]["error"]["ename"] == "ZeroDivisionError"
    assert any(o["output_type"] == "display_data" and "image/png" in o["data"] for o in run["cells"][2]["outputs"])
    assert outputs_text(run["cells"][5]).strip() == "[]"
