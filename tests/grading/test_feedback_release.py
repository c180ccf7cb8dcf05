"""Feedback reaches each student through nbgrader's own `release_feedback` and `fetch_feedback`, whatever the
hand-ins carried: no submission secret (folders placed by hand, identical notebooks), one secret copied into
two hand-ins, nbgrader's own secret, a resubmission through nbgrader that brings a new one, and nbgrader's
`generate_feedback --force` run over our pages. Real nbgrader commands on a course made with the CLI alone."""
from __future__ import annotations

import hashlib
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader_support import nbgrader

from autodiff_course.grading.feedback_secret import made_secret, own_secret, release_names

#: The class list: ann and ben hand in the same blank notebook without a secret; cat and dan the same
#: notebook with one secret between them; eve submits through nbgrader's exchange; fay hands in nothing.
CLASS = ("ann", "ben", "cat", "dan", "eve", "fay")
HANDED_IN = CLASS[:-1]
STAMP = "2026-11-30 20:15:03.123456 UTC"


def cli(course: Path, *argv: str, status: int = 0) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "autodiff_course.cli", *argv], cwd=course, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == status, (argv, run.stdout, run.stderr)
    return run


def released_name(secret: str, notebook_id: str = "hw1") -> str:
    """The exchange's file name of a page, as nbgrader computes it (`nbgrader.utils.notebook_hash`)."""
    from nbgrader.utils import notebook_hash

    return notebook_hash(secret=secret, notebook_id=notebook_id) + ".html"


class Student:
    """A student's side of nbgrader's exchange: their own folder and cache."""

    def __init__(self, root: Path, name: str):
        self.name, self.work, self.cache = name, root / "home" / name, root / "home" / f".cache-{name}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.flags = ["--course=ad101", f"--Exchange.root={root / 'exchange'}", f"--Exchange.cache={self.cache}"]

    def fetch_and_submit(self) -> str:
        """Fetch the assignment (once), submit it unchanged; the secret `nbgrader submit` kept for them."""
        if not (self.work / "hw1").is_dir():
            nbgrader(self.work, "fetch_assignment", "hw1", *self.flags)
        nbgrader(self.work, "submit", "hw1", f"--student={self.name}", *self.flags)
        newest = max(self.cache.glob(f"ad101/{self.name}+hw1+*"), key=lambda p: p.name)
        return (newest / "submission_secret.txt").read_text()

    def fetch_feedback(self) -> list[Path]:
        shutil.rmtree(self.work / "hw1" / "feedback", ignore_errors=True)
        nbgrader(self.work, "fetch_feedback", "hw1", *self.flags)
        return list((self.work / "hw1" / "feedback").glob("*/hw1.html"))


def page_student(page: str) -> str:
    """The student our feedback page is for."""
    found = re.findall(r"Student: <b>([^<]*)</b>", page)
    assert len(found) == 1
    return found[0]


def exchange_pages(root: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in (root / "exchange" / "ad101" / "feedback").glob("*.html")}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("feedback_release")
    (root / "exchange").mkdir()
    (root / "exchange").chmod(0o777)  # nbgrader's exchange is a shared, world-writable folder
    cli(root, "init", "course", "--course-id", "ad101")
    course = root / "course"
    cli(course, "new-assignment", "hw1")
    cli(course, "release")
    (root / "students.csv").write_text("id,last_name,first_name,email\n" + "".join(
        f"{s},{s.title()},{s.title()},{s}@example.edu\n" for s in CLASS))
    nbgrader(course, "db", "student", "import", str(root / "students.csv"))
    nbgrader(course, "release_assignment", "hw1", f"--Exchange.root={root / 'exchange'}")
    eve_secret = Student(root, "eve").fetch_and_submit()
    nbgrader(course, "collect", "hw1", f"--Exchange.root={root / 'exchange'}")
    shared = secrets.token_hex(64)  # as nbgrader writes one
    for student in ("ann", "ben", "cat", "dan"):
        folder = course / "submitted" / student / "hw1"
        folder.mkdir(parents=True)
        shutil.copy(course / "release" / "hw1" / "hw1.ipynb", folder / "hw1.ipynb")
        (folder / "timestamp.txt").write_text(STAMP)
        if student in ("cat", "dan"):
            (folder / "submission_secret.txt").write_text(shared)
    graded = cli(course, "grade", "-q", "--jobs", "1")
    return {"root": root, "course": course, "graded": graded, "shared": shared, "eve": eve_secret}


def written_secrets(course: Path) -> dict[str, str]:
    return {s: (course / "graded" / "feedback" / s / "hw1" / "submission_secret.txt").read_text()
            for s in HANDED_IN}


@pytest.mark.slow
def test_every_hand_in_is_released_into_a_file_of_its_own_holding_its_own_page(course):
    root, course_dir = course["root"], course["course"]
    ours = {s: (course_dir / "graded" / "feedback" / s / "hw1" / "hw1.html").read_text() for s in HANDED_IN}
    assert ours["ann"].replace("ann", "ben") == ours["ben"]  # the same notebook: the same page but the name
    nbgrader(course_dir, "release_feedback", "hw1", f"--Exchange.root={root / 'exchange'}")
    pages = exchange_pages(root)
    assert sorted(page_student(page) for page in pages.values()) == sorted(HANDED_IN)  # fay has none
    for student, secret in written_secrets(course_dir).items():
        assert pages[released_name(secret)] == ours[student]
    # eve's own secret is kept, so her `fetch_feedback` finds her page, and only hers.
    assert written_secrets(course_dir)["eve"] == course["eve"]
    fetched = Student(root, "eve").fetch_feedback()
    assert [page_student(p.read_text()) for p in fetched] == ["eve"]


@pytest.mark.slow
def test_a_secret_two_hand_ins_share_is_replaced_for_both_and_the_instructor_told(course):
    written = written_secrets(course["course"])
    assert course["shared"] not in (written["cat"], written["dan"])
    assert len(set(written.values())) == len(HANDED_IN)
    lines = [line for line in course["graded"].stderr.splitlines() if "submission_secret.txt" in line]
    assert len(lines) == 1 and lines[0].startswith("cat/hw1, dan/hw1: the same submission_secret.txt")
    assert "ann" not in lines[0] and "eve" not in lines[0]


@pytest.mark.slow
def test_the_summary_counts_a_student_who_handed_in_nothing_as_missing_not_graded(course):
    out = course["graded"].stdout
    assert re.search(r"^fay\s+missing\s+0/11$", out, re.MULTILINE), out
    assert re.search(r"^ann\s+0/11\s+0/11$", out, re.MULTILINE), out  # a blank hand-in is graded, 0
    assert f"{len(HANDED_IN)} graded, 1 missing (nothing handed in), 0 unchanged" in out


@pytest.mark.slow
def test_generate_feedback_force_then_release_feedback_still_releases_each_page_under_its_secret(course):
    root, course_dir = course["root"], course["course"]
    before = written_secrets(course_dir)
    # nbgrader's habit: it replaces each feedback folder with its own rendering of the graded notebook.
    nbgrader(course_dir, "generate_feedback", "hw1", "--force")
    assert written_secrets(course_dir) == before
    generated = (course_dir / "graded" / "feedback" / "ann" / "hw1" / "hw1.html").read_text()
    assert "Student: <b>" not in generated  # nbgrader's page now, not ours
    nbgrader(course_dir, "release_feedback", "hw1", f"--Exchange.root={root / 'exchange'}")
    pages = exchange_pages(root)
    assert set(pages) == {released_name(secret) for secret in before.values()}
    assert {"Student: <b>" in page for page in pages.values()} == {False}
    # `autodiff-course feedback` puts our pages back, beside the same secrets.
    cli(course_dir, "feedback")
    assert written_secrets(course_dir) == before
    assert {page_student((course_dir / "graded" / "feedback" / s / "hw1" / "hw1.html").read_text())
            for s in HANDED_IN} == set(HANDED_IN)


@pytest.mark.slow
def test_a_resubmission_through_nbgrader_brings_a_secret_used_without_rerun(course):
    root, course_dir = course["root"], course["course"]
    ann = Student(root, "ann")
    before = written_secrets(course_dir)
    secret = ann.fetch_and_submit()  # the same blank notebook, now through nbgrader's exchange
    nbgrader(course_dir, "collect", "hw1", "--update", f"--Exchange.root={root / 'exchange'}")
    assert (course_dir / "submitted" / "ann" / "hw1" / "submission_secret.txt").read_text() == secret
    again = cli(course_dir, "grade", "-q", "--jobs", "1")
    # The notebook is unchanged: nothing is run again; the made secrets are the same on every run.
    assert f"0 graded, {len(CLASS)} unchanged" in again.stdout
    assert written_secrets(course_dir) == {**before, "ann": secret}
    nbgrader(course_dir, "release_feedback", "hw1", f"--Exchange.root={root / 'exchange'}")
    assert [page_student(p.read_text()) for p in ann.fetch_feedback()] == ["ann"]


def test_made_secrets_differ_per_student_and_assignment_and_need_the_course_key():
    key, other_key = secrets.token_hex(32), secrets.token_hex(32)
    made = {(a, s): made_secret(key, a, s) for a in ("hw1", "hw2") for s in ("ann", "ben", "ann\0hw1")}
    assert len(set(made.values())) == len(made)
    assert made_secret(key, "hw1", "ann") == made[("hw1", "ann")]  # stable
    assert made_secret(other_key, "hw1", "ann") != made[("hw1", "ann")]
    assert all(own_secret(value) == value for value in made.values())  # hex, as nbgrader's


@pytest.mark.parametrize("text", ["", "\n", "not hex at all", "abc", "g" * 64, "../../x", "12" * 101])
def test_a_secret_that_is_not_one_as_nbgrader_writes_is_not_used(text):
    assert own_secret(text) == ""


def test_a_real_secret_is_kept_byte_for_byte():
    text = secrets.token_hex(64) + "\n"  # fetch_feedback hashes the student's copy as it is
    assert own_secret(text) == text


def test_release_names_replace_every_secret_whose_released_file_another_hand_in_would_share():
    key, shared, own = secrets.token_hex(32), secrets.token_hex(64), secrets.token_hex(64)

    def result(student, assignment, secret, handed_in=True):
        return {"student": student, "assignment": assignment, "submission_secret": secret, "handed_in": handed_in}

    results = [result("ann", "hw1", shared), result("ann", "hw2", shared),  # the same notebook id in both
               result("ben", "hw1", own), result("cat", "hw1", ""), result("dan", "hw1", "", handed_in=False)]
    names = release_names(results, {"hw1": "nb", "hw2": "nb"}, key)
    assert names.secrets == {("ann", "hw1"): made_secret(key, "hw1", "ann"),
                             ("ann", "hw2"): made_secret(key, "hw2", "ann"),
                             ("ben", "hw1"): own, ("cat", "hw1"): made_secret(key, "hw1", "cat")}
    assert len(names.problems) == 1 and names.problems[0].startswith("ann/hw1, ann/hw2: ")
    # Different notebook ids give different files: one secret in both is then no clash.
    assert release_names(results, {"hw1": "nb1", "hw2": "nb2"}, key).secrets[("ann", "hw1")] == shared
    released = {hashlib.md5((s + "nb").encode()).hexdigest() for s in names.secrets.values()}
    assert len(released) == len(names.secrets)
