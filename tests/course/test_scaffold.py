"""Starting a course and an assignment from the command line alone: `init`, `new-assignment`,
`sync-notebooks` (creating missing test cells, listing every config mistake without a traceback)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from course_notebooks import execute, grade_cells
from nbgrader.utils import determine_grade

from autodiff_course.cli import main
from autodiff_course.course import load_course

KINDS = {"decomposition", "graph", "forward", "reverse", "variables"}


def test_new_assignment_scaffolds_a_valid_assignment_with_one_exercise_of_each_kind(course):
    configs = load_course(course)  # validates the TOML against the notebook: ids, points, locked cells
    assert list(configs) == ["hw1"]
    assert {spec["kind"] for spec in configs["hw1"].exercises} == KINDS
    assert main(["sync-notebooks", "--check"]) == 0
    toml = (course / "graders" / "hw1.toml").read_text()
    assert toml.count("\n# ") > 10  # commented for the instructor who reads it first
    nb = nbformat.read(course / "notebooks" / "hw1" / "hw1.ipynb", as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    for spec in configs["hw1"].exercises:  # each test cell sits right after its answer cell
        assert ids.index(spec["id"]) == ids.index(f"{spec['id']}-answer") + 1


def _visible_expressions(course):
    """Every expression the released test cells of the scaffold print (the string arguments of the visible
    calls: `check`s and `equals`), parsed, with every sub-expression that is not a call into `reference`."""
    import ast

    nb = nbformat.read(course / "notebooks" / "hw1" / "hw1.ipynb", as_version=4)
    ids = {spec["id"] for spec in load_course(course)["hw1"].exercises}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") not in ids:
            continue
        visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        for const in ast.walk(ast.parse(visible)):
            if not (isinstance(const, ast.Constant) and isinstance(const.value, str)):
                continue
            try:
                tree = ast.parse(const.value, mode="eval")
            except SyntaxError:
                continue
            trusted = {id(n) for call in ast.walk(tree) if isinstance(call, ast.Call)
                       and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
                       and call.func.value.id == "reference" for n in ast.walk(call)}
            yield from (n for n in ast.walk(tree) if isinstance(n, ast.expr) and id(n) not in trusted)


def test_the_scaffolds_visible_test_cells_never_spell_out_a_derivative(course):
    # An outside review copied the scaffold's PyTorch expectation, which printed d f / d x in closed form in
    # the released notebook: the answer to its forward and reverse exercises. No expression a student can
    # read there may evaluate to a partial derivative of f (PyTorch's, at the exercise's point).
    import ast
    from types import SimpleNamespace

    import numpy as np
    import torch

    point = [1.5, 0.5]
    x = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    (torch.tanh(x[0] * x[1]) + x[0] / x[1]).backward()
    derivatives = x.grad.numpy()
    scope = {"np": np, "x": SimpleNamespace(values=np.array(point)), "__builtins__": {}}
    seen = 0
    for node in _visible_expressions(course):
        seen += 1
        try:
            value = np.asarray(eval(compile(ast.Expression(node), "<cell>", "eval"), dict(scope)),  # noqa: S307
                               dtype=float).reshape(-1)
        except Exception:  # noqa: BLE001 - not a number over x's values (a name of the student's, a string)
            continue
        for d in derivatives:
            assert not np.any(np.isclose(value, d, rtol=1e-9, atol=0)), ast.unparse(node)
    assert seen > 5


@pytest.mark.slow
def test_scaffolded_instructor_notebook_earns_full_marks_in_every_test_cell(course):
    executed = execute(course / "notebooks" / "hw1" / "hw1.ipynb")
    config = load_course(course)["hw1"]
    assert {gid: determine_grade(cell) for gid, cell in grade_cells(executed)} == {
        spec["id"]: (float(spec["points"]), float(spec["points"])) for spec in config.exercises}


def test_new_assignment_refuses_to_overwrite_and_bad_names_in_one_line(course, capsys):
    capsys.readouterr()
    assert main(["new-assignment", "hw1"]) == 2
    assert main(["new-assignment", "1 bad"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert "hw1.toml: already exists" in err[0]
    assert "'1 bad'" in err[1]


def test_outside_a_course_every_command_says_so_in_one_line_with_status_2(tmp_path):
    for argv in (["new-assignment", "x"], ["sync-notebooks"], ["grade"], ["release"]):
        run = subprocess.run([sys.executable, "-m", "autodiff_course.cli", *argv], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 2, (argv, run.stderr)
        assert run.stderr.count("\n") == 1 and "not a course" in run.stderr, (argv, run.stderr)
        assert "Traceback" not in run.stderr


def test_check_lists_every_mistake_of_every_config_naming_file_exercise_and_field(course, capsys):
    toml = course / "graders" / "hw1.toml"
    text = toml.read_text()
    text = text.replace('kind = "reverse"', 'kind = "revers"').replace("points = 1\n", "points = -1\n")
    toml.write_text(text)
    (course / "graders" / "hw2.toml").write_text('assignment = "hw2"\nnotebook = "hw2.ipynb"\n'
                                                 '[[exercise]]\nid = "a"\nkind = "forward"\npoints = 1\n'
                                                 'function = "f"\nreference = "x0"\nargs = ["x0"]\n')
    capsys.readouterr()
    assert main(["sync-notebooks", "--check"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3, err
    assert any("hw1.toml: exercise 'reverse'" in line and "kind" in line for line in err)
    assert any("hw1.toml: exercise 'graph'" in line and "`points`" in line for line in err)
    assert any("hw2.toml" in line and "`notebook`" in line for line in err)
    assert "Traceback" not in "\n".join(err)


def test_init_on_an_existing_course_never_takes_another_course_id_silently(tmp_path, capsys):
    root = tmp_path / "ad101"
    assert main(["init", str(root), "--course-id", "ad101"]) == 0
    config = root / "nbgrader_config.py"
    before = config.read_bytes()
    capsys.readouterr()
    # Another id: refused in one line naming the file and both ids, exit 2, nothing rewritten.
    assert main(["init", str(root), "--course-id", "other"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "course ready" not in err[0]
    assert str(config) in err[0] and "'ad101'" in err[0] and "'other'" in err[0]
    assert config.read_bytes() == before
    # The same id, or none: the course is already there, and it says so rather than "course ready".
    for argv in (["init", str(root), "--course-id", "ad101"], ["init", str(root)]):
        assert main(argv) == 0
        captured = capsys.readouterr()
        assert captured.out == "" and "course ready" not in captured.err
        assert "already a course (course id 'ad101'); nothing changed" in captured.err
    assert config.read_bytes() == before


def test_init_with_a_course_id_where_the_config_sets_none_refuses(tmp_path, capsys):
    (tmp_path / "graders").mkdir()
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()  # noqa\n")  # an instructor's own config, without a course id
    assert main(["init", str(tmp_path), "--course-id", "ad101"]) == 2
    assert "sets no course id that can be read, not 'ad101'" in capsys.readouterr().err
    assert config.read_text() == "c = get_config()  # noqa\n"


@pytest.mark.slow  # nbgrader's release and release_assignment: about 12 s
def test_nbgrader_release_assignment_after_init_keeps_the_exchange_inside_the_course(tmp_path, monkeypatch):
    # An outside review: `nbgrader release_assignment` right after `init` created nbgrader's system-wide
    # exchange folder (as root there). Real nbgrader, on a course made with the CLI alone.
    import os
    import uuid

    from nbgrader.exchange.default.exchange import Exchange

    course_id = f"ad{uuid.uuid4().hex[:8]}"
    root = tmp_path / "course"
    assert main(["init", str(root), "--course-id", course_id]) == 0
    monkeypatch.chdir(root)
    assert main(["new-assignment", "hw1"]) == 0
    assert main(["release"]) == 0
    bin_dir = os.path.dirname(sys.executable)
    run = subprocess.run([os.path.join(bin_dir, "nbgrader"), "release_assignment", "hw1"], cwd=root,
                         capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"))
    assert run.returncode == 0, run.stderr
    assert (root / "exchange" / course_id / "outbound" / "hw1" / "hw1.ipynb").is_file()
    assert not (Path(Exchange.root.default_value) / course_id).exists()


def test_grade_help_names_the_submissions_folder_grade_actually_reads(course, capsys):
    # An outside review: --help said <course>/examples/submitted; grade reads nbgrader's submitted_directory.
    from autodiff_course.grading.batch import _default_submissions

    with pytest.raises(SystemExit):
        main(["grade", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "default: nbgrader's submitted_directory of nbgrader_config.py, <course>/submitted after init" \
        in help_text
    assert _default_submissions(course) == course / "submitted"
