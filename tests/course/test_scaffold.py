"""Starting a course and an assignment from the command line alone: `init`, `new-assignment`,
`sync-notebooks` (creating missing test cells, listing every config mistake without a traceback)."""
from __future__ import annotations

import subprocess
import sys

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
