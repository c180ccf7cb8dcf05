"""Files of a submission read as untrusted data: hard links (the rule of `grading.notebooks._Links`, and what
each student sees), and special files that are checked before anything opens them.

One file with several names cannot say which name is the original. So a file is read only if all its names
are in the same submission; one shared with another student is graded as nobody's (each is told why, in the
same words, and only the class report names the other copy); one with a name outside the submissions folder
is refused as a link outside the submission. A data file refused so is left out and the notebook is still
graded; only a refused notebook costs the submission. Reading happens before any sandbox, so there is no
bubblewrap or fallback variant of these.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from autodiff_course.grading.batch import grade
from autodiff_course.grading.notebooks import UntrustedFileError, find_submissions, read_untrusted

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "submitted"
CONFIGS = {"hw": SimpleNamespace(notebook="hw.ipynb")}


def _notebook(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    return path


def _by_student(root: Path) -> dict:
    subs, _ = find_submissions(root, CONFIGS)
    return {s.student: s for s in subs}


def test_names_inside_one_submission_are_read_as_usual(tmp_path):
    folder = tmp_path / "subs" / "amy" / "hw"
    nb = _notebook(folder / "hw.ipynb", "x = 1")
    os.link(nb, folder / "hw-backup.ipynb")  # a second name of the notebook, in the same folder
    (folder / "data.csv").write_text("1,2\n")
    os.link(folder / "data.csv", folder / "copy.csv")
    amy = _by_student(tmp_path / "subs")["amy"]
    assert amy.refused is None, amy.refused
    assert amy.notebook_bytes == nb.read_bytes()
    assert amy.files == {"data.csv": b"1,2\n", "copy.csv": b"1,2\n"}


def test_a_data_file_linked_outside_is_left_out_and_the_notebook_still_graded(tmp_path):
    secret = tmp_path / "instructor" / "answers.csv"
    secret.parent.mkdir()
    secret.write_text("the hidden reference\n")
    folder = tmp_path / "subs" / "bo" / "hw"
    _notebook(folder / "hw.ipynb", "x = 1")
    (folder / "mine.csv").write_text("3\n")
    os.link(secret, folder / "data.csv")
    bo = _by_student(tmp_path / "subs")["bo"]
    assert bo.refused is None and bo.notebook_bytes is not None
    assert bo.files == {"mine.csv": b"3\n"}  # nothing of the linked file reaches the sandbox
    (line,) = [p for p in bo.problems if "data.csv" in p]
    assert line == (f"{folder / 'data.csv'}: is a hard link to a file outside the submission (2 names for one "
                    "file); refused; the file is left out")


def test_a_notebook_linked_outside_is_not_graded(tmp_path):
    source = _notebook(tmp_path / "course" / "hw.ipynb", "solution = 42")
    (tmp_path / "subs" / "cy" / "hw").mkdir(parents=True)
    os.link(source, tmp_path / "subs" / "cy" / "hw" / "hw.ipynb")
    cy = _by_student(tmp_path / "subs")["cy"]
    assert cy.notebook_bytes is None and cy.refused_detail is None
    assert cy.refused == (f"{tmp_path / 'subs' / 'cy' / 'hw' / 'hw.ipynb'}: is a hard link to a file outside the "
                          "submission (2 names for one file); refused; not graded")


def test_a_file_shared_by_two_students_is_neither_ones_and_only_the_detail_names_the_other(tmp_path):
    subs = tmp_path / "subs"
    original = _notebook(subs / "dee" / "hw" / "hw.ipynb", "answer = 'dee worked this out'")
    (subs / "eli" / "hw").mkdir(parents=True)
    os.link(original, subs / "eli" / "hw" / "hw.ipynb")
    (subs / "dee" / "hw" / "data.csv").write_text("7\n")
    os.link(subs / "dee" / "hw" / "data.csv", subs / "eli" / "hw" / "data.csv")
    found = _by_student(subs)
    for me, other in (("dee", "eli"), ("eli", "dee")):
        sub = found[me]
        assert sub.notebook_bytes is None
        mine = subs / me / "hw" / "hw.ipynb"
        assert sub.refused == (f"{mine}: is the same file as one in another student's submission (a hard "
                               "link, 2 names); not graded as anyone's work until the instructor separates "
                               "the copies (the class report names them); not graded")
        assert other not in sub.refused
        assert sub.refused_detail == f"{mine} is the same file as {subs / other / 'hw' / 'hw.ipynb'}"


def test_a_link_made_after_the_folder_was_indexed_is_refused_on_the_open_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1\n")
    os.link(path, tmp_path / "second.csv")
    st = path.stat()
    assert read_untrusted(None, path, 100, links={(st.st_dev, st.st_ino): 2}) == b"1\n"
    os.link(path, tmp_path / "third.csv")  # a name the index did not see
    with pytest.raises(UntrustedFileError, match="hard link to a file outside the submission"):
        read_untrusted(None, path, 100, links={(st.st_dev, st.st_ino): 2})


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the example class is not built yet")
def test_a_shared_notebook_in_a_batch_tells_each_student_why_and_the_report_names_both(tmp_path):
    assignment = "autodiff_by_hand"
    subs = tmp_path / "submitted"
    shutil.copytree(EXAMPLES / "ada" / assignment, subs / "ada" / assignment)
    (subs / "zed" / assignment).mkdir(parents=True)
    os.link(subs / "ada" / assignment / f"{assignment}.ipynb", subs / "zed" / assignment / f"{assignment}.ipynb")
    out = tmp_path / "graded"
    lines: list[str] = []
    summary = grade(course=REPO, submissions=subs, out=out, assignments=[assignment], jobs=1, progress=False,
                    report_line=lines.append, gradebook=out / "gradebook.db")
    rows = {r["student"]: r for r in summary.results}
    for me, other in (("ada", "zed"), ("zed", "ada")):
        assert rows[me]["score"] == 0 and {e["status"] for e in rows[me]["exercises"]} == {"error"}
        # What the student may be shown (problems, messages) says why, and never whose file it is.
        shown = " ".join(rows[me]["problems"] + [e["message"] for e in rows[me]["exercises"]])
        assert "another student's submission" in shown and other not in shown
        assert {e.get("internal") for e in rows[me]["exercises"]} == {
            f"{subs / me / assignment / (assignment + '.ipynb')} is the same file as "
            f"{subs / other / assignment / (assignment + '.ipynb')}"}
    report = (out / "report.html").read_text()
    assert str(subs / "zed" / assignment) in report and str(subs / "ada" / assignment) in report


def _wchan(thread: threading.Thread) -> str:
    try:
        return Path(f"/proc/self/task/{thread.native_id}/wchan").read_text()
    except OSError:
        return ""


def test_a_fifo_in_place_of_a_hand_in_file_is_refused_without_being_opened(tmp_path):
    # A writer's blocking open of a FIFO returns only once a reader opens it: if the grader opened the FIFO
    # (the way a device's driver would run on open), the writer would get through.
    fifo = tmp_path / "timestamp.txt"
    os.mkfifo(fifo)
    opened = threading.Event()

    def writer():
        fd = os.open(fifo, os.O_WRONLY)
        opened.set()
        os.close(fd)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    give_up = time.monotonic() + 10
    while _wchan(thread) != "wait_for_partner":  # the writer is waiting in its open
        if time.monotonic() > give_up:
            pytest.skip("this kernel does not show where a thread waits (/proc/.../wchan)")
        time.sleep(0.01)
    with pytest.raises(UntrustedFileError, match="is a FIFO, not a plain file"):
        read_untrusted(None, fifo, 100)
    assert not opened.wait(1.0)
    os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # let the writer go
    thread.join(5)
    assert opened.is_set()


def test_a_symbolic_link_is_refused_as_one(tmp_path):
    target = tmp_path / "secret.txt"
    target.write_text("root only\n")
    (tmp_path / "data.csv").symlink_to(target)
    with pytest.raises(UntrustedFileError, match="is a symbolic link; refused"):
        read_untrusted(None, tmp_path / "data.csv", 100)
