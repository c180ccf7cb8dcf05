"""No detail of the grader's machine in what a student reads: a submission whose code fails on an absolute
path, prints its working folder and raises inside the engine, and a student who handed nothing in, get
feedback pages, graded notebooks and grades.csv without the course folder, the temporary folders, the Python
installation, the grader's traceback frames or the host's name."""
from __future__ import annotations

import getpass
import json
import socket
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from pasted_answers import ASSIGNMENT, EXAMPLES, REPO, _examples_module

from autodiff_course.checks.privacy import FOLDER, for_students, register_host_paths, traceback_for_students


def test_paths_of_the_grader_read_as_their_last_part():
    assert for_students(f"{REPO}/examples/submitted/ben/{ASSIGNMENT}: no submission") == f"{ASSIGNMENT}: no submission"
    assert for_students(f"No such file: '{tempfile.gettempdir()}/job-ab12cd/work/data.csv'") == \
        "No such file: './data.csv'"
    assert for_students(f"{sys.prefix}/lib/python3/site-packages/torch/nn.py:12") == "nn.py:12"
    # The student's own formulas and paths outside the grader stay as written.
    assert for_students("vbar2 = vbar6 * (-v1/v2**2); open('/etc/hosts')") == \
        "vbar2 = vbar6 * (-v1/v2**2); open('/etc/hosts')"


def test_a_value_made_of_host_folders_reads_as_placeholders(tmp_path):
    # What an outside review returned as a string answer: the folders bwrap bound, from its command line.
    course = tmp_path / "course"
    register_host_paths(course)
    folders = [str(REPO / "autodiff_course"), sys.base_prefix, str(Path(sys.prefix).parent), str(course),
               str(Path(sys.base_prefix).parent)]
    shown = for_students(repr(folders))
    assert shown.count(FOLDER) >= 3, shown
    for folder in folders:
        if len(Path(folder).parts) > 2:
            assert folder not in shown, (folder, shown)
    # In a page the path ends at the markup around it; a name that only starts like a folder is not one.
    assert for_students(f"<td>{course}/data.csv</td>") == "<td>data.csv</td>"
    assert for_students(f"<td>{course}</td>") == f"<td>{FOLDER}</td>"
    assert for_students(f"open('{tempfile.gettempdir()}files/a')") == f"open('{tempfile.gettempdir()}files/a')"


def test_the_graders_own_traceback_frames_are_dropped():
    package = Path(__file__).resolve().parents[2] / "autodiff_course"
    lines = ["Traceback (most recent call last):", "  Cell In[6], line 1", "    trace(function, 1.8, 2.4, 0.7)",
             f"  File {package}/graph/tracing.py:258 in trace", "    run = run_traced(f, inputs)",
             "  Cell In[4], line 3 in function", "    raise NotImplementedError()", "NotImplementedError"]
    assert traceback_for_students(lines) == [
        "Traceback (most recent call last):", "  Cell In[6], line 1", "    trace(function, 1.8, 2.4, 0.7)",
        "  Cell In[4], line 3 in function", "    raise NotImplementedError()", "NotImplementedError"]


@pytest.mark.slow
def test_batch_outputs_hold_no_host_detail(tmp_path):
    from autodiff_course.grading.batch import grade

    make = _examples_module()
    nb = nbformat.read(EXAMPLES / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for cell in nb.cells:
        exercise = make._answer_id(cell)
        if exercise == "forward":
            cell.source = ("def function_dx0(x0, x1, x2):\n"
                           f"    return open('{tmp_path}/points.csv').read(), 1.0\n")
        elif exercise == "reverse":
            cell.source += "\nimport os\nprint(os.getcwd())\nfrom autodiff_course import Scalar\nScalar(-1.0).log()\n"
    subs = tmp_path / "submitted"
    (subs / "zed" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(nb, subs / "zed" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    (subs / "yan" / "worksheet").mkdir(parents=True)  # handed in another assignment only
    out = tmp_path / "graded"
    grade(course=REPO, submissions=subs, out=out, assignments=[ASSIGNMENT], jobs=2, progress=False,
          gradebook=out / "gradebook.db",
          report_line=lambda line: None)
    seen = {path: path.read_text() for path in [*(out / "feedback").rglob("*.html"), out / "grades.csv"]}
    for path in (out / "autograded").rglob("*.ipynb"):
        # The student's own cells are theirs as written (this one names a path); their outputs are checked.
        cells = nbformat.read(path, as_version=4).cells
        seen[path] = json.dumps([c.get("outputs", []) for c in cells])
    assert any("points.csv" in text for text in seen.values())  # the error is still explained
    forbidden = {str(REPO), str(tmp_path), tempfile.gettempdir() + "/", sys.prefix, str(Path.home()),
                 "tracing.py", "scalar.py", "primitives.py", "/job-"}
    host = socket.gethostname()
    if len(host) >= 4:
        forbidden.add(host)
    user = getpass.getuser()
    for path, text in seen.items():
        for word in forbidden:
            assert word not in text, (path.relative_to(out), word)
        assert f"/{user}/" not in text, path.relative_to(out)
