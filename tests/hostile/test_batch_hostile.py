"""Hostile submission folders in a batch: none scores, none is followed or read, none stops the batch.

A class of two honest students (copies of the example class) plus one student per attack is graded with
`grade()` under bubblewrap and under the fallback. Every attack gets its rows with the exact status, no
hostile row earns a point, nothing the grader must not read reaches a graded notebook, the honest rows are
byte for byte those of grading the honest students alone, grades.csv, the report and the gradebook are
written, and a second run (resume) grades nothing again.
"""

import csv
import io
import json
import os
import shutil
import socket
import threading
from pathlib import Path

import nbformat
import pytest

from autodiff_course.grading.batch import grade
from autodiff_course.grading.sandbox import bwrap_available

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops to a separate uid: needs root"),
              pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "submitted"
ASSIGNMENT = "worksheet"
NOTEBOOK = "worksheet.ipynb"
HONEST = ("ada", "chen")


def _blank() -> nbformat.NotebookNode:
    return nbformat.read(EXAMPLES / "ben" / ASSIGNMENT / NOTEBOOK, as_version=4)


def _write(folder: Path, nb) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NOTEBOOK).write_text(json.dumps(nb))  # escaped: lone surrogates are kept as \\udXXX


def _honest_class(root: Path) -> None:
    for student in HONEST:
        shutil.copytree(EXAMPLES / student / ASSIGNMENT, root / student / ASSIGNMENT)


def _hostile_class(root: Path, outside: Path) -> dict[str, str]:
    """The hostile students; returns {student: the status every one of their rows must carry}."""
    expect = {}
    sub = root / "link_notebook" / ASSIGNMENT
    sub.mkdir(parents=True)
    (sub / NOTEBOOK).symlink_to(REPO / "notebooks" / ASSIGNMENT / NOTEBOOK)  # the instructor's solutions
    expect["link_notebook"] = "error"

    (root / "link_folder").mkdir()
    (root / "link_folder" / ASSIGNMENT).symlink_to(root / "ada" / ASSIGNMENT)  # a classmate's hand-in
    expect["link_folder"] = "error"

    (root / "link_student").symlink_to(root / "chen")
    expect["link_student"] = "error"

    for name, make in (("link_data", lambda p: p.symlink_to(REPO / "graders" / f"{ASSIGNMENT}.toml")),
                       ("fifo_data", lambda p: os.mkfifo(p)),
                       ("device_data", lambda p: os.mknod(p, 0o644 | 0o020000, os.makedev(1, 3))),
                       ("socket_data", lambda p: _bind_socket(p))):
        folder = root / name / ASSIGNMENT
        shutil.copytree(EXAMPLES / "ada" / ASSIGNMENT, folder)  # an honest notebook next to the bad file
        make(folder / "data.csv")
        expect[name] = "error"

    # nbgrader's own files beside a hand-in, made hostile: a FIFO for the time, a link for the secret; and a
    # data file that is a hard link to a file outside the submission, which is only left out (the notebook,
    # blank here, is graded: it earns nothing).
    for name, make in (("hardlink_data", lambda f: os.link(outside, f / "data.csv")),
                       ("fifo_timestamp", lambda f: os.mkfifo(f / "timestamp.txt")),
                       ("link_secret", lambda f: (f / "submission_secret.txt").symlink_to(
                           REPO / "graders" / f"{ASSIGNMENT}.toml"))):
        _write(root / name / ASSIGNMENT, _blank())
        make(root / name / ASSIGNMENT)
        expect[name] = None

    source_copy = outside.parent / "instructor-copy.ipynb"
    shutil.copy(REPO / "notebooks" / ASSIGNMENT / NOTEBOOK, source_copy)
    (root / "hardlink_notebook" / ASSIGNMENT).mkdir(parents=True)
    os.link(source_copy, root / "hardlink_notebook" / ASSIGNMENT / NOTEBOOK)
    expect["hardlink_notebook"] = "error"

    many = root / "many_files" / ASSIGNMENT
    shutil.copytree(EXAMPLES / "ada" / ASSIGNMENT, many)
    for i in range(150):
        (many / f"d{i}.csv").write_text("1\n")
    expect["many_files"] = "error"

    cells = _blank()
    cells.cells += [nbformat.v4.new_code_cell("pass") for _ in range(2100)]
    _write(root / "many_cells" / ASSIGNMENT, cells)
    expect["many_cells"] = "error"

    deep = root / "deep_json" / ASSIGNMENT
    deep.mkdir(parents=True)
    (deep / NOTEBOOK).write_text('{"nbformat": 4, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    expect["deep_json"] = "error"

    for raw_name in (b"bad\xffname", b"new\nline"):
        folder = root / os.fsdecode(raw_name) / ASSIGNMENT
        shutil.copytree(EXAMPLES / "ada" / ASSIGNMENT, folder)
    expect["bad\\xffname (invalid name)"] = "error"
    expect["new\\x0aline (invalid name)"] = "error"

    # Well-formed but hostile notebooks, graded: they earn nothing and break nothing.
    nb = _blank()
    nb.cells[0].metadata["nbgrader"] = "not an object"
    nb.cells.append(nbformat.v4.new_markdown_cell("lone \ud800 surrogate <script>alert('md')</script>"))
    nb.cells.append(nbformat.v4.new_code_cell(
        "from IPython.display import HTML, Javascript, display\n"
        "display(HTML('<b>bold</b><script>alert(1)</script><img src=x onerror=alert(2)>'))\n"
        "display(Javascript('alert(3)'))\nprint('\\udcff')"))
    _write(root / "active_content" / ASSIGNMENT, nb)
    expect["active_content"] = None
    return expect


def _bind_socket(path: Path) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()


def _rows(out: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8"))))


@pytest.fixture(scope="module", params=["bwrap", "none"])
def sandbox(request):
    if request.param == "bwrap" and not bwrap_available()[0]:
        pytest.skip("bubblewrap cannot run here")
    return request.param


def test_a_class_with_every_hostile_folder_is_graded(sandbox, tmp_path):
    lines: list[str] = []

    def run(submissions: Path, out: Path):
        return grade(course=REPO, assignments=[ASSIGNMENT], submissions=submissions, out=out, jobs=2,
                     sandbox=sandbox, allow_unsandboxed=True, progress=False, report_line=lines.append,
                     gradebook=out / "gradebook.db")  # never the course's own

    alone = tmp_path / "alone"
    _honest_class(alone)
    run(alone, tmp_path / "out-alone")
    honest_alone = [r for r in _rows(tmp_path / "out-alone")]
    assert {r["student"] for r in honest_alone} == set(HONEST)

    mixed = tmp_path / "mixed"
    _honest_class(mixed)
    outside = tmp_path / "outside.txt"
    outside.write_text("not the student's\n")
    expect = _hostile_class(mixed, outside)
    done = threading.Event()
    watchdog = threading.Timer(600, lambda: done.is_set() or os._exit(3))  # a FIFO must never block the run
    watchdog.start()
    try:
        summary = run(mixed, tmp_path / "out")
    finally:
        done.set()
        watchdog.cancel()
    out = tmp_path / "out"
    for name in ("grades.csv", "report.html", "gradebook.db"):
        assert (out / name).is_file(), name
    rows = _rows(out)
    by_student: dict[str, list[dict]] = {}
    for r in rows:
        by_student.setdefault(r["student"], []).append(r)

    # Honest rows: byte for byte those of grading the honest students alone.
    assert [r for r in rows if r["student"] in HONEST] == honest_alone
    # Every hostile student has rows, with the exact status, and no points.
    assert set(by_student) == set(HONEST) | set(expect)
    for student, status in expect.items():
        assert all(float(r["score"]) == 0 for r in by_student[student]), (student, by_student[student])
        if status is not None:
            assert {r["status"] for r in by_student[student]} == {status}, (student, by_student[student])
    # The problem lines name what was refused.
    text = "\n".join(lines)
    for what in ("is a symbolic link", "is a FIFO", "is a hard link", "is a character device", "is a socket",
                 "JSON nested 100001 levels deep", "not plain UTF-8", "more than 100 data files",
                 "more than the 2000 a notebook may have", "timestamp.txt: not a plain file"):
        assert what in text, what

    # Nothing the grader must not read came back, and no active content reaches the instructor.
    secret = (REPO / "graders" / f"{ASSIGNMENT}.toml").read_text()
    graded = out / "autograded"
    for path in graded.rglob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        rendered = json.dumps([c["source"] for c in nb["cells"] if c["cell_type"] != "code"]
                              + [o for c in nb["cells"] for o in c.get("outputs", [])])
        for bad in ("<script", "application/javascript", "onerror"):
            assert bad not in rendered, (path, bad)
        assert secret[:200] not in path.read_text(encoding="utf-8")
    assert not (graded / "link_notebook").exists() and not (graded / "link_folder").exists()
    for stored in (out / ".results").rglob("*.json"):
        assert secret[:40] not in stored.read_text(encoding="utf-8"), stored
    active = json.loads((graded / "active_content" / ASSIGNMENT / NOTEBOOK).read_text(encoding="utf-8"))
    shown = json.dumps(active)
    assert "<b>bold</b>" in shown and "\\ufffd" in shown

    # A second run grades nothing again (every row, hostile ones included, is current) and rewrites the same.
    before = (out / "grades.csv").read_bytes()
    again = run(mixed, out)
    assert again.graded == 0 and again.reused == summary.graded + summary.missing + summary.reused
    assert (out / "grades.csv").read_bytes() == before
