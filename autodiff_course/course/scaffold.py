"""Starting a course and an assignment: `autodiff-course init` and `autodiff-course new-assignment NAME`.

`new_course` writes the folders and the `nbgrader_config.py` a course needs; `new_assignment` writes an
instructor notebook and its commented grader config with one example exercise of each kind, all worked on
`tanh(x0*x1) + x0/x1`, ready to release. The test cells are rendered from the TOML by `sync_notebooks`, so a
scaffold is in sync from the start and the instructor edits only the TOML and the answer cells.
"""
from __future__ import annotations

import re
from pathlib import Path

from .config import ConfigError

__all__ = ["NBGRADER_CONFIG", "answer_cell_id", "existing_course_id", "new_assignment", "new_course"]

#: The course's nbgrader config: paths relative to the file so the course works wherever it is copied.
NBGRADER_CONFIG = '''\
# nbgrader's configuration for this course (written by `autodiff-course init`). autodiff-course reads the
# gradebook (db_url), the course id and the folders from here, so nbgrader and autodiff-course share them.
import os

c = get_config()  # noqa: F821 - injected by nbgrader's config loader

_here = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = _here
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.source_directory = "notebooks"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = os.path.join("graded", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("graded", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_here, "gradebook.db")
c.GenerateAssignment.create_assignment = True
# nbgrader's exchange (release_assignment puts assignments there, students fetch and submit there,
# release_feedback puts feedback there): inside the course, so no command writes to a system folder. On a shared
# JupyterHub, point this (and the students' config) at one folder every student can write; nbgrader's own
# default is /usr/local/share/nbgrader/exchange.
c.Exchange.root = os.path.join(_here, "exchange")
'''

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def answer_cell_id(exercise_id: str) -> str:
    """The nbgrader grade_id of the answer (solution) cell of an exercise; its test cell follows it."""
    return f"{exercise_id}-answer"


def new_course(directory: str | Path, *, course_id: str | None = None) -> list[Path]:
    """Make `directory` a course: `graders/`, `notebooks/`, `submitted/` and `nbgrader_config.py`.

    Existing files are kept (running it twice changes nothing). Returns the paths created. Raises
    ConfigError, changing nothing, if `course_id` is given and an existing nbgrader_config.py sets another
    (or none that can be read): the id names the course in nbgrader's exchange and gradebook, so it is
    changed by hand there or not at all."""
    directory = Path(directory)
    config = directory / "nbgrader_config.py"
    if course_id is not None and config.exists():
        have = existing_course_id(directory)
        if have != course_id:
            found = f"sets the course id {have!r}" if have else "sets no course id that can be read"
            raise ConfigError(f"{config}: already {found}, not {course_id!r}; nothing changed (to change it, "
                              "edit c.CourseDirectory.course_id there: nbgrader's exchange and gradebook use it)")
    created = []
    for sub in ("graders", "notebooks", "submitted"):
        if not (directory / sub).is_dir():
            (directory / sub).mkdir(parents=True)
            created.append(directory / sub)
    if not config.exists():
        config.write_text(NBGRADER_CONFIG.format(course_id=course_id or directory.resolve().name),
                          encoding="utf-8")
        created.append(config)
    return created


def existing_course_id(directory: str | Path) -> str | None:
    """The course id the nbgrader_config.py in `directory` sets, or None (no file, no id, unreadable)."""
    from .release import course_setting

    return course_setting(Path(directory), "course_id")


#: What every function exercise of the scaffold shares: the function and its arguments, and its test points
#: (shown, hidden, drawn at random where x1 is not near 0, which f divides by).
_REFERENCE = """reference = "np.tanh(x0*x1) + x0/x1"
args = ["x0", "x1"]
"""
_POINTS = """test_points = [[1.5, 0.5]]
hidden_points = [[-0.7, 1.3]]
random_points = 2
domain = ["abs(x1) > 0.2"]
"""

_TOML = '''\
# Grader config of notebooks/{name}/{name}.ipynb: the single source of truth for its autograded test cells.
# After editing, run `autodiff-course sync-notebooks` to regenerate the test cells from this file.
assignment = "{name}"
notebook = "{name}.ipynb"
title = "{title}"

# Due date (UTC). Hand-ins are timed by nbgrader's timestamp.txt; `release` records the date in the gradebook.
# due = "2030-01-31 23:59:00"

# Late work: "none" (no penalty), "hour" or "day" (`penalty` percent of the assignment's points for every
# started hour or day late, at most `cap` percent). Extensions are hours, per student. A hand-in with no
# readable timestamp.txt is flagged and counted "on-time" (nbgrader's way) or "late" (charged the cap).
# [late]
# per = "day"
# penalty = 10
# cap = 50
# missing_timestamp = "on-time"
# [late.extensions]
# some_student = 48

# Every exercise is one [[exercise]] table; `id` is the nbgrader grade_id of its test cell, which
# sync-notebooks places right after the answer cell with grade_id "<id>-answer".
# Common keys: points, test_points (shown to students), hidden_points and random_points (hidden), domain
# (conditions random points must meet), rtol/atol, time_limit (seconds), show_expected, partial_credit.

# kind "decomposition": the student writes f as elementary steps v0, v1, ... ; checked for value and form.
[[exercise]]
id = "decomposition"
kind = "decomposition"
points = 2
function = "function"
{reference}{points}
# kind "graph": a dict `variable` of each intermediate variable's parents, checked against `function`'s graph.
[[exercise]]
id = "graph"
kind = "graph"
points = 1
function = "function"
variable = "parents"
{reference}test_points = [[1.5, 0.5]]

# kind "forward": forward mode by hand; the function returns (value, derivative with respect to `wrt`).
[[exercise]]
id = "forward"
kind = "forward"
points = 3
function = "function_dx0"
{reference}wrt = 0
{points}
# kind "reverse": reverse mode by hand; the function returns (value, vbar0, vbar1, ...).
[[exercise]]
id = "reverse"
kind = "reverse"
points = 3
function = "function_reverse"
{reference}{points}
# kind "variables": named variables of the notebook (here PyTorch tensors) checked by expectations; `check`
# and `equals` are the instructor's expressions over the variables (`.values`, `.grad`, `.requires_grad`).
[[exercise]]
id = "torch_gradient"
kind = "variables"
points = 2
variables = ["x", "y"]

# A visible expectation is printed in the released test cell: `reference.gradient` recomputes the gradient of
# f (trusted, this package's reverse mode) so the cell names f, never its derivative, which the forward and
# reverse exercises ask for. A hidden expectation is called "hidden check N (its variables)" in what students
# read.
[[exercise.expect]]
check = "x.grad"
equals = 'reference.gradient("np.tanh(x0*x1) + x0/x1", x)'
weight = 2
hint = "Build y from x with torch operations, then call y.backward() once; x.grad holds dy/dx."

[[exercise.expect]]
check = "x.requires_grad"
equals = "True"
hidden = true
hint = "Create x with requires_grad=True."
'''


def _cells(name: str) -> list[tuple[str, str, str | None]]:
    """(cell type, source, answer-cell exercise id or None) of the scaffold notebook, in order."""
    return [
        ("markdown", f"# {name}\n\nEvery exercise works on $f(x_0, x_1) = \\tanh(x_0 x_1) + x_0 / x_1$. Write "
                     "your answers between the marked lines, then run the check cell below each answer.",
         None),
        ("code", "import numpy as np\nimport torch", None),
        ("markdown", "### Exercise 1: intermediate variables (2 points)\n\nWrite $f$ as elementary steps "
                     "`v0 = x0`, `v1 = x1`, `v2 = ...`, one operation each, and return the last one.", None),
        ("code", "def function(x0, x1):\n    ### BEGIN SOLUTION\n    v0 = x0\n    v1 = x1\n    v2 = v0 * v1\n"
                 "    v3 = np.tanh(v2)\n    v4 = v0 / v1\n    v5 = v3 + v4\n    return v5\n"
                 "    ### END SOLUTION", "decomposition"),
        ("markdown", "### Exercise 2: the graph (1 point)\n\nFor each intermediate variable of `function`, "
                     "list the variables it is computed from.", None),
        ("code", "### BEGIN SOLUTION\nparents = {\n    \"v2\": [\"v0\", \"v1\"],\n    \"v3\": [\"v2\"],\n"
                 "    \"v4\": [\"v0\", \"v1\"],\n    \"v5\": [\"v3\", \"v4\"],\n}\n### END SOLUTION", "graph"),
        ("markdown", "### Exercise 3: forward mode (3 points)\n\nCarry the tangent `dvidx0` of every step "
                     "and return `(v5, dv5dx0)`.", None),
        ("code", "def function_dx0(x0, x1):\n    ### BEGIN SOLUTION\n    v0 = x0\n    dv0dx0 = 1.0\n"
                 "    v1 = x1\n    dv1dx0 = 0.0\n    v2 = v0 * v1\n    dv2dx0 = dv0dx0 * v1 + v0 * dv1dx0\n"
                 "    v3 = np.tanh(v2)\n    dv3dx0 = (1 - v3**2) * dv2dx0\n    v4 = v0 / v1\n"
                 "    dv4dx0 = (dv0dx0 * v1 - v0 * dv1dx0) / v1**2\n    v5 = v3 + v4\n"
                 "    dv5dx0 = dv3dx0 + dv4dx0\n    return v5, dv5dx0\n    ### END SOLUTION", "forward"),
        ("markdown", "### Exercise 4: reverse mode (3 points)\n\nComplete the backward pass and return "
                     "`(v5, vbar0, ..., vbar5)`.", None),
        ("code", "def function_reverse(x0, x1):\n    v0 = x0\n    v1 = x1\n    v2 = v0 * v1\n"
                 "    v3 = np.tanh(v2)\n    v4 = v0 / v1\n    v5 = v3 + v4\n    ### BEGIN SOLUTION\n"
                 "    vbar5 = 1.0\n    vbar4 = vbar5\n    vbar3 = vbar5\n    vbar2 = vbar3 * (1 - v3**2)\n"
                 "    vbar1 = vbar2 * v0 - vbar4 * v0 / v1**2\n    vbar0 = vbar2 * v1 + vbar4 / v1\n"
                 "    ### END SOLUTION\n    return v5, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5", "reverse"),
        ("markdown", "### Exercise 5: PyTorch (2 points)\n\nMake `x = torch.tensor([1.5, 0.5])` (float64) a "
                     "leaf that records gradients, compute `y` = f(x[0], x[1]) with torch operations and fill "
                     "`x.grad` with one call to `backward()`.", None),
        ("code", "### BEGIN SOLUTION\nx = torch.tensor([1.5, 0.5], dtype=torch.float64, requires_grad=True)\n"
                 "y = torch.tanh(x[0] * x[1]) + x[0] / x[1]\ny.backward()\n### END SOLUTION\nprint(x.grad)",
         "torch_gradient"),
    ]


def new_assignment(name: str, *, course_dir: str | Path | None = None, title: str | None = None) -> list[Path]:
    """Write `notebooks/NAME/NAME.ipynb` and `graders/NAME.toml` in the course and render their test cells.

    Raises `ConfigError` for a name nbgrader cannot use or if either file already exists (nothing is
    overwritten), and FileNotFoundError if `course_dir` (default: found from here) is not a course.
    Returns the two paths written."""
    import nbformat

    from .cells import sync_notebooks
    from .config import find_course_dir

    if not _NAME.match(name):
        raise ConfigError(f"{name!r}: an assignment name starts with a letter and holds only letters, digits, "
                          "'_' and '-' (nbgrader uses it as a folder name)")
    course = Path(course_dir) if course_dir is not None else find_course_dir(strict=True)
    toml_path = course / "graders" / f"{name}.toml"
    nb_path = course / "notebooks" / name / f"{name}.ipynb"
    for path in (toml_path, nb_path):
        if path.exists():
            raise ConfigError(f"{path}: already exists; choose another name or edit it")
    from .secret import course_secret

    course_secret(course, create=True)  # the seed of the random hidden points (course.secret)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for cell_type, source, exercise in _cells(name):
        if cell_type == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
            continue
        cell = nbformat.v4.new_code_cell(source)
        if exercise is not None:
            cell.metadata["nbgrader"] = {"grade": False, "grade_id": answer_cell_id(exercise), "locked": False,
                                         "schema_version": 3, "solution": True, "task": False}
        nb.cells.append(cell)
    toml_path.parent.mkdir(parents=True, exist_ok=True)
    nb_path.parent.mkdir(parents=True, exist_ok=True)
    toml = _TOML.format(name=name, title=title or name.replace("_", " ").capitalize(), reference=_REFERENCE,
                        points=_POINTS)
    toml_path.write_text(toml, encoding="utf-8")
    nbformat.write(nb, nb_path)
    sync_notebooks(course, assignments=[name])
    return [nb_path, toml_path]
