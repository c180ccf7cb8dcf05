"""Grader configs: defaults, validation errors naming file + exercise + problem, agreement with notebooks."""
from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import pytest

from autodiff_course.course.config import (
    ConfigError,
    find_course_dir,
    load_config,
    load_course,
    validate_against_notebook,
)

REPO = Path(__file__).resolve().parents[2]

HEADER = 'assignment = "demo"\nnotebook = "demo.ipynb"\ntitle = "Demo"\n'
REVERSE = """
[[exercise]]
id = "reverse"
kind = "reverse"
points = 4
function = "function_reverse"
reference = "np.sin(x0) + x1*np.cos(x0) + x1/x2"
args = ["x0", "x1", "x2"]
test_points = [[1.8, 2.4, 0.7]]
"""
VARIABLES = """
[[exercise]]
id = "grad_of_x"
kind = "variables"
points = 2
variables = ["x"]
[[exercise.expect]]
check = "x.requires_grad"
equals = "True"
"""


def write(tmp_path: Path, body: str, name: str = "demo.toml") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    return path


def test_defaults_are_filled_and_assignment_is_added(tmp_path):
    config = load_config(write(tmp_path, REVERSE + VARIABLES))
    assert (config.assignment, config.notebook, config.title) == ("demo", "demo.ipynb", "Demo")
    spec = config.exercise("reverse")
    assert spec["rtol"] == 1e-9 and spec["atol"] == 0 and spec["time_limit"] == 10
    assert spec["show_expected"] is True and spec["partial_credit"] is True
    assert spec["random_points"] == 0 and spec["domain"] == [] and spec["hidden_points"] == []
    assert spec["assignment"] == "demo"
    assert config.exercise("grad_of_x")["test_points"] == []
    assert config.max_score == 6


def test_values_given_in_the_file_override_defaults(tmp_path):
    config = load_config(write(tmp_path, REVERSE.replace("points = 4", "points = 4\nrtol = 1e-6\n"
                                                                     "show_expected = false")))
    spec = config.exercise("reverse")
    assert spec["rtol"] == 1e-6 and spec["show_expected"] is False


@pytest.mark.parametrize("body, words", [
    (REVERSE.replace('kind = "reverse"', 'kind = "backwards"'),
     ["exercise 'reverse'", "unknown kind 'backwards'"]),
    (REVERSE.replace('function = "function_reverse"\n', ""), ["exercise 'reverse'", "`function`"]),
    (REVERSE + REVERSE, ["exercise 'reverse'", "duplicate id"]),
    (REVERSE.replace("np.sin(x0)", "np.sin(x9)"), ["exercise 'reverse'", "does not evaluate", "NameError"]),
    (REVERSE.replace("x1/x2", "x1/(x2-0.7)"), ["exercise 'reverse'", "not finite", "[1.8, 2.4, 0.7]"]),
    (REVERSE.replace("[[1.8, 2.4, 0.7]]", "[[1.8, 2.4]]"), ["exercise 'reverse'", "has 2 values", "names 3"]),
    (REVERSE + 'hidden_points = [[1, 2, 3, 4]]\n', ["`hidden_points`", "has 4 values"]),
    (REVERSE + 'domain = ["x3 > 0"]\n', ["domain expression 'x3 > 0' fails", "NameError"]),
    (REVERSE + 'domain = ["x2 >"]\n', ["domain expression 'x2 >' is not valid Python"]),
    (REVERSE + 'domain = ["x2 > 1"]\n', ["outside the domain", "x2 > 1"]),
    (REVERSE.replace("points = 4", "points = 0"), ["exercise 'reverse'", "`points` must be a positive"]),
    (VARIABLES.replace('check = "x.requires_grad"', 'check = "x.requires_grad ="'), ["expectation #1",
                                                                                      "not valid Python"]),
    (VARIABLES.split("[[exercise.expect]]")[0], ["exercise 'grad_of_x'", "`expect`"]),
])
def test_invalid_configs_name_the_file_the_exercise_and_the_problem(tmp_path, body, words):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message, message


def test_not_toml_and_missing_file_are_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("assignment = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="no such grader config"):
        load_config(tmp_path / "absent.toml")


def notebook_with(cells_meta: list[dict]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("def function_reverse(x0, x1, x2): ...",
                                              metadata={"nbgrader": {"solution": True, "grade": False,
                                                                     "grade_id": "answer", "locked": False}}))
    for meta in cells_meta:
        nb.cells.append(nbformat.v4.new_code_cell("grade(...)", metadata={"nbgrader": {
            "solution": False, "grade": True, "locked": True, **meta}}))
    return nb


def test_config_agrees_with_its_notebook(tmp_path):
    config = load_config(write(tmp_path, REVERSE + VARIABLES))
    validate_against_notebook(config, notebook_with([{"grade_id": "reverse", "points": 4},
                                                     {"grade_id": "grad_of_x", "points": 2}]))


@pytest.mark.parametrize("cells, words", [
    ([{"grade_id": "reverse", "points": 4}], ["exercise 'grad_of_x'", "no grade cell"]),
    ([{"grade_id": "reverse", "points": 3}, {"grade_id": "grad_of_x", "points": 2}],
     ["exercise 'reverse'", "config gives 4 points", "gives 3"]),
    ([{"grade_id": "reverse", "points": 4}, {"grade_id": "grad_of_x", "points": 2, "locked": False}],
     ["exercise 'grad_of_x'", "not locked"]),
    ([{"grade_id": "reverse", "points": 4}, {"grade_id": "grad_of_x", "points": 2},
      {"grade_id": "stray", "points": 1}], ["'stray'", "has no [[exercise]]"]),
])
def test_disagreements_with_the_notebook_are_named(tmp_path, cells, words):
    path = write(tmp_path, REVERSE + VARIABLES)
    with pytest.raises(ConfigError) as info:
        validate_against_notebook(load_config(path), notebook_with(cells))
    assert str(path) in str(info.value)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_load_course_reads_every_config_and_checks_its_notebook(tmp_path):
    (tmp_path / "graders").mkdir()
    write(tmp_path / "graders", REVERSE)
    (tmp_path / "notebooks" / "demo").mkdir(parents=True)
    nbformat.write(notebook_with([{"grade_id": "reverse", "points": 4}]),
                   tmp_path / "notebooks" / "demo" / "demo.ipynb")
    configs = load_course(tmp_path)
    assert list(configs) == ["demo"]
    nbformat.write(notebook_with([{"grade_id": "reverse", "points": 5}]),
                   tmp_path / "notebooks" / "demo" / "demo.ipynb")
    with pytest.raises(ConfigError, match="config gives 4 points"):
        load_course(tmp_path)
    (tmp_path / "notebooks" / "demo" / "demo.ipynb").unlink()
    with pytest.raises(ConfigError, match="source notebook .* does not exist"):
        load_course(tmp_path)


def test_course_dir_is_found_upward_from_a_subfolder(tmp_path):
    (tmp_path / "graders").mkdir()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_course_dir(deep) == tmp_path.resolve()


def test_every_real_config_loads():
    paths = sorted((REPO / "graders").glob("*.toml"))
    assert paths, "the course has grader configs"
    for path in paths:
        config = load_config(path)
        assert config.assignment == path.stem
        assert config.exercises


def test_every_real_config_agrees_with_its_notebook():
    paths = sorted((REPO / "graders").glob("*.toml"))
    configs = load_course(REPO)  # validate_against_notebook for each, raising on any disagreement
    assert sorted(configs) == sorted(p.stem for p in paths)
    for config in configs.values():
        assert (REPO / "notebooks" / config.assignment / config.notebook).is_file()


OVERRIDDEN = REVERSE.replace('id = "reverse"', 'id = "reverse_again"') + """
[exercise.reveal]
notebook = "culprit"
ladder = 3
"""


def test_reveal_policy_per_assignment_with_a_per_exercise_override(tmp_path):
    body = '[reveal]\nnotebook = "verdict"\nfeedback = "solution"\n' + REVERSE + OVERRIDDEN
    config = load_config(write(tmp_path, body))
    policy = [(s["notebook_reveal"], s["feedback_reveal"], s["reveal_ladder"]) for s in config.exercises]
    assert policy == [("verdict", "solution", 0), ("culprit", "solution", 3)]
    default = load_config(write(tmp_path, REVERSE)).exercise("reverse")
    assert (default["notebook_reveal"], default["feedback_reveal"], default["reveal_ladder"]) == ("hint", "hint", 0)


@pytest.mark.parametrize(("table", "problem"), [
    ('[reveal]\nnotebook = "everything"\n', "`reveal.notebook` must be one of verdict, culprit, hint, solution"),
    ("[reveal]\nladder = -1\n", "`reveal.ladder` must be a count"),
    ('[reveal]\nfeeback = "hint"\n', "unknown `reveal` key 'feeback'"),
])
def test_reveal_policy_refuses_an_unknown_level_or_key(tmp_path, table, problem):
    with pytest.raises(ConfigError, match="demo.toml") as info:
        load_config(write(tmp_path, table + REVERSE))
    assert problem in str(info.value)
