"""With a due date, a hand-in whose time cannot be read is flagged (grades.csv, feedback, report, gradebook
export) and charged as the `[late] missing_timestamp` policy says; a readable time keeps nbgrader's rules."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from test_gradebook import make_course

from autodiff_course.grading.batch import TIMESTAMP_ROW, grade

pytestmark = pytest.mark.slow  # grades eight small notebooks (about 17 s)

DUE = "2030-01-31 23:59:00"


def hand_in(root: Path, student: str, stamp) -> None:
    """`student`'s right answer in nbgrader's layout, with `stamp` as its timestamp.txt: text, bytes,
    "DIR" (a directory in its place) or None (no file)."""
    import nbformat

    source = nbformat.read(root / "course" / "notebooks" / "demo" / "demo.ipynb", as_version=4)
    folder = root / "submitted" / student / "demo"
    folder.mkdir(parents=True)
    source.cells.insert(1, nbformat.v4.new_code_cell("y = 2"))
    nbformat.write(source, folder / "demo.ipynb")
    if stamp == "DIR":
        (folder / "timestamp.txt").mkdir()
    elif stamp is not None:
        (folder / "timestamp.txt").write_bytes(stamp if isinstance(stamp, bytes) else stamp.encode())


CASES = {  # student: (timestamp.txt, the flag's words or None for a readable time)
    "ontime": ("2030-01-30 10:00:00.000000 UTC", None),
    "late1d": ("2030-02-01 10:00:00.000000 UTC", None),
    "nofile": (None, "no timestamp.txt"),
    "empty": ("", "timestamp.txt is empty"),
    "garbage": ("p1_1000d300000 <b>not a time</b>", "timestamp.txt holds no time"),
    "binary": (b"\xef\xbb\xbf\x00\x1b[31m2030", "timestamp.txt holds no time"),
    "isdir": ("DIR", "timestamp.txt is not a plain file"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("late")
    make_course(root / "course")
    toml = root / "course" / "graders" / "demo.toml"
    toml.write_text(toml.read_text().replace('title = "Demo"', f'title = "Demo"\ndue = "{DUE}"\n'
                                             '[late]\nper = "day"\npenalty = 10\ncap = 50\n', 1))
    for student, (stamp, _) in CASES.items():
        hand_in(root, student, stamp)
    outs = {}
    for policy in ("on-time", "late"):
        if policy == "late":
            toml.write_text(toml.read_text().replace("cap = 50", 'cap = 50\nmissing_timestamp = "late"'))
        out = root / f"out-{policy}"
        grade(course=root / "course", submissions=root / "submitted", out=out, jobs=1, progress=False,
              gradebook=out / "gradebook.db", report_line=lambda _line: None, allow_unsandboxed=True)
        outs[policy] = out
    return outs


def rows(out: Path) -> list[dict]:
    with (out / "grades.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("policy, charged", [("on-time", 0.0), ("late", 2.5)])
def test_unreadable_times_are_flagged_and_charged_by_the_policy(graded, policy, charged):
    out = graded[policy]
    flagged = {r["student"]: float(r["score"]) for r in rows(out) if r["status"] == "timestamp"}
    assert all(r["exercise"] == TIMESTAMP_ROW for r in rows(out) if r["status"] == "timestamp")
    assert flagged == {s: -charged for s, (_, why) in CASES.items() if why}
    # A readable time: nbgrader's rule as before (one started day late, 10 % of 5 points), on time is silent.
    late = [(r["student"], r["score"]) for r in rows(out) if r["status"] == "late"]
    assert late == [("late1d", "-0.5")]
    for student, (_, why) in CASES.items():
        page = (out / "feedback" / student / "demo" / "demo.html").read_text()
        if why:
            treated = "late" if policy == "late" else "on time"
            assert f"no readable submission time ({why}): treated as {treated}" in page
        else:
            assert "no readable submission time" not in page
        assert "p1_1000d300000" not in page and "&lt;b&gt;" not in page  # the file's text is not repeated
    report = (out / "report.html").read_text()
    assert "5 with no readable submission time" in report


def test_the_gradebook_export_carries_the_charged_penalty(graded):
    from autodiff_course.grading.gradebook import export_rows

    for policy, charged in (("on-time", 0.0), ("late", 2.5)):
        exported = {r["student_id"]: r for r in export_rows(graded[policy] / "gradebook.db")}
        for student, (_, why) in CASES.items():
            if why:
                assert exported[student]["timestamp"] == ""
                assert float(exported[student]["score"]) == 5.0 - charged


def test_no_due_date_flags_nothing(tmp_path):
    make_course(tmp_path / "course")
    hand_in(tmp_path, "nofile", None)
    out = tmp_path / "out"
    grade(course=tmp_path / "course", submissions=tmp_path / "submitted", out=out, jobs=1, progress=False,
          gradebook=out / "gradebook.db", report_line=lambda _line: None, allow_unsandboxed=True)
    assert [r["status"] for r in rows(out)] == ["ok", "ok"]
    assert os.path.getsize(out / "grades.csv") > 0
