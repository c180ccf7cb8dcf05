"""An instructor's semester end to end, with the command line alone and nbgrader's own tools: a new course and
assignment, release, five hand-ins in nbgrader's layout (late, blank, missing, wrong, right), grading, a
change of points and the regrade, `nbgrader release_feedback`, the Canvas and Moodle files cell by cell, and
formgrader (on 127.0.0.1, in Chromium) listing the graded submissions."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest
from browser_support import _free_port
from nbgrader_support import nbgrader

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
DUE = "2030-01-31 23:59:00"
# Points of the scaffold: decomposition 2, graph 1, forward 3, reverse 3, torch_gradient 2.
POINTS = {"decomposition": 2, "graph": 1, "forward": 3, "reverse": 3, "torch_gradient": 2}
NEW_FORWARD_POINTS = 5
# The wrong hand-in: forward mode drops the product rule's second term at x1 (earns nothing on forward), the
# torch exercise never calls backward() (x.grad stays None); the rest is right.
WRONG = {"forward": ("dv2dx0 = dv0dx0 * v1 + v0 * dv1dx0", "dv2dx0 = dv0dx0 * v1 + v0"),
         "torch_gradient": ("y.backward()", "pass")}


def cli(course: Path, *argv: str, ok: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "autodiff_course.cli", *argv], cwd=course, capture_output=True,
                         text=True, timeout=600)
    if ok:
        assert run.returncode == 0, (argv, run.stdout, run.stderr)
    return run


#: student -> (last name, first name, what they do): the class list the instructor enters in the gradebook.
CLASS = {"rita": ("Ruiz", "Rita", "right"), "lou": ("Lee", "Lou", "right, late"), "bea": ("Berg", "Bea", "blank"),
         "will": ("Wong", "Will", "wrong"), "mia": ("Moreau", "Mia", "nothing")}
LATE = "2030-02-02 05:00:00.000000 UTC"  # 1 day 5 h 1 min after DUE: two started days


def exchange_flags(exchange: Path, cache: Path) -> list[str]:
    return ["--course=ad101", f"--Exchange.root={exchange}", f"--Exchange.cache={cache}"]


def student_works(home: Path, student: str, exchange: Path, solutions: dict[str, str],
                  edits: dict | None) -> None:
    """As the student: fetch the assignment from nbgrader's exchange, answer (the instructor's solutions with
    `edits` applied; nothing for a blank hand-in) and submit."""
    work = home / student
    work.mkdir(parents=True)
    flags = exchange_flags(exchange, home / f".cache-{student}")
    nbgrader(work, "fetch_assignment", "hw1", *flags)
    path = work / "hw1" / "hw1.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if gid in solutions:
            source = solutions[gid]
            old, new = (edits or {}).get(gid[: -len("-answer")], ("", ""))
            if old:
                assert old in source
                source = source.replace(old, new)
            cell.source = source
    nbformat.write(nb, path)
    nbgrader(work, "submit", "hw1", f"--student={student}", *flags)


def rows_of(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def semester(tmp_path_factory):
    started = time.monotonic()
    root = tmp_path_factory.mktemp("semester")
    course, home, exchange = root / "course", root / "home", root / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # nbgrader's exchange is a shared, world-writable folder
    cli(root, "init", str(course), "--course-id", "ad101")
    cli(course, "new-assignment", "hw1")
    toml = course / "graders" / "hw1.toml"
    # The instructor sets the due date and a late policy: 10 % per started day, at most 50 %.
    text = toml.read_text().replace(f'# due = "{DUE}"', f'due = "{DUE}"')
    text = text.replace("# [late]\n# per = \"day\"\n# penalty = 10\n# cap = 50\n",
                        "[late]\nper = \"day\"\npenalty = 10\ncap = 50\n")
    assert f'\ndue = "{DUE}"' in text and "\n[late]\n" in text
    toml.write_text(text)
    cli(course, "sync-notebooks", "--check")
    class_list = root / "students.csv"  # the class list, imported in one nbgrader command
    class_list.write_text("id,last_name,first_name,email\n" + "".join(
        f"{student},{last},{first},{student}@example.edu\n" for student, (last, first, _) in CLASS.items()))
    nbgrader(course, "db", "student", "import", str(class_list))
    released_paths = cli(course, "release").stdout.split()
    assert released_paths == [str(course / "release" / "hw1" / "hw1.ipynb")]
    nbgrader(course, "release_assignment", "hw1", f"--Exchange.root={exchange}")
    source = nbformat.read(course / "notebooks" / "hw1" / "hw1.ipynb", as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    student_works(home, "rita", exchange, solutions, None)
    student_works(home, "lou", exchange, solutions, None)
    student_works(home, "bea", exchange, {}, None)
    student_works(home, "will", exchange, solutions, WRONG)
    nbgrader(course, "collect", "hw1", f"--Exchange.root={exchange}")
    # Submitted now, years before the due date; lou's hand-in is made late by its timestamp.
    (course / "submitted" / "lou" / "hw1" / "timestamp.txt").write_text(LATE)
    first = cli(course, "grade", "--jobs", "2", "-q")
    first_rows = rows_of(course / "graded" / "grades.csv")
    first_export = rows_of(course / cli(course, "export").stdout.strip())
    toml.write_text(toml.read_text().replace('id = "forward"\nkind = "forward"\npoints = 3\n',
                                             f'id = "forward"\nkind = "forward"\npoints = {NEW_FORWARD_POINTS}\n'))
    cli(course, "sync-notebooks")
    stale = cli(course, "feedback")
    second = cli(course, "grade", "--jobs", "2", "-q")
    yield {"course": course, "home": home, "exchange": exchange, "first": first, "second": second, "stale": stale,
           "first_rows": first_rows, "first_export": first_export, "started": started}
    print(f"\nsemester: {time.monotonic() - started:.1f} s")


def totals(rows: list[dict]) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in rows:
        out[r["student"]] = round(out.get(r["student"], 0.0) + float(r["score"]), 4)
    return out


def score(rows: list[dict], student: str, exercise: str) -> float:
    return float(next(r["score"] for r in rows if r["student"] == student and r["exercise"] == exercise))


def test_release_recorded_the_assignment_and_due_date_in_the_course_gradebook(semester):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{semester['course'] / 'gradebook.db'}", course_id="ad101") as gb:
        assert str(gb.find_assignment("hw1").duedate) == DUE


def test_first_grading_scores_each_kind_of_hand_in(semester):
    rows = semester["first_rows"]
    full = sum(POINTS.values())
    # will loses part of forward and of the torch exercise (partial credit), nothing else.
    will = full - POINTS["forward"] - POINTS["torch_gradient"] + score(rows, "will", "forward") + score(
        rows, "will", "torch_gradient")
    assert 0 < score(rows, "will", "forward") < POINTS["forward"]
    assert 0 < score(rows, "will", "torch_gradient") < POINTS["torch_gradient"]
    # lou: 1 day 5 h 1 min late -> 2 started days -> 20 % of 11 points off.
    assert totals(rows) == {"rita": full, "lou": round(full * 0.8, 4), "bea": 0.0, "will": round(will, 4),
                            "mia": 0.0}
    assert [(r["student"], r["score"]) for r in rows if r["status"] == "late"] == [("lou", "-2.2")]
    assert {r["status"] for r in rows if r["student"] == "mia"} == {"missing"}
    assert {r["status"] for r in rows if r["student"] in ("rita", "lou") and r["exercise"] in POINTS} == {"ok"}
    export = {r["student_id"]: r for r in semester["first_export"]}
    assert set(export) == {"rita", "lou", "bea", "will", "mia"}  # mia too, as nbgrader export lists her
    assert (export["lou"]["raw_score"], export["lou"]["late_submission_penalty"], export["lou"]["score"]) == (
        "11", "2.2", "8.8")
    assert export["lou"]["timestamp"].startswith("2030-02-02 05:00:00")


def test_changed_points_are_judged_again_without_running_and_are_no_tampering(semester):
    # Before the regrade, `feedback` says which results predate the change instead of showing old points.
    stale = [line for line in semester["stale"].stderr.splitlines() if "graded before the config changed" in line]
    assert sorted(line.split("/")[0].split(": ")[-1] for line in stale) == sorted(CLASS)
    assert all("(forward)" in line for line in stale)
    second = semester["second"]
    assert "4 judged again from their stored runs" in second.stdout
    assert "tamper" not in second.stdout + second.stderr
    rows = rows_of(semester["course"] / "graded" / "grades.csv")
    assert "tampered" not in {r["status"] for r in rows}
    full = sum(POINTS.values()) - POINTS["forward"] + NEW_FORWARD_POINTS
    assert {r["max_score"] for r in rows if r["exercise"] == "forward"} == {str(NEW_FORWARD_POINTS)}
    # will's share of forward is unchanged; only the points it is worth changed.
    share = score(semester["first_rows"], "will", "forward") / POINTS["forward"]
    assert score(rows, "will", "forward") == pytest.approx(share * NEW_FORWARD_POINTS, abs=1e-3)
    assert totals(rows)["rita"] == full and totals(rows)["lou"] == round(full * 0.8, 4)
    from autodiff_course.grading.gradebook import gradebook_totals

    book = gradebook_totals(semester["course"] / "gradebook.db")
    assert book[("rita", "hw1")] == full
    exported = semester["course"] / cli(semester["course"], "export").stdout.strip()
    export = {r["student_id"]: r for r in rows_of(exported)}
    assert (export["rita"]["score"], export["rita"]["max_score"]) == ("13", "13")  # no 13 out of 11
    feedback = (semester["course"] / "graded" / "feedback" / "lou" / "hw1" / "hw1.html").read_text()
    assert "late" in feedback and "-2.6 points" in feedback


def test_feedback_reaches_each_student_through_release_feedback_and_fetch_feedback(semester):
    course, home, exchange = semester["course"], semester["home"], semester["exchange"]
    nbgrader(course, "release_feedback", "hw1", f"--Exchange.root={exchange}")
    assert len(list((exchange / "ad101" / "feedback").glob("*.html"))) == 4  # every hand-in, not mia
    for student in ("rita", "lou", "bea", "will"):
        nbgrader(home / student, "fetch_feedback", "hw1",
                 *exchange_flags(exchange, home / f".cache-{student}"))
        fetched = list((home / student / "hw1" / "feedback").glob("*/hw1.html"))
        assert len(fetched) == 1, student  # their own page only
        ours = course / "graded" / "feedback" / student / "hw1" / "hw1.html"
        assert fetched[0].read_bytes() == ours.read_bytes()
        page = fetched[0].read_text()
        assert f"Student: <b>{student}</b>" in page
        assert not any(f"<b>{other}</b>" in page for other in CLASS if other != student)
        assert "HIDDEN" not in page and "-0.7, 1.3" not in page  # no hidden test point


def test_canvas_and_moodle_files_cell_by_cell(semester):
    course = semester["course"]
    rows = rows_of(course / "graded" / "grades.csv")
    will = f"{totals(rows)['will']:.2f}".rstrip("0").rstrip(".")
    canvas = course / "canvas.csv"
    cli(course, "lms", "canvas", "--to", str(canvas))
    with canvas.open(newline="") as handle:
        table = list(csv.reader(handle))
    assert table == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw1"],
        ["Points Possible", "", "", "", "", "13"],
        ["Berg, Bea", "", "", "bea", "", "0"],
        ["Lee, Lou", "", "", "lou", "", "10.4"],
        ["Moreau, Mia", "", "", "mia", "", ""],
        ["Ruiz, Rita", "", "", "rita", "", "13"],
        ["Wong, Will", "", "", "will", "", will],
    ]
    moodle = course / "moodle.csv"
    cli(course, "lms", "moodle", "--to", str(moodle), "--missing", "zero")
    with moodle.open(newline="") as handle:
        table = list(csv.reader(handle))
    assert table == [["Username", "Email address", "hw1"], ["bea", "bea@example.edu", "0"],
                     ["lou", "lou@example.edu", "10.4"], ["mia", "mia@example.edu", "0"],
                     ["rita", "rita@example.edu", "13"], ["will", "will@example.edu", will]]


def test_report_counts_missing_and_unanswered_apart(semester):
    page = (semester["course"] / "graded" / "report.html").read_text()
    assert "5 students; 3 submissions graded, 1 handed in unanswered, 1 missing." in page
    assert '<td class="missing">missing</td>' in page


def test_unknown_names_and_an_unreachable_scheduler_fail_in_one_line_within_seconds(semester):
    course = semester["course"]
    for argv, word in ((["--assignment", "hw9"], "hw9"), (["--student", "zed"], "zed"),
                       (["--dask-scheduler", f"tcp://127.0.0.1:{_free_port()}"], "no Dask scheduler")):
        started = time.monotonic()
        run = cli(course, "grade", *argv, ok=False)
        assert run.returncode == 2 and run.stderr.count("\n") == 1 and word in run.stderr, run.stderr
        assert time.monotonic() - started < 15


def test_one_student_regraded_alone(semester):
    run = cli(semester["course"], "grade", "--student", "will", "--rerun", "-q")
    assert "1 graded" in run.stdout


@pytest.mark.browser
def test_formgrader_lists_the_graded_submissions_in_chromium(semester, browser, tmp_path):
    # The session's one Chromium (tests/browser/conftest.py): a second sync Playwright in the same process
    # fails once another browser test has started the first.
    course = semester["course"]
    port, token = _free_port(), uuid.uuid4().hex
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
               JUPYTER_PLATFORM_DIRS="1", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "jupyter"), "server", "--ip=127.0.0.1", f"--port={port}", f"--ServerApp.token={token}",
         "--ServerApp.open_browser=False", f"--ServerApp.root_dir={course}", "--ServerApp.port_retries=0",
         "--allow-root",
         '--ServerApp.jpserver_extensions={"nbgrader.server_extensions.formgrader": True}'],
        cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.3)
        context = browser.new_context()
        try:
            page = context.new_page()
            # The login page turns the token into a cookie; formgrader's API calls then carry it.
            page.goto(f"{url}/login?next=%2Fapi%2Fstatus")
            page.fill("input[name=password]", token)
            page.click("button[type=submit], input[type=submit]")
            page.wait_for_load_state()
            page.goto(f"{url}/formgrader/manage_submissions/hw1")
            text = _body_once(page, "rita")
            for student in ("bea", "lou", "rita", "will"):
                assert student in text
            page.goto(f"{url}/formgrader/manage_assignments")
            _body_once(page, "hw1")
            table = page.evaluate("""() => [...document.querySelectorAll('tr')].map(
                tr => [...tr.querySelectorAll('th,td')].map(c => c.innerText.trim()))""")
            header = next(r for r in table if "# Submissions" in r)
            row = next(r for r in table if r and r[0] == "hw1")
            assert row[header.index("# Submissions")] == "4", table
        finally:
            context.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _body_once(page, word: str, seconds: float = 30) -> str:
    """The page's text once `word` shows (formgrader fills its tables from its API after loading)."""
    deadline = time.monotonic() + seconds
    while True:
        text = page.inner_text("body")
        if word in text:
            return text
        assert time.monotonic() < deadline, f"{word!r} never appeared on {page.url}:\n{text[:2000]}"
        time.sleep(0.3)
