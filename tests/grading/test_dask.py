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
