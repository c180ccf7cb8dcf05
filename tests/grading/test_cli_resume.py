"""The `autodiff-course` command as a user runs it: killed with SIGKILL mid-batch and started again, it
grades only what is missing, loses and duplicates nothing, and a further run changes no byte of grades.csv."""
from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "submitted"
CLI = Path(sys.executable).with_name("autodiff-course")
# One quick assignment, three copies of the class: 18 notebooks, enough for the kill to land mid-batch.
ASSIGNMENTS = ("tensors_grad_fn",)
COPIES = 3

pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the example class is not built yet")


def replicate(dest: Path) -> list[str]:
    students = []
    for copy in range(1, COPIES + 1):
        for student in sorted(p.name for p in EXAMPLES.iterdir()):
            name = f"{student}_{copy}"
            for assignment in ASSIGNMENTS:
                shutil.copytree(EXAMPLES / student / assignment, dest / name / assignment)
            students.append(name)
    return students


def command(subs: Path, out: Path, *extra: str) -> list[str]:
    argv = [str(CLI), "grade", "--course", str(REPO), "--submissions", str(subs), "--out", str(out),
            "--jobs", "1", "--gradebook", str(out / "gradebook.db")]
    for assignment in ASSIGNMENTS:
        argv += ["--assignment", assignment]
    return argv + list(extra)


def committed(out: Path) -> int:
    return len(list((out / ".results").glob("*/*.json"))) if (out / ".results").is_dir() else 0


@pytest.mark.slow
def test_killed_run_resumes_without_losing_or_duplicating_rows(tmp_path):
    subs = tmp_path / "submitted"
    students = replicate(subs)
    total = len(students) * len(ASSIGNMENTS)
    out = tmp_path / "graded"

    proc = subprocess.Popen(command(subs, out), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    while committed(out) < 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its sandbox workers, mid-batch
    proc.communicate()
    before = committed(out)
    assert 4 <= before < total, f"the kill must land mid-batch ({before} of {total} committed)"
    assert not (out / "grades.csv").exists()

    resumed = subprocess.run(command(subs, out), cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{total - before} graded, {before} unchanged" in resumed.stdout
    for student in students:
        assert student in resumed.stdout  # the student x assignment table
    assert "grading:" in resumed.stderr  # the progress bar

    with (out / "grades.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    keys = [(r["student"], r["assignment"], r["exercise"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert {(s, a) for s, a, _ in keys} == {(s, a) for s in students for a in ASSIGNMENTS}
    # Every copy of a student's work earned the same marks, whichever run graded it.
    outcome = defaultdict(set)
    for r in rows:
        outcome[(r["student"].rsplit("_", 1)[0], r["assignment"], r["exercise"])].add(
            (r["score"], r["status"]))
    assert all(len(v) == 1 for v in outcome.values()), {k: v for k, v in outcome.items() if len(v) > 1}

    first = (out / "grades.csv").read_bytes()
    again = subprocess.run(command(subs, out, "-q"), cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"0 graded, {total} unchanged" in again.stdout
    assert (out / "grades.csv").read_bytes() == first

    # export and feedback work on what the runs left behind.
    exported = subprocess.run([str(CLI), "export", "--out", str(out), "--gradebook", str(out / "gradebook.db")],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0, exported.stderr
    export_rows = list(csv.DictReader((out / "gradebook_export.csv").open()))
    totals = defaultdict(float)
    for r in rows:
        totals[(r["student"], r["assignment"])] += float(r["score"])
    # nbgrader's export rows: every student for every assignment the gradebook records.
    assert {(r["student_id"], r["assignment"]): float(r["score"]) for r in export_rows
            if r["assignment"] in ASSIGNMENTS} == pytest.approx(totals)
    (out / "grades.csv").unlink()
    rerendered = subprocess.run([str(CLI), "feedback", "--out", str(out), "--course", str(REPO),
                                 "--gradebook", str(out / "gradebook.db")],
                                cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
    assert rerendered.returncode == 0, rerendered.stderr
    assert (out / "grades.csv").read_bytes() == first


def test_missing_submissions_folder_is_one_clear_line_and_exit_status_2(tmp_path):
    proc = subprocess.run([str(CLI), "grade", "--course", str(REPO), "--submissions", str(tmp_path / "nope"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"autodiff-course grade: {tmp_path / 'nope'}: submissions folder does not exist"]
