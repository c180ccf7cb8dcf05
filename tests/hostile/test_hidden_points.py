"""The residual channel: a student's function that records the points it is called at cannot spell a hidden
test point out in a later cell, under bwrap and under the fallback.

The notebooks are a real hand-in of the example class (ada's `autodiff_by_hand`, which scores full marks) with
the course's real exercises and the real collector. The attack writes each argument its functions see into a
global, and later cells print what it holds (as Python prints it, offset by 1000, as bare digits), print every
small list of floats left in the process's memory, and raise it as an error. None of the exercises' hidden or
random points reaches any cell output, and every exercise scores exactly as the untouched hand-in does.

A fork that collects the hidden points and breaks the protocol (a cell frame of its own), crashes or hangs costs
its own exercise, nothing else: the cells' outputs and every other exercise's data stay those of the honest run.
"""

import csv
import dataclasses
import io
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

from autodiff_course.checks import collect_spec, judge
from autodiff_course.checks.points import test_points, visible_count
from autodiff_course.course.config import load_course
from autodiff_course.grading.batch import grade
from autodiff_course.grading.limits import Limits
from autodiff_course.grading.pool import WorkerPool
from autodiff_course.grading.sandbox import bwrap_available

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops to a separate uid: needs root")

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "autodiff_by_hand"
HAND_IN = REPO / "examples" / "submitted" / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SPECS = {spec["id"]: spec for spec in load_course(REPO)[ASSIGNMENT].exercises}
#: The function exercises whose hidden part runs in a fork (hidden or random points beyond the visible ones).
HIDDEN = [i for i, s in SPECS.items() if s["kind"] != "graph" and len(test_points(s)) > visible_count(s)]
#: Short limits for the runs whose fork is meant to hang (the honest hand-in takes a few seconds).
LIMITS = dataclasses.replace(Limits(), exercise_wall_seconds=6, notebook_wall_seconds=90)

LEAK = """
_pts = [tuple(float(v) for v in p) for p in _SEEN]
print('SEEN', _pts)
print('OFFSET', [[v + 1000 for v in p] for p in _pts])
print('DIGITS', [''.join(str(abs(v)).replace('.', '') for v in p) for p in _pts])
import gc
print('MEMORY', [o for o in gc.get_objects()
                 if isinstance(o, (list, tuple)) and 1 < len(o) <= 3 and all(type(v) is float for v in o)])
"""


def _hand_in() -> nbformat.NotebookNode:
    return nbformat.read(HAND_IN, as_version=4)


def _answer_of(nb, spec) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                and f"def {spec['function']}(" in c.source)


def _insert_in_body(source: str, name: str, line: str) -> str:
    """`source` with `line` as the first statement of function `name` (indented as its body)."""
    m = re.search(rf"^def {name}\(([^)]*)\):\n", source, re.M)
    return source[:m.end()] + "    " + line.format(args=m.group(1)) + "\n" + source[m.end():]


def _recording(nb) -> nbformat.NotebookNode:
    """The hand-in whose function answers record every point they are called at, and cells that show it."""
    for ex_id in HIDDEN:
        i = _answer_of(nb, SPECS[ex_id])
        args = [a.strip() for a in re.search(rf"def {SPECS[ex_id]['function']}\(([^)]*)\)",
                                             nb.cells[i].source).group(1).split(",")]
        nb.cells[i].source = _insert_in_body(nb.cells[i].source, SPECS[ex_id]["function"],
                                             "_SEEN.append((" + ", ".join(f"float({a})" for a in args) + ",))")
    first_test = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") in HIDDEN)
    nb.cells.insert(first_test + 1, nbformat.v4.new_code_cell(LEAK))
    nb.cells.insert(0, nbformat.v4.new_code_cell("_SEEN = []"))
    nb.cells += [nbformat.v4.new_code_cell(LEAK), nbformat.v4.new_code_cell("raise ValueError(repr(_SEEN))")]
    return nb


def _job(nb, job_id: str) -> dict:
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        spec = SPECS.get(grade_id) if cell.metadata.get("nbgrader", {}).get("grade") else None
        cells.append({"index": index, "cell_type": "code", "source": cell.source,
                      "exercise": collect_spec(spec) if spec else None})
    return {"job_id": job_id, "cells": cells, "files": {}}


def _hidden_tokens(specs=SPECS) -> list[str]:
    """Every way the attack writes a hidden or random point: its numbers as Python prints them (those long
    enough not to turn up by chance), offset by 1000, its digits run together, the point as a tuple or list."""
    tokens = set()
    for ex_id in HIDDEN:
        spec = specs[ex_id]
        for p in test_points(spec)[visible_count(spec):]:
            tokens |= {repr(tuple(p)), repr(list(p)), "".join(str(abs(v)).replace(".", "") for v in p)}
            tokens |= {repr(v + 1000) for v in p} | {repr(v) for v in p if len(repr(abs(v))) >= 6}
    return sorted(tokens)


def _leaked(text: str, specs=SPECS) -> list[str]:
    return [t for t in _hidden_tokens(specs) if re.search(rf"(?<![\d.]){re.escape(t)}(?!\d)", text)]


def _scores(run) -> dict:
    return {ex_id: (r.status, r.score) for ex_id, spec in SPECS.items()
            for r in [judge(spec, run["exercises"][ex_id])]} if run["exercises"] else {}


@pytest.fixture(scope="module", params=["bwrap", "none"])
def pool(request):
    if request.param == "bwrap" and not bwrap_available()[0]:
        pytest.skip("bubblewrap cannot run here")
    with WorkerPool(jobs=1, sandbox=request.param, allow_unsandboxed=True, limits=LIMITS) as p:
        yield p


@pytest.fixture(scope="module")
def honest(pool):
    run = pool.run(_job(_hand_in(), "honest"))
    assert run["status"] == "ok", run["message"]
    return run


def test_the_example_has_exercises_with_hidden_and_random_points():
    assert {"decomposition", "forward", "forward_dx1", "reverse"} <= set(HIDDEN)
    assert all(SPECS[i].get("random_points") for i in HIDDEN)
    assert len(_hidden_tokens()) > 50


def test_no_later_cell_shows_a_hidden_point(pool, honest):
    run = pool.run(_job(_recording(_hand_in()), "recording"))
    shown = json.dumps(run["cells"])
    assert "SEEN" in shown and "MEMORY" in shown and "DIGITS" in shown, "the leaking cells ran"
    assert re.search(r"SEEN \[\(1\.8, 2\.4", shown), "the visible points were recorded (they may be shown)"
    assert _leaked(shown) == []
    # The answers still score exactly as the untouched hand-in does.
    assert _scores(run) == _scores(honest)
    assert all(score == 1.0 for status, score in _scores(honest).values())


def _hostile_at_hidden_points(body: str) -> nbformat.NotebookNode:
    """The hand-in whose `forward_dx1` answer runs `body` when it is called in another process than the first
    time: in the fork that collects its hidden points."""
    nb = _hand_in()
    spec = SPECS["forward_dx1"]
    i = _answer_of(nb, spec)
    nb.cells[i].source = _insert_in_body(nb.cells[i].source, spec["function"],
                                         "_CALLS.append(os.getpid())\n    if os.getpid() != _CALLS[0]: _at_hidden()")
    channel = (
        "import json, os, stat, struct, signal, time, ctypes\n"
        "_CALLS = []\n"
        "def _frame(obj):\n"
        "    data = json.dumps(obj).encode()\n"
        "    for name in os.listdir('/proc/self/fd'):\n"
        "        fd = int(name)\n"
        "        try:\n"
        "            if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode):\n"
        "                os.write(fd, struct.pack('>I', len(data)) + data)\n"
        "        except OSError:\n"
        "            pass\n"
        "def _at_hidden():\n" + "".join(f"    {line}\n" for line in body.splitlines()))
    nb.cells.insert(0, nbformat.v4.new_code_cell(channel))
    return nb


FORK_ATTACKS = {
    # A cell frame (and a done) of its own after the last cell: not believed, charged as a crash.
    "cell_frame": ("_frame({'event': 'cell', 'index': 2, 'status': 'ok', 'error': None,\n"
                   "        'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': 'FORGED'}]})\n"
                   "_frame({'event': 'done'})", "crashed", "broke the grading protocol"),
    "exercise_frame": ("_frame({'event': 'hidden', 'index': 0, 'id': 'decomposition', 'data': {'points': []}})",
                       "crashed", "broke the grading protocol"),
    "crash": ("os._exit(0)", "crashed", "did not finish"),
    "segfault": ("ctypes.string_at(0)", "crashed", "did not finish"),
    # Signals blocked and a loop: only the worker's kill at the exercise's wall-clock limit stops it.
    "hang": ("signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGXCPU})\nwhile True:\n"
             "    time.sleep(0.05)", "timeout", "exceeded what was left"),
}


@pytest.mark.parametrize("attack", sorted(FORK_ATTACKS))
def test_a_failing_fork_costs_its_own_exercise_only(pool, honest, attack):
    body, status, words = FORK_ATTACKS[attack]
    nb = _hostile_at_hidden_points(body)
    run = pool.run(_job(nb, f"fork-{attack}"))
    assert run["exercises"]["forward_dx1"]["status"] == status, run["exercises"]["forward_dx1"]
    assert words in run["exercises"]["forward_dx1"]["message"]
    assert run["status"] == status and words in run["message"], run["message"]
    # Every other exercise has exactly its honest data; every cell its honest outputs (one cell more in front).
    for ex_id, data in honest["exercises"].items():
        if ex_id != "forward_dx1":
            got = dict(run["exercises"][ex_id])
            if "cells" in data:
                # The cells an answer came from (read for provenance) are the grader's, which are the attack's
                # notebook: its own cell in front, its answer cell changed.
                assert got.pop("cells")[0].startswith("import json, os"), ex_id
            assert got == {k: v for k, v in data.items() if k != "cells"}, ex_id
    assert [c["status"] for c in run["cells"][1:]] == [c["status"] for c in honest["cells"]]
    assert "FORGED" not in json.dumps(run["cells"])
    others = _scores({"exercises": {**run["exercises"], "forward_dx1": honest["exercises"]["forward_dx1"]}})
    assert others == _scores(honest)


#: The notebook's last cell stops every other process it can signal: the paused forks that hold its exercises'
#: hidden points among them.
STOP_THE_FORKS = """
import os, signal
for _name in os.listdir('/proc'):
    if _name.isdigit() and int(_name) != os.getpid():
        try:
            os.kill(int(_name), signal.SIGSTOP)
        except OSError:
            pass
"""


def test_forks_stopped_by_the_notebook_are_woken_and_score_as_the_honest_run(pool, honest):
    nb = _hand_in()
    nb.cells.append(nbformat.v4.new_code_cell(STOP_THE_FORKS))
    run = pool.run(_job(nb, "stopped-forks"))
    assert run["status"] == "ok", run["message"]
    assert _scores(run) == _scores(honest)


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", ["bwrap", "none"])
def test_the_graded_notebook_and_the_feedback_show_no_hidden_point(sandbox, tmp_path):
    """`autodiff-course grade` end to end: the recording hand-in's graded notebook and feedback page hold the
    leaking cells' outputs but no hidden or random point, and its rows score exactly as the untouched one's."""
    if sandbox == "bwrap" and not bwrap_available()[0]:
        pytest.skip("bubblewrap cannot run here")
    for student, nb in (("ada", _hand_in()), ("mallory", _recording(_hand_in()))):
        (tmp_path / "in" / student / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "in" / student / ASSIGNMENT / HAND_IN.name)
    out = tmp_path / "out"
    grade(course=REPO, assignments=[ASSIGNMENT], submissions=tmp_path / "in", out=out, jobs=1, sandbox=sandbox,
          allow_unsandboxed=True, progress=False, report_line=lambda line: None, gradebook=out / "gradebook.db")
    rows = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8"))))
    by = {s: [{k: v for k, v in r.items() if k != "student"} for r in rows if r["student"] == s]
          for s in ("ada", "mallory")}
    assert by["mallory"] == by["ada"] and len(by["ada"]) == len(SPECS)
    specs = {spec["id"]: spec for spec in load_course(REPO)[ASSIGNMENT].exercises}  # the secret grade() used
    shown = "".join(p.read_text(encoding="utf-8") for folder in ("autograded", "feedback")
                    for p in sorted((out / folder / "mallory").rglob("*")) if p.suffix in (".ipynb", ".html"))
    assert "SEEN" in shown and "MEMORY" in shown, "the leaking cells' outputs are in the graded notebook"
    assert _leaked(shown, specs) == []
