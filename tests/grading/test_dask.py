"""Grading through a real Dask distributed cluster gives byte-identical results to grading locally."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autodiff_course.grading.batch import grade

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "submitted"
ASSIGNMENT = "autodiff_by_hand"
# Full marks, partial credit and a wrong answer of every function kind, kept to three notebooks for time.
STUDENTS = ("ada", "chen", "emil")

pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the example class is not built yet")


@pytest.mark.slow
def test_grading_on_a_local_dask_cluster_matches_local_grading(tmp_path):
    from distributed import LocalCluster

    subs = tmp_path / "submitted"
    for student in STUDENTS:
        shutil.copytree(EXAMPLES / student / ASSIGNMENT, subs / student / ASSIGNMENT)
    local = grade(course=REPO, submissions=subs, out=tmp_path / "local", assignments=[ASSIGNMENT], jobs=2,
                  progress=False, report_line=lambda line: None, gradebook=tmp_path / "local.db")
    with LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        remote = grade(course=REPO, submissions=subs, out=tmp_path / "dask", assignments=[ASSIGNMENT],
                       dask_scheduler=cluster.scheduler_address, progress=False,
                       report_line=lambda line: None, gradebook=tmp_path / "dask.db")
        # The sandboxed runs happened on the Dask workers (each keeps one warm pool between tasks), none
        # in this client process.
        from distributed import Client

        from autodiff_course.grading import distributed as remote_module

        with Client(cluster.scheduler_address) as client:
            pools = client.run(lambda: len(__import__("autodiff_course.grading.distributed",
                                                      fromlist=["_POOLS"])._POOLS))
            # A Dask worker's warm pool imports what the course's notebook imports, as a local one does
            # (the notebook's first cell: numpy, torch and the course's own imports).
            preloads = client.run(lambda: [set(p.preload) for p in __import__(
                "autodiff_course.grading.distributed", fromlist=["_POOLS"])._POOLS.values()])
    assert remote.graded == local.graded == len(STUDENTS)
    assert (tmp_path / "dask" / "grades.csv").read_bytes() == (tmp_path / "local" / "grades.csv").read_bytes()
    for student in STUDENTS:
        name = f"{ASSIGNMENT}/{ASSIGNMENT}.html"
        assert (tmp_path / "dask" / "feedback" / student / name).read_bytes() == \
            (tmp_path / "local" / "feedback" / student / name).read_bytes()
    assert set(pools.values()) <= {0, 1} and sum(pools.values()) >= 1
    for worker_preloads in preloads.values():
        for preload in worker_preloads:
            assert {"numpy", "torch", "autodiff_course.course:grade"} <= preload, preload
    assert remote_module._POOLS == {}


# -- an address where something other than a Dask scheduler answers -------------------------------------------
class _Listener:
    """A real TCP server on 127.0.0.1 that is not Dask: "silent" accepts and never answers (a port that
    swallows connections), "http" answers like a web server (a wrong port on a Jupyter or web host)."""

    def __init__(self, mode: str):
        import socket
        import threading

        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.address = f"tcp://127.0.0.1:{self.server.getsockname()[1]}"
        self.mode, self.held = mode, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:  # closed
                return
            self.held.append(conn)
            if self.mode == "http":
                try:
                    conn.recv(100)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass
                conn.close()

    def close(self):
        self.server.close()
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize("mode", ["silent", "http"])
def test_an_address_that_answers_but_is_no_dask_scheduler_is_one_line_exit_2_within_seconds(mode, tmp_path,
                                                                                         capsys):
    # An outside review: a web server on the port gave a 40-line traceback after 44 s, a silent listener hung
    # for more than 10 minutes. Through the CLI, on a course with nothing to grade (that used to exit 0).
    import time

    from autodiff_course.cli import main

    listener = _Listener(mode)
    try:
        started = time.monotonic()
        status = main(["grade", "--course", str(REPO), "--submissions", str(tmp_path), "--out",
                       str(tmp_path / "out"), "--dask-scheduler", listener.address, "-q"])
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1, err
    assert f"--dask-scheduler {listener.address}: something accepts connections there, but it is not a Dask " \
           "scheduler" in err
    assert elapsed < 10, elapsed  # the handshake is bounded at 3 s; the rest is loading the course
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_a_real_scheduler_passes_the_check_and_a_workers_address_is_named_as_a_worker():
    from distributed import LocalCluster

    from autodiff_course.grading.distributed import SchedulerUnreachable, check_scheduler

    # In this process (no worker processes to start), over real TCP as a remote cluster is reached.
    with LocalCluster(host="127.0.0.1", protocol="tcp://", n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        check_scheduler(cluster.scheduler_address)
        worker = next(iter(cluster.scheduler_info["workers"]))
        with pytest.raises(SchedulerUnreachable, match=r"not a Dask scheduler \(a Dask Worker\)"):
            check_scheduler(worker)
