"""An instructor's config mistakes over a semester (issue 14's review: F1, F5-F8, F10, F11). Each is named in
one line (file, exercise, field), with no traceback and a non-zero exit, and nothing outside the
student-visible allow-list can reach a released test cell."""
from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodiff_course.cli import main
from autodiff_course.course.cells import (
    HIDDEN_BEGIN,
    VISIBLE_EXPECT_KEYS,
    VISIBLE_KEYS,
    released_cell_problems,
    render_test_cell,
)
from autodiff_course.course.config import TOP_LEVEL_KEYS, ConfigError, load_config
from autodiff_course.course.late import parse_due

KEY_LINE = re.compile(r"^([a-z_]+) = ", re.MULTILINE)


def check(capsys, argv=("sync-notebooks", "--check")) -> tuple[int, list[str]]:
    """Exit status and stderr lines of one command run in-process (a traceback would propagate)."""
    capsys.readouterr()
    status = main(list(argv))
    return status, capsys.readouterr().err.strip().splitlines()


def misspellings(word: str) -> set[str]:
    """A letter dropped, two neighbours swapped, a letter doubled: the typos a hand makes."""
    out = {word[:i] + word[i + 1:] for i in range(len(word))}
    out |= {word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)}
    out |= {word[:i] + word[i] + word[i:] for i in range(len(word))}
    return {t for t in out if t and t != word and t.replace("_", "").isalpha() and not t.startswith("_")}


def test_every_misspelled_key_of_the_scaffold_config_is_refused_naming_it(course):
    # The keys are those the scaffold's own TOML uses (exercise, expectation, [late] and top-level ones).
    toml = course / "graders" / "hw1.toml"
    text = toml.read_text().replace("# [late]\n# per", "[late]\nper").replace("# penalty", "penalty")
    toml.write_text(text)
    load_config(toml)  # the unchanged text is a valid config
    rng = random.Random(14)
    tried = 0
    for match in KEY_LINE.finditer(text):
        key = match[1]
        if key == "id":
            continue  # a table without an id is named by its number, tested in test_config
        for typo in rng.sample(sorted(misspellings(key)), 2):
            toml.write_text(text[:match.start()] + typo + text[match.start() + len(key):])
            with pytest.raises(ConfigError) as caught:
                load_config(toml)
            lines = [line for line in caught.value.problems if f"unknown key `{typo}`" in line]
            assert len(lines) == 1 and lines[0].startswith(f"{toml}: "), (typo, caught.value.problems)
            named = re.search(r"did you mean `(\w+)`", lines[0])
            assert named is None or named[1] != typo
            tried += 1
    assert tried > 40


@pytest.mark.parametrize(("old", "new", "words"), [
    ("hidden_points = [[-0.7, 1.3]]", "hiden_points = [[-0.7, 1.3]]",
     ["exercise 'decomposition'", "unknown key `hiden_points` (did you mean `hidden_points`?)"]),
    ("hidden_points = [[-0.7, 1.3]]", "hidden_point = [[-0.7, 1.3]]",
     ["unknown key `hidden_point` (did you mean `hidden_points`?)"]),
    ("hidden = true", "hiden = true", ["exercise 'torch_gradient'", "expectation #2",
                                       "unknown key `hiden` (did you mean `hidden`?)"]),
    ('title = "', 'titel = "', ["top level: unknown key `titel` (did you mean `title`?)"]),
])
def test_a_misspelled_key_stops_sync_and_release_and_reaches_no_cell(course, capsys, old, new, words):
    edit_config(course, (old, new), once=True)
    nb_path = course / "notebooks" / "hw1" / "hw1.ipynb"
    before = nb_path.read_bytes()
    for argv, status in ((["sync-notebooks", "--check"], 1), (["sync-notebooks"], 2), (["release"], 2)):
        got, err = check(capsys, argv)
        assert got == status and len(err) == 1, (argv, err)
        assert all(word in err[0] for word in words), err
    assert nb_path.read_bytes() == before and not (course / "release").exists()


def edit_config(course, *changes: tuple[str, str], once: bool = False):
    """The course's graders/hw1.toml with each (old, new) replacement made (`once`: the first `old` only);
    each `old` must be there."""
    toml = course / "graders" / "hw1.toml"
    text = toml.read_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1 if once else -1)
    toml.write_text(text)
    return toml


def assert_each_named_once(err: list[str], expected: list[str]) -> None:
    for words in expected:
        assert sum(words in line for line in err) == 1, (words, err)
    assert len(err) == len(expected), err


def test_wrong_typed_fields_are_named_with_what_is_expected(course, capsys):
    toml = edit_config(course, ('equals = "True"', "equals = true"), ("hidden = true", 'hidden = "yes"'),
                       ('check = "x.grad"', "check = 1"),
                       ('points = 3\nfunction = "function_reverse"', 'pionts = 3\nfunction = "function_reverse"'))
    status, err = check(capsys)
    assert status == 1 and all(line.count(str(toml)) == 1 for line in err)
    assert_each_named_once(err, [
        "exercise 'torch_gradient': expectation #1: `check` must be a string (a Python expression, e.g. "
        'check = "1"), got 1',
        "exercise 'torch_gradient': expectation #2: `equals` must be a string (a Python expression, e.g. "
        'equals = "True"), got true',
        "exercise 'torch_gradient': expectation #2: `hidden` must be true or false (no quotes), got 'yes'",
        "exercise 'reverse': kind 'reverse': unknown key `pionts` (did you mean `points`?)",
        "exercise 'reverse': `points` is missing",
    ])


def test_check_lists_every_problem_of_a_file_late_table_included(course, capsys):
    edit_config(course, ('# [late]\n# per = "day"', '[late]\nper = "days"'), ('kind = "reverse"', 'kind = "revrse"'),
                ("wrt = 0", "wrt = 5"),
                ('points = 3\nfunction = "function_dx0"', 'points = "3"\nfunction = "function_dx0"'),
                ('# due = "2030-01-31 23:59:00"', 'due = "31/01/2030 23:59"'))
    status, err = check(capsys)
    assert status == 1
    assert_each_named_once(err, [
        "exercise 'reverse': unknown kind 'revrse'", "exercise 'forward': `points` must be a positive",
        "exercise 'forward': `wrt` = 5 names no argument", "[late] `per`: 'days'",
        "`due`: '31/01/2030 23:59' is not an ISO 8601 date"])


def test_a_test_cell_left_for_a_removed_exercise_fails_check_as_release_would(course, capsys):
    toml = course / "graders" / "hw1.toml"
    text = toml.read_text()
    toml.write_text(text[:text.index("# kind \"variables\"")])
    status, err = check(capsys)
    assert status == 1 and len(err) == 1
    assert "autograded test cell 'torch_gradient' has no [[exercise]] in the config" in err[0]
    released, release_err = check(capsys, ["release"])
    assert released == 2 and release_err == [line.replace("sync-notebooks", "release") for line in err]


@pytest.mark.parametrize(("old", "new", "words"), [
    ('function = "function_reverse"', 'function = "function_revrese"',
     "exercise 'reverse': `function` names 'function_revrese', which no cell of notebook 'hw1.ipynb' before "
     "its test cell (cell 13) defines; did you mean 'function_reverse'?"),
    ('variable = "parents"', 'variable = "parent"', "`variable` names 'parent'"),
    ('variables = ["x", "y"]', 'variables = ["x", "z"]', "`variables` names 'z'"),
])
def test_a_name_the_notebook_does_not_define_is_caught_before_students_are_blamed(course, capsys, old, new,
                                                                                  words):
    edit_config(course, (old, new))
    status, err = check(capsys)
    assert status == 1 and sum(words in line for line in err) == 1, err
    assert check(capsys, ["release"])[0] == 2


def test_a_name_defined_only_after_its_test_cell_is_caught(course, capsys):
    nb_path = course / "notebooks" / "hw1" / "hw1.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "reverse")
    nb.cells.insert(index + 1, nb.cells.pop(index - 1))  # the answer cell now follows its test cell
    nbformat.write(nb, nb_path)
    status, err = check(capsys)
    assert status == 1 and any("`function` names 'function_reverse'" in line for line in err), err


def test_an_extension_for_an_unknown_student_is_named(course, capsys):
    toml = course / "graders" / "hw1.toml"
    toml.write_text(toml.read_text() + "\n[late]\nper = \"day\"\npenalty = 10\n[late.extensions]\ndavee = 24\n")
    assert check(capsys) == (0, [])  # no roster and no hand-ins yet: nothing to compare with
    (course / "submitted" / "dave" / "hw1").mkdir(parents=True)
    status, err = check(capsys)
    assert status == 1 and len(err) == 1
    assert "[late.extensions]: 'davee' is neither a student" in err[0] and "did you mean 'dave'?" in err[0]
    # Re-publishing after granting an extension (the README's way) says it too.
    status, feedback_err = check(capsys, ["feedback"])
    assert status == 0 and feedback_err == [err[0].replace("sync-notebooks", "feedback")]


# A spec's keys outside the allow-list, as a careless edit or a future key would add them.
_SECRET = 271828.182845
_extra_keys = st.from_regex(r"[a-z][a-z_]{0,14}", fullmatch=True).filter(
    lambda k: k not in VISIBLE_KEYS and k not in ("id", "points"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.dictionaries(_extra_keys, st.just([[_SECRET, -_SECRET]]), min_size=1, max_size=4),
       extra_expect=st.dictionaries(_extra_keys.filter(lambda k: k not in VISIBLE_EXPECT_KEYS),
                                    st.just(_SECRET), min_size=1, max_size=3))
def test_no_key_outside_the_allow_list_reaches_the_visible_call(course, extra, extra_expect):
    config = load_config(course / "graders" / "hw1.toml")
    for spec in config.exercises:
        spec = {**spec, **extra}
        if "expect" in spec:
            spec["expect"] = [{**item, **extra_expect} for item in spec["expect"]]
        source = render_test_cell(config, spec)
        visible = source.split(HIDDEN_BEGIN)[0]
        assert HIDDEN_BEGIN in source  # the extra keys are not lost to the grader
        assert repr(_SECRET) not in visible and released_cell_problems(visible) == [], visible
        assert repr(_SECRET) in source.split(HIDDEN_BEGIN)[1]


def test_release_refuses_a_test_cell_edited_to_carry_a_hidden_key(course, capsys):
    assert check(capsys, ["release"])[0] == 0
    released = course / "release" / "hw1" / "hw1.ipynb"
    cells = [c for c in nbformat.read(released, as_version=4).cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(cells) == 5 and all(released_cell_problems(c.source) == [] for c in cells)  # nbgrader's own output
    nb_path = course / "notebooks" / "hw1" / "hw1.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "reverse")
    cell.source = cell.source.replace("namespace=globals())", "hiden_points=[[-0.7, 1.3]], namespace=globals())",
                                      1)
    nbformat.write(nb, nb_path)
    status, err = check(capsys, ["release"])
    assert status == 2 and not released.exists()
    assert any("'reverse'" in line and "`hiden_points`, which students may not see" in line for line in err), err


UTC = timezone.utc


@pytest.mark.parametrize(("text", "moment"), [
    ("2026-11-30", datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)),
    ("2026-11-30 23:59", datetime(2026, 11, 30, 23, 59, tzinfo=UTC)),
    ("2026-11-30T23:59:30.5", datetime(2026, 11, 30, 23, 59, 30, 500000, tzinfo=UTC)),
    ("2026-11-30 23:59:00Z", datetime(2026, 11, 30, 23, 59, tzinfo=UTC)),
    ("2026-11-30 23:59:00 UTC", datetime(2026, 11, 30, 23, 59, tzinfo=UTC)),
    ("2026-11-30T23:59:00+01:00", datetime(2026, 11, 30, 23, 59, tzinfo=timezone(timedelta(hours=1)))),
    ("2026-11-30 23:59 -0530", datetime(2026, 11, 30, 23, 59, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
])
def test_iso_due_dates_are_read_as_written(text, moment):
    assert parse_due(text) == moment.astimezone(UTC).replace(tzinfo=None)


@pytest.mark.parametrize("text", ["01/02/2026 12:00", "30/11/2026 23:59", "11/30/2026", "Nov 30 2026",
                                  "next friday", "2026-13-01", "2026-11-30 25:00", "30.11.2026 23:59"])
def test_ambiguous_or_invalid_due_dates_are_refused_with_an_example(text):
    with pytest.raises(ValueError) as caught:
        parse_due(text)
    assert repr(text) in str(caught.value) and 'due = "2026-11-30 23:59"' in str(caught.value)


def test_negative_places_are_refused_naming_the_option(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["lms", "canvas", "--places", "-1", "--gradebook", str(tmp_path / "none.db")])
    assert caught.value.code == 2
    assert "argument --places: expected a number of decimal places >= 0 (e.g. 2), got '-1'" in capsys.readouterr().err


def test_the_top_level_keys_are_those_the_docs_list():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "interfaces.md").read_text()
    assert all(f"{key} =" in docs or f"[{key}]" in docs or f"[[{key}]]" in docs for key in TOP_LEVEL_KEYS)


@pytest.mark.slow
def test_solutions_check_names_the_exercise_whose_instructor_solution_falls_short(course, capsys):
    # The review's case: the instructor's vbar0 misses the path through v4; only that exercise is named.
    nb_path = course / "notebooks" / "hw1" / "hw1.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "reverse-answer")
    assert "vbar0 = vbar2 * v1 + vbar4 / v1" in answer.source
    answer.source = answer.source.replace("vbar0 = vbar2 * v1 + vbar4 / v1", "vbar0 = vbar2 * v1")
    nbformat.write(nb, nb_path)
    assert check(capsys) == (0, [])  # the config is fine; only running the solution shows it
    status, err = check(capsys, ["sync-notebooks", "--check", "--solutions"])
    err = [line for line in err if "autodiff-course" in line]  # the kernel's own start-up warnings aside
    assert status == 1 and len(err) == 1, err
    assert re.search(r"exercise 'reverse': the instructor's solution earns [\d.]+ of 3 points in test cell \d+",
                     err[0]), err


@pytest.mark.parametrize("value", ["[3, 1]", "[1]", '"wide"', "[0, true]"])
def test_a_random_range_that_is_no_interval_is_refused(course, value):
    toml = edit_config(course, ("random_points = 2\n", f"random_points = 2\nrandom_range = {value}\n"), once=True)
    with pytest.raises(ConfigError, match=r"exercise 'decomposition': `random_range` must be \[low, high\]"):
        load_config(toml)


def test_grade_in_a_notebook_refuses_a_key_it_does_not_know(course):
    from autodiff_course.course import grade

    config = load_config(course / "graders" / "hw1.toml")
    spec = {k: v for k, v in config.exercise("reverse").items() if k not in ("id", "assignment", "points")}
    namespace = {}
    nb = nbformat.read(course / "notebooks" / "hw1" / "hw1.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "reverse-answer":
            exec(compile("import numpy as np\n" + cell.source, "answer", "exec"), namespace)  # noqa: S102
    right = grade("hw1", "reverse", points=3, namespace=namespace, **spec)
    assert float(right) == 3 and right.internal_error is None
    typo = grade("hw1", "reverse", points=3, namespace=namespace, **spec, hiden_points=[[-0.7, 1.3]])
    assert float(typo) == 0 and "unknown key(s) hiden_points" in typo.internal_error


@pytest.mark.parametrize(("source", "names"), [
    ("def f(x):\n    g = 1\n    return g", {"f"}),
    ("import numpy as np\nfrom math import tanh, cosh as ch\nimport os.path", {"np", "tanh", "ch", "os"}),
    ("for i, (a, b) in enumerate([]):\n    pass\nwith open('x') as fh:\n    c = [d for d in ()]",
     {"i", "a", "b", "fh", "c"}),
    ("%matplotlib inline\nx = 1\n!ls", {"x"}),
    ("if True:\n    class K:\n        z = 1\ntry:\n    pass\nexcept Exception as err:\n    y: int = 2",
     {"K", "err", "y"}),
    ("%run helpers.py", None), ("%%time\nx = 1", None), ("from helpers import *", None),
    ("exec('f = 1')", None), ("globals()['f'] = 1", None), ("def broken(:", None),
])
def test_the_names_a_cell_binds_are_told_or_the_cell_is_marked_unknown(source, names):
    from autodiff_course.course.config import _bound_names

    assert _bound_names(source) == names


def test_a_name_the_notebook_lacks_is_listed_beside_the_other_problems_of_its_file(course, capsys):
    edit_config(course, ('function = "function_reverse"', 'function = "function_revrese"'),
                ('kind = "forward"', 'kind = "froward"'))
    status, err = check(capsys)
    assert status == 1
    assert_each_named_once(err, ["exercise 'forward': unknown kind 'froward'",
                                 "exercise 'reverse': `function` names 'function_revrese'"])
