"""A batch of the example class plus every hostile notebook and folder of tests/hostile, with its peak memory.

    python benchmarks/bench_hostile_batch.py [--jobs 2] [--sandbox bwrap] [--json PATH]

Grades the example class alone, then the example class plus one student per attack of
`tests/hostile/corpus.py` (the attack's cell added to a blank worksheet) plus the hostile folders of
`tests/hostile/test_batch_hostile.py` (links, FIFOs, devices, sockets, deep JSON, bad names, active content),
with `autodiff-course grade --jobs N`. Reports whether the batch completed, whether the honest rows are byte
for byte those of the class alone, and the peak memory of the whole run: the largest sum, over the grader and
all its descendants (workers, sandboxed children, judging processes), of their proportional set size (PSS,
so pages shared by forked children are counted once), sampled every 50 ms. Target: under 3 GB with 2 jobs.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "hostile")]

import nbformat  # noqa: E402
from corpus import ATTACKS  # noqa: E402
from test_batch_hostile import _hostile_class  # noqa: E402

EXAMPLES = REPO / "examples" / "submitted"
TARGET_BYTES = 3 * 2**30


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _grade(submissions: Path, out: Path, jobs: int, sandbox: str) -> tuple[float, int]:
    """(seconds, peak PSS bytes) of one `autodiff-course grade` run."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "autodiff_course.cli", "grade", "--course", str(REPO), "--submissions",
           str(submissions), "--out", str(out), "--gradebook", str(out / "gradebook.db"), "--jobs", str(jobs),
           "--sandbox", sandbox, "-q"]
    if sandbox == "none":
        cmd.append("--i-understand-unsandboxed")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(_pss(p) for p in _tree(proc.pid)))
        time.sleep(0.05)
    if proc.returncode != 0:
        raise SystemExit(f"grade exited with {proc.returncode}")
    return time.monotonic() - started, peak


def _attack_students(root: Path, course: Path) -> list[str]:
    blank = nbformat.read(EXAMPLES / "ben" / "worksheet" / "worksheet.ipynb", as_version=4)
    names = []
    for attack in ATTACKS:
        nb = nbformat.from_dict(json.loads(json.dumps(blank)))
        source = (attack.source.replace("@COURSE@", str(course)).replace("@GRADEBOOK@", str(course / "gb.db"))
                  .replace("@REPO@", str(REPO)).replace("@PORT@", "9").replace("@SOCKETS@", "[]"))
        nb.cells.insert(2, nbformat.v4.new_code_cell(source))
        folder = root / f"attack_{attack.name}" / "worksheet"
        folder.mkdir(parents=True)
        (folder / "worksheet.ipynb").write_text(json.dumps(nb))
        names.append(folder.parent.name)
    return names


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--sandbox", default="bwrap", choices=("bwrap", "none"))
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hostile-batch-") as tmp:
        tmp = Path(tmp)
        alone, mixed = tmp / "alone", tmp / "mixed"
        shutil.copytree(EXAMPLES, alone)
        shutil.copytree(EXAMPLES, mixed)
        outside = tmp / "outside.txt"
        outside.write_text("not a student's\n")
        folders = _hostile_class(mixed, outside)
        attacks = _attack_students(mixed, tmp)
        seconds_alone, peak_alone = _grade(alone, tmp / "out-alone", args.jobs, args.sandbox)
        seconds, peak = _grade(mixed, tmp / "out", args.jobs, args.sandbox)
        honest = {p.name for p in EXAMPLES.iterdir() if p.is_dir()}
        rows_alone = list(csv.reader(io.StringIO((tmp / "out-alone" / "grades.csv").read_text())))
        rows = list(csv.reader(io.StringIO((tmp / "out" / "grades.csv").read_text())))
        honest_rows = [r for r in rows[1:] if r[0] in honest]
        scored = sorted({r[0] for r in rows[1:] if r[0] not in honest and float(r[4]) > 0})
        hostile_points = sum(float(r[4]) for r in rows[1:] if r[0] not in honest)
        figures = {
            "jobs": args.jobs, "sandbox": args.sandbox,
            "hostile_students": len(folders) + len(attacks), "rows": len(rows) - 1,
            "honest_rows_identical": honest_rows == rows_alone[1:],
            "hostile_points": hostile_points, "hostile_students_with_points": scored,
            "seconds_alone": round(seconds_alone, 1), "seconds": round(seconds, 1),
            "peak_pss_mb_alone": round(peak_alone / 2**20), "peak_pss_mb": round(peak / 2**20),
            "under_target": peak < TARGET_BYTES,
        }
    print(json.dumps(figures, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    return 0 if figures["honest_rows_identical"] and figures["under_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
