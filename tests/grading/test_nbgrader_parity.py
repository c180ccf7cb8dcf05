"""Real `nbgrader autograde` on the example class gives every exercise the score this grader gives it.

nbgrader starts a kernel per notebook and runs the test cells (visible and hidden `grade()` calls) in the
student's own process; this grader runs the same checks from the config through the sandboxed pool. The
scores must agree cell by cell. To fit in the time budget (nbgrader takes 10-25 s per notebook on two busy
cores) this covers every example student on the hand-written AD notebook (every function kind, partial credit
and a PyTorch `variables` exercise), and on the four PyTorch assignments the students whose answers carry
mistakes (`PARITY_STUDENTS`): the full-marks and blank students score the same there by construction. The
grading benchmark (benchmarks/bench_grading.py) compares nbgrader and this grader on everything.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autodiff_course.course.config import load_course
from autodiff_course.grading.batch import grade

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "submitted"
NBGRADER = Path(sys.executable).with_name("nbgrader")
PARITY_ASSIGNMENTS = ("autodiff_by_hand", "autograd_basics", "chain_rule_training", "tensors_grad_fn", "worksheet")
# Who is compared on each assignment (None: every example student).
PARITY_STUDENTS = {"autodiff_by_hand": None}
MISTAKEN_STUDENTS = ("chen", "dara", "emil", "fatima")


def compared(assignment: str, student: str) -> bool:
    chosen = PARITY_STUDENTS.get(assignment, MISTAKEN_STUDENTS)
    return chosen is None or student in chosen

pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the example class is not built yet")


def nbgrader_course(root: Path, configs: dict) -> Path:
    """A plain nbgrader course: source/ from notebooks/, submitted/ from the examples."""
    for assignment in PARITY_ASSIGNMENTS:
        config = configs[assignment]
        (root / "source" / assignment).mkdir(parents=True)
        shutil.copy(REPO / "notebooks" / assignment / config.notebook, root / "source" / assignment)
        for student_dir in sorted(EXAMPLES.iterdir()):
            if (student_dir / assignment).is_dir() and compared(assignment, student_dir.name):
                shutil.copytree(student_dir / assignment, root / "submitted" / student_dir.name / assignment)
    (root / "nbgrader_config.py").write_text(textwrap.dedent(f"""\
        c = get_config()
        c.CourseDirectory.root = {str(root)!r}
        c.CourseDirectory.db_url = {f"sqlite:///{root / 'gradebook.db'}"!r}
        c.GenerateAssignment.create_assignment = True
        c.ExecutePreprocessor.timeout = 120
        """))
    return root


def nbgrader(root: Path, *args: str) -> None:
    env = {**os.environ, "PATH": f"{NBGRADER.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([str(NBGRADER), *args], cwd=root, capture_output=True, text=True, timeout=600,
                          env=env)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.slow
def test_nbgrader_autograde_scores_equal_grades_csv(tmp_path):
    from nbgrader.api import Gradebook

    configs = load_course(REPO)
    root = nbgrader_course(tmp_path / "nbgrader", configs)
    for assignment in PARITY_ASSIGNMENTS:
        nbgrader(root, "generate_assignment", assignment, "--force")
        nbgrader(root, "autograde", assignment, "--create", "--force")

    grade(course=REPO, submissions=root / "submitted", out=tmp_path / "ours",
          assignments=list(PARITY_ASSIGNMENTS), jobs=2, progress=False, report_line=lambda line: None,
          gradebook=tmp_path / "ours" / "gradebook.db")
    with (tmp_path / "ours" / "grades.csv").open(newline="") as handle:
        # ada and ben hand in only autodiff_by_hand here: their other assignments are rows marked missing.
        ours = {(r["student"], r["assignment"], r["exercise"]): float(r["score"])
                for r in csv.DictReader(handle) if r["status"] != "missing"}

    theirs = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for assignment in PARITY_ASSIGNMENTS:
            config = configs[assignment]
            for submission in gb.assignment_submissions(assignment):
                for spec in config.exercises:
                    g = gb.find_grade(spec["id"], config.notebook_stem, assignment, submission.student.id)
                    theirs[(submission.student.id, assignment, spec["id"])] = float(g.auto_score)
    students = {p.name for p in EXAMPLES.iterdir()}
    assert {s for s, _, _ in theirs} == students
    assert {a for _, a, _ in theirs} == set(PARITY_ASSIGNMENTS)
    assert theirs.keys() == ours.keys()
    mismatches = {k: (ours[k], theirs[k]) for k in ours if abs(ours[k] - theirs[k]) > 1e-9}
    assert not mismatches, f"(ours, nbgrader) differ: {mismatches}"
    # Not a vacuous agreement: the class has full, partial and zero scores.
    values = set(ours.values())
    assert 0.0 in values and any(0 < v < max(values) and v != int(v) for v in values)
