"""Hostile notebooks against the warm pool, under bwrap and under the no-bwrap fallback.

For every attack of the corpus: the run completes with the expected clear status, the honest exercises of the
same notebook still yield exactly the data they yield alone, an honest notebook graded next in the same worker
gets exactly the result it gets alone, no file of the course folder changes, and no process of the sandbox
uid survives the grading.
"""

import dataclasses
import json
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pytest
from corpus import (
    ATTACKS,
    COLLECTOR,
    HERE,
    HOSTILE_INDEX,
    REPO,
    TEST_LIMITS,
    comparable,
    hash_tree,
    honest_notebook,
    notebook_to_job,
    outputs_text,
)

import autodiff_course
from autodiff_course.grading.pool import WorkerPool
from autodiff_course.grading.sandbox import NEUTRAL_COURSE, bwrap_available, processes_of_uid
from autodiff_course.grading.wire import canonical_size

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops to a separate uid: needs root")

X_SNAPSHOT = {"type": "ndarray", "values": [[1.0, 2.0], [3.0, 4.0]], "shape": [2, 2]}
RUN_STATUSES = {"ok", "crashed", "timeout", "memory", "output-limit", "killed"}
CELL_STATUSES = {"ok", "error", "timeout", "skipped", "crashed"}


@pytest.fixture(scope="module")
def course():
    """A world-readable fake course (source notebook, grader config, gradebook, outputs) outside the sandbox.

    World-readable on purpose: only the sandbox, not file permissions, may keep the submission out.
    """
    root = Path(tempfile.mkdtemp(prefix="hostile-course-"))
    (root / "source" / "assignment").mkdir(parents=True)
    (root / "source" / "assignment" / "assignment.ipynb").write_text('{"SECRET": "solution"}')
    (root / "graders").mkdir()
    (root / "graders" / "assignment.toml").write_text("SECRET = 'hidden points'\n")
    (root / "outputs").mkdir()
    (root / "gradebook.db").write_text("SECRET gradebook\n")
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    os.chmod(root / "outputs", 0o777)  # even a world-writable output folder must stay untouched
    yield root
    shutil.rmtree(root)


@pytest.fixture(scope="module")
def listener():
    """A TCP server on 127.0.0.1 that records every connection it accepts."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                accepted.append(conn)
            except OSError:
                pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1], accepted
    stop.set()
    t.join()
    srv.close()


MODES = ["bwrap", "none"]


@pytest.fixture(scope="module", params=MODES)
def pool(request, course):
    if request.param == "bwrap" and not bwrap_available()[0]:
        pytest.skip("bubblewrap cannot run here")
    with WorkerPool(jobs=1, sandbox=request.param, allow_unsandboxed=True, limits=TEST_LIMITS, collector=COLLECTOR,
                    python_path=[HERE], hidden_paths=[course]) as p:
        yield p


@pytest.fixture(scope="module")
def honest_alone(pool):
    return pool.run(notebook_to_job(honest_notebook(), "honest"))


def test_honest_notebook_is_graded_cleanly(pool, honest_alone):
    run = honest_alone
    assert run["status"] == "ok", run["message"]
    assert run["sandbox"] == pool.mode
    assert [c["status"] for c in run["cells"]] == ["ok"] * 6
    assert run["exercises"] == {
        "ex_x": {"variables": {"x": X_SNAPSHOT}},
        "ex_y": {"variables": {"y": {"type": "ndarray", "values": [[3.0, 5.0], [7.0, 9.0]],
                                     "shape": [2, 2]}}},
        "ex_f": {"returned": 7},
    }
    assert outputs_text(run["cells"][0]) == "loaded (2, 2)\n"
    assert run["cells"][3]["outputs"][0]["data"]["text/plain"] == "np.float64(24.0)"
    assert run["cells"][3]["outputs"][0]["execution_count"] == 3  # test cells are not executed


@pytest.fixture(scope="module")
def host_socket():
    """A unix socket of a host service, connectable by anyone, where such sockets live (/tmp, /run)."""
    servers, paths = [], []
    for d in ("/tmp", "/run"):
        path = os.path.join(d, f"adc-host-{os.getpid()}.sock")
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(path)
        os.chmod(path, 0o777)
        srv.listen(4)
        srv.setblocking(False)
        servers.append(srv)
        paths.append(path)
    yield paths, servers
    for srv, path in zip(servers, paths, strict=True):
        srv.close()
        os.unlink(path)


def _fill(source, course, port, sockets=()):
    return (source.replace("@COURSE@", str(course)).replace("@GRADEBOOK@", str(course / "gradebook.db"))
            .replace("@REPO@", str(REPO)).replace("@PORT@", str(port)).replace("@SOCKETS@", repr(list(sockets))))


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_contained(pool, honest_alone, attack, course, listener, host_socket):
    port, accepted = listener
    socket_paths, socket_servers = host_socket
    before = hash_tree(course)
    connections_before = len(accepted)
    nb = honest_notebook(_fill(attack.source, course, port, socket_paths))
    run = pool.run(notebook_to_job(nb, f"hostile-{attack.name}", attack.files))

    # A clear status for the run and for the attacking cell.
    assert run["status"] in RUN_STATUSES and all(c["status"] in CELL_STATUSES for c in run["cells"])
    if attack.run_status is not None:
        assert run["status"] == attack.run_status, run["message"]
    if run["status"] != "ok":
        assert run["message"], "a run that is not ok must say why"
    hostile = next((c for c in run["cells"] if c["index"] == HOSTILE_INDEX), None)
    assert hostile is not None, run["message"]
    if attack.cell_status is not None:
        assert hostile["status"] == attack.cell_status, hostile
    if attack.ename is not None:
        assert hostile["error"]["ename"] == attack.ename, hostile["error"]
    text = outputs_text(hostile)
    for bad in attack.must_not_print:
        assert bad not in text, text
    for good in attack.must_print:
        assert good in text, text

    # What crossed is bounded as the worker counts it, and can be written as UTF-8.
    json.dumps(run, ensure_ascii=False).encode("utf-8")
    shown = sum(canonical_size(o) for c in run["cells"] for o in c["outputs"] if o["output_type"] != "error")
    assert shown <= TEST_LIMITS.output_bytes + 1024, shown

    # The honest exercises around the attack still yield exactly their data.
    if attack.honest_data_intact:
        assert run["exercises"] == honest_alone["exercises"]
        honest_cells = [c for c in run["cells"] if c["index"] != HOSTILE_INDEX]
        assert [c["status"] for c in honest_cells] == ["ok"] * 6
    else:
        assert set(run["exercises"]) == set(honest_alone["exercises"])

    # Nothing outside the sandbox changed, nobody connected, nothing of the submission survives.
    assert hash_tree(course) == before
    for d in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not os.path.exists(os.path.join(d, f"adc-litter-{port}"))
    assert len(accepted) == connections_before
    for srv in socket_servers:
        with pytest.raises(BlockingIOError):
            srv.accept()
    for uid in pool.uids:
        assert processes_of_uid(uid, zombies=True) == [], f"processes of uid {uid} survived {attack.name}"

    # The same worker grades an honest notebook next exactly as it does alone.
    after = pool.run(notebook_to_job(honest_notebook(), "honest-after"))
    assert comparable(after) == comparable(honest_alone)


def test_fork_bomb_is_capped_by_max_processes(pool):
    attack = next(a for a in ATTACKS if a.name == "fork_bomb")
    run = pool.run(notebook_to_job(honest_notebook(attack.source), "forks"))
    text = outputs_text(next(c for c in run["cells"] if c["index"] == HOSTILE_INDEX))
    forked = int(text.split("forked")[1].split()[0])
    assert 0 < forked < TEST_LIMITS.max_processes


def test_shadowing_files_do_not_replace_the_package(pool):
    attack = next(a for a in ATTACKS if a.name == "shadow_package")
    run = pool.run(notebook_to_job(honest_notebook(attack.source), "shadow", attack.files))
    text = outputs_text(next(c for c in run["cells"] if c["index"] == HOSTILE_INDEX))
    # The package's own file: under bwrap at its neutral place, without it where it is on the host.
    own = Path(autodiff_course.__file__).resolve()
    expected = f"{NEUTRAL_COURSE}/{own.parent.name}/{own.name}" if pool.mode == "bwrap" else str(own)
    assert text.split()[1] == expected


def test_segfault_reports_the_python_traceback_of_the_cell(pool):
    attack = next(a for a in ATTACKS if a.name == "segfault")
    run = pool.run(notebook_to_job(honest_notebook(attack.source), "segv"))
    hostile = next(c for c in run["cells"] if c["index"] == HOSTILE_INDEX)
    assert "segmentation fault" in hostile["error"]["evalue"]
    assert "Segmentation fault" in outputs_text(hostile)  # faulthandler's report, captured from fd 2
    assert f"cell {HOSTILE_INDEX}" in run["message"]


def test_crash_inside_an_exercise_is_charged_to_that_exercise(pool, honest_alone):
    nb = honest_notebook("import ctypes\ndef f(v):\n    return ctypes.string_at(0)")
    run = pool.run(notebook_to_job(nb, "crash-in-exercise"))
    assert run["status"] == "crashed"
    assert run["exercises"]["ex_f"]["status"] == "crashed"
    assert run["exercises"]["ex_x"] == honest_alone["exercises"]["ex_x"]
    ex_f_cell = run["cells"][-1]
    assert ex_f_cell["status"] == "crashed"


def test_notebook_wall_clock_limit_ends_the_grading(pool):
    limits = dataclasses.replace(TEST_LIMITS, notebook_wall_seconds=5)
    with WorkerPool(jobs=1, sandbox=pool.mode, allow_unsandboxed=True, limits=limits, collector=COLLECTOR,
                    python_path=[HERE]) as short:
        job = notebook_to_job(honest_notebook(), "slow")
        # Each cell is within the 2 s cell limit; together they exceed the notebook's 5 s.
        for i in range(6):
            job["cells"].append({"index": 100 + i, "cell_type": "code",
                                 "source": "import time\ntime.sleep(1.5)", "exercise": None})
        job["cells"].append({"index": 200, "cell_type": "code", "source": "",
                             "exercise": {"id": "late", "kind": "variables", "variables": ["x"]}})
        run = short.run(job)
    assert run["status"] == "timeout"
    assert run["exercises"]["late"] == {"status": "timeout", "message": "the notebook's wall-clock limit was "
                                                                      "reached before this cell"}
    assert run["exercises"]["ex_x"] == {"variables": {"x": X_SNAPSHOT}}
    statuses = {c["index"]: c["status"] for c in run["cells"]}
    assert statuses[102] == "ok" and statuses[103] == "timeout"
    assert statuses[104] == statuses[105] == statuses[200] == "skipped"
    assert run["seconds"] < limits.notebook_wall_seconds + 3
