"""Grader benchmark: this grader against `nbgrader autograde`, on the same notebooks in the same run.

    python benchmarks/bench_grading.py [--students 100] [--nbgrader-students 2] [--jobs N] [--json PATH]

The bundled example class (six students, five assignments) is replicated to `--students` students. This
grader grades all of them (sandboxed warm pool, `--jobs` workers, default the CPU count); `nbgrader autograde`
(one kernel per notebook, as nbgrader always runs) grades the first `--nbgrader-students` students of the
same class, every assignment, because on all of them it would take far longer than the point needs. Both
throughputs are in notebooks per second of wall time, including each tool's start-up. Scores of the
notebooks both graded must be identical. Target: at least 20x nbgrader's throughput, with every notebook run in
a child forked from a clean template.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autodiff_course.course.config import load_course  # noqa: E402
from autodiff_course.grading.batch import grade  # noqa: E402

EXAMPLES = REPO / "examples" / "submitted"
TARGET_RATIO = 20.0


def replicate_class(dest: Path, students: int) -> list[str]:
    """`students` students whose work copies the example class in turn (ada_000, ben_001, ...)."""
    originals = sorted(p for p in EXAMPLES.iterdir() if p.is_dir())
    names = []
    for i in range(students):
        source = originals[i % len(originals)]
        name = f"{source.name}_{i:03d}"
        shutil.copytree(source, dest / name)
        names.append(name)
    return names


def run_nbgrader(root: Path, configs: dict, submitted: Path, students: list[str]) -> float:
    """Seconds nbgrader takes to autograde `students` on every assignment (generate_assignment excluded:
    it is a one-off step of the course, not per submission)."""
    (root / "source").mkdir(parents=True)
    for assignment, config in configs.items():
        (root / "source" / assignment).mkdir()
        shutil.copy(REPO / "notebooks" / assignment / config.notebook, root / "source" / assignment)
    for student in students:
        shutil.copytree(submitted / student, root / "submitted" / student)
    (root / "nbgrader_config.py").write_text(textwrap.dedent(f"""\
        c = get_config()
        c.CourseDirectory.root = {str(root)!r}
        c.CourseDirectory.db_url = {f"sqlite:///{root / 'gradebook.db'}"!r}
        c.GenerateAssignment.create_assignment = True
        c.ExecutePreprocessor.timeout = 300
        """))
    nbgrader = str(Path(sys.executable).with_name("nbgrader"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    def call(*args):
        proc = subprocess.run([nbgrader, *args], cwd=root, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n"
                               f"{proc.stderr[-2000:]}")

    for assignment in configs:
        call("generate_assignment", assignment, "--force")
    started = time.perf_counter()
    for assignment in configs:
        call("autograde", assignment, "--create", "--force")
    return time.perf_counter() - started


def nbgrader_scores(root: Path, configs: dict) -> dict:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for assignment, config in configs.items():
            for submission in gb.assignment_submissions(assignment):
                for spec in config.exercises:
                    g = gb.find_grade(spec["id"], config.notebook_stem, assignment, submission.student.id)
                    scores[(submission.student.id, assignment, spec["id"])] = float(g.auto_score)
    return scores


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=100)
    ap.add_argument("--nbgrader-students", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    configs = load_course(REPO)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        scratch = Path(scratch)
        submitted = scratch / "submitted"
        students = replicate_class(submitted, args.students)
        ours_count = len(students) * len(configs)

        started = time.perf_counter()
        summary = grade(course=REPO, submissions=submitted, out=scratch / "ours", jobs=args.jobs,
                        resume=False, gradebook=scratch / "ours" / "gradebook.db",
                        # the bar only on a terminal: in a log it is thousands of carriage returns
                        progress=sys.stderr.isatty(), report_line=lambda line: None)
        ours_seconds = time.perf_counter() - started
        assert summary.graded == ours_count, (summary.graded, ours_count)

        sample = students[: args.nbgrader_students]
        nb_seconds = run_nbgrader(scratch / "nbgrader", configs, submitted, sample)
        nb_count = len(sample) * len(configs)

        with (scratch / "ours" / "grades.csv").open(newline="") as handle:
            ours = {(r["student"], r["assignment"], r["exercise"]): float(r["score"])
                    for r in csv.DictReader(handle)}
        theirs = nbgrader_scores(scratch / "nbgrader", configs)
        mismatches = {k: (ours.get(k), v) for k, v in theirs.items() if ours.get(k) is None
                      or abs(ours[k] - v) > 1e-9}

    ours_rate = ours_count / ours_seconds
    nb_rate = nb_count / nb_seconds
    ratio = ours_rate / nb_rate
    figures = {
        "students": args.students, "notebooks": ours_count, "seconds": round(ours_seconds, 2),
        "notebooks_per_second": round(ours_rate, 3),
        "nbgrader_notebooks": nb_count, "nbgrader_seconds": round(nb_seconds, 2),
        "nbgrader_notebooks_per_second": round(nb_rate, 3),
        "ratio": round(ratio, 2), "target_ratio": TARGET_RATIO, "scores_compared": len(theirs),
        "score_mismatches": len(mismatches), "cpus": os.cpu_count(),
    }
    print(f"this grader : {ours_count} notebooks in {ours_seconds:.1f} s = {ours_rate:.2f} notebooks/s "
          f"({args.students} students, jobs={args.jobs or os.cpu_count()})")
    print(f"nbgrader    : {nb_count} notebooks in {nb_seconds:.1f} s = {nb_rate:.2f} notebooks/s "
          f"(autograde, first {len(sample)} students)")
    print(f"ratio       : {ratio:.1f}x nbgrader's throughput (target >= {TARGET_RATIO:g}x)")
    print(f"scores      : {len(theirs)} exercise scores compared, {len(mismatches)} differ")
    for key, (a, b) in sorted(mismatches.items())[:10]:
        print(f"  {key}: ours {a}, nbgrader {b}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
