"""Autograded test cells, rendered from the grader config (the TOML is the single source of truth).

A test cell calls `grade()` twice: once with what students may see (visible test points, visible
expectations), then, between nbgrader's `### BEGIN HIDDEN TESTS` / `### END HIDDEN TESTS` markers, with the
full spec. The hidden call comes last, so in the instructor's and the autograded notebook its result is the
cell's output (nbgrader reads it as the cell's partial credit); `nbgrader generate_assignment` deletes the
hidden block, leaving the visible call last in the students' copy.

`sync_notebooks` rewrites every test cell of the course from `graders/*.toml`.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .config import DEFAULTS, AssignmentConfig, source_notebook_path

__all__ = ["GRADER_ONLY_KEYS", "HIDDEN_ONLY_KEYS", "VISIBLE_EXPECT_KEYS", "VISIBLE_KEYS", "released_cell_problems",
           "render_test_cell", "sync_notebooks", "visible_spec"]

#: Spec keys that only the hidden call (and the batch grader) receives.
HIDDEN_ONLY_KEYS = ("hidden_points", "random_points", "random_range", "domain")

#: The only spec keys the visible call (what students receive) may carry: an allow-list, so a key nobody
#: thought about (a new one, or a misspelling that got past the config) stays out of the students' copy.
VISIBLE_KEYS = ("kind", "function", "variable", "variables", "reference", "args", "wrt", "test_points", "expect",
                "rtol", "atol", "time_limit", "show_expected", "partial_credit", "notebook_reveal", "reveal_ladder",
                "ladder_top", "instructor_data", "by_hand")
#: The only keys a visible expectation may carry (never `hidden`: a hidden one is not shown at all).
VISIBLE_EXPECT_KEYS = ("check", "equals", "weight", "hint", "autograd")

#: Spec keys only the batch grader reads (the notebook's own check reveals `notebook_reveal`, not these).
GRADER_ONLY_KEYS = ("feedback_reveal", "point_secret")

# Keys that are not grade() keyword arguments: `id` is positional, `assignment` too, `points` goes last.
_NOT_RENDERED = {"id", "assignment", "points", *GRADER_ONLY_KEYS}

# The order keys appear in a rendered call, most telling first; unknown keys follow alphabetically.
_ORDER = ("kind", "function", "variable", "variables", "reference", "args", "wrt", "test_points",
          "hidden_points", "random_points", "domain", "expect", "rtol", "atol", "time_limit",
          "show_expected", "partial_credit")

_WIDTH = 110
_INDENT = " " * 6  # lines up continuation lines under the first argument of `grade(`
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


def _literal(value: Any) -> str:
    """A Python literal for TOML data (str, int, float, bool, list, dict), strings double-quoted."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot render the non-finite number {value!r} in a test cell")
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(str(k))}: {_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot render {type(value).__name__} value {value!r} in a test cell")


def visible_spec(spec: dict) -> dict:
    """The part of `spec` students may see: the keys of `VISIBLE_KEYS` (plus `id` and `points`, which the call
    names), and of the expectations that are not hidden, the keys of `VISIBLE_EXPECT_KEYS`. An expectation
    whose `hidden` is anything but false is left out."""
    visible = {k: v for k, v in spec.items() if k in VISIBLE_KEYS or k in ("id", "points")}
    if "expect" in spec:
        visible["expect"] = [{k: v for k, v in item.items() if k in VISIBLE_EXPECT_KEYS}
                             for item in spec["expect"] if item.get("hidden", False) is False]
    return visible


def released_cell_problems(source: str) -> list[str]:
    """What a test cell of a student's copy holds that students may not see: a `grade(...)` keyword outside
    `VISIBLE_KEYS`, an expectation key outside `VISIBLE_EXPECT_KEYS`, or a source that does not parse (so it
    cannot be checked). [] for a cell that is safe to release. `release` refuses a notebook with any."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"the test cell does not parse ({exc.msg}), so it cannot be checked"]
    allowed = {*VISIBLE_KEYS, "points", "namespace"}
    problems = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "grade"):
            continue
        for keyword in node.keywords:
            if keyword.arg not in allowed:
                problems.append(f"grade() is given `{keyword.arg}`, which students may not see")
            if keyword.arg == "expect" and isinstance(keyword.value, ast.List):
                for item in keyword.value.elts:
                    keys = [k.value for k in getattr(item, "keys", []) if isinstance(k, ast.Constant)]
                    problems += [f"an expectation carries `{k}`, which students may not see"
                                 for k in keys if k not in VISIBLE_EXPECT_KEYS]
    return problems


def _has_hidden_part(spec: dict) -> bool:
    """Whether the full call renders anything the visible call leaves out (hidden points, expectations, or
    any key off the allow-list), so it must go between the hidden-test markers."""
    return _rendered_items(spec) != _rendered_items(visible_spec(spec))


def _rendered_items(spec: dict) -> list[tuple[str, Any]]:
    keys = [k for k in _ORDER if k in spec] + sorted(k for k in spec if k not in _ORDER)
    items = []
    for key in keys:
        if key in _NOT_RENDERED:
            continue
        value = spec[key]
        # Defaults are left out to keep the cell readable; grade() fills them back in the same way.
        if key in DEFAULTS and value == DEFAULTS[key] and type(value) is type(DEFAULTS[key]):
            continue
        items.append((key, value))
    return items


def _render_expect(items: list[dict]) -> str:
    lines = ["expect=["]
    for item in items:
        # The hidden call keeps `hidden = true` so its feedback, like the batch grader's, does not show the
        # expected values of hidden expectations.
        shown = dict(item)
        one_line = f"{_INDENT}    {_literal(shown)},"
        if len(one_line) <= _WIDTH:
            lines.append(one_line)
            continue
        pairs = [f"{_literal(str(k))}: {_literal(v)}" for k, v in shown.items()]
        lines.append(f"{_INDENT}    {{" + pairs[0] + ",")
        lines.extend(f"{_INDENT}     {pair}," for pair in pairs[1:-1])
        lines.append(f"{_INDENT}     {pairs[-1]}}},")
    lines.append(f"{_INDENT}]")
    return "\n".join(lines)


def _render_call(assignment: str, spec: dict) -> str:
    head = f"grade({_literal(assignment)}, {_literal(spec['id'])}"
    args = []
    for key, value in _rendered_items(spec):
        args.append(_render_expect(value) if key == "expect" else f"{key}={_literal(value)}")
    points = spec["points"]
    args.append(f"points={_literal(int(points) if float(points).is_integer() else points)}")
    args.append("namespace=globals()")
    # Greedy line filling; a multi-line argument (expect=[...]) always starts and ends its own line.
    lines = [head]
    for arg in args:
        if "\n" in arg:
            lines[-1] += ","
            lines.append(_INDENT + arg)
            continue
        candidate = f"{lines[-1]}, {arg}"
        if len(candidate) + 1 <= _WIDTH and "\n" not in lines[-1]:
            lines[-1] = candidate
        else:
            lines[-1] += ","
            lines.append(_INDENT + arg)
    return "\n".join(lines) + ")"


def render_test_cell(config: AssignmentConfig | str, spec: dict) -> str:
    """The source of the autograded test cell of exercise `spec` (a normalised spec from `load_config`).

    `config` is the assignment's config (or just its name). The result is deterministic, so a notebook
    whose test cells equal their rendering is in sync with its TOML. Raises ValueError/TypeError for values
    that have no Python literal (non-finite numbers, dates).
    """
    assignment = config if isinstance(config, str) else config.assignment
    points = spec["points"]
    shown = f"{points:g} point{'s' if points != 1 else ''}"
    lines = [
        f"# Autograded check for exercise \"{spec['id']}\" ({shown}). "
        "Run it to check your answer; do not edit this cell.",
        "from autodiff_course.course import grade",
    ]
    if _has_hidden_part(spec):
        lines.append(_render_call(assignment, visible_spec(spec)))
        lines.append(HIDDEN_BEGIN)
        lines.append(_render_call(assignment, spec))
        lines.append(HIDDEN_END)
    else:
        lines.append(_render_call(assignment, spec))
    return "\n".join(lines)


def _test_cell_index(nb, grade_id: str) -> int | None:
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and meta.get("grade_id") == grade_id:
            return index
    return None


def _answer_cell_index(nb, exercise_id: str) -> int | None:
    from .scaffold import answer_cell_id

    for index, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == answer_cell_id(exercise_id):
            return index
    return None


def new_test_cell(spec: dict):
    """An empty locked autograded test cell for `spec` (its source is rendered by `sync_notebooks`)."""
    import nbformat

    cell = nbformat.v4.new_code_cell("")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": spec["id"], "locked": True, "points": spec["points"],
                                 "schema_version": 3, "solution": False, "task": False}
    return cell


def _sync_one(config: AssignmentConfig, nb, path: Path, problems: list[str]) -> bool:
    """Bring the test cells of one notebook in line with its config; returns whether anything changed.
    Problems (a test cell that is not code, an exercise with neither a test cell nor an answer cell) are
    appended, naming the notebook, the exercise and the cell."""
    from .scaffold import answer_cell_id

    dirty = False
    for spec in config.exercises:
        where = f"{path}: exercise {spec['id']!r}"
        index = _test_cell_index(nb, spec["id"])
        if index is None:
            answer = _answer_cell_index(nb, spec["id"])
            if answer is None:
                problems.append(f"{where}: no test cell (grade_id {spec['id']!r}) and no answer cell (grade_id "
                                f"{answer_cell_id(spec['id'])!r}) to put one after")
                continue
            index = answer + 1
            nb.cells.insert(index, new_test_cell(spec))
            dirty = True
        cell = nb.cells[index]
        if cell.cell_type != "code":
            problems.append(f"{where}: cell {index} (grade_id {spec['id']!r}) is a {cell.cell_type} cell, "
                            "not a code cell")
            continue
        try:
            source = render_test_cell(config, spec)
        except (TypeError, ValueError) as exc:
            problems.append(f"{config.path}: exercise {spec['id']!r}: {exc}")
            continue
        if cell.source != source:
            cell.source = source
            dirty = True
        meta = cell.metadata["nbgrader"]
        if float(meta.get("points", -1)) != float(spec["points"]) or not meta.get("locked"):
            meta["points"] = spec["points"]
            meta["locked"] = True
            dirty = True
    return dirty


def _extension_problems(course_dir: str | Path, configs: dict) -> list[str]:
    """`[late.extensions]` entries naming no student of the course (`LatePolicy.unknown_students`)."""
    from .late import LatePolicy
    from .release import course_students

    known = course_students(course_dir)
    return [line for config in configs.values()
            for line in LatePolicy.from_config(config).unknown_students(config.path, known)]


def sync_notebooks(course_dir: str | Path, *, check: bool = False,
                   assignments: list[str] | None = None, solutions: bool = False) -> list[Path]:
    """Rewrite every autograded test cell of `notebooks/<assignment>/<notebook>` from `graders/*.toml`.

    Each test cell's source becomes `render_test_cell(config, spec)` and its nbgrader points the spec's
    points; an exercise without a test cell gets one right after its answer cell (grade_id `<id>-answer`).
    Returns the notebooks that changed (with `check=True`, the ones that would change, writing nothing).
    Raises `ConfigError` listing every problem found, one per line (invalid configs, missing notebooks,
    exercises with neither a test cell nor an answer cell, what `release` would refuse of a notebook, and
    `[late.extensions]` naming no student of the course); notebooks without problems are still written. With
    `solutions`, each notebook without problems is also run, as synced, and every exercise its instructor's
    solution does not earn full marks on is a problem (`solutions.solution_problems`; a kernel per notebook).
    """
    import nbformat

    from .config import ConfigError, load_course_collecting, notebook_problems
    from .secret import course_secret

    configs, problems = load_course_collecting(course_dir)
    problems += _extension_problems(course_dir, configs)
    if not check and (Path(course_dir) / "graders").is_dir():
        course_secret(course_dir, create=True)  # the seed of the random hidden points (course.secret)
    changed: list[Path] = []
    for name, config in configs.items():
        if assignments is not None and name not in assignments:
            continue
        path = source_notebook_path(course_dir, config)
        try:
            nb = nbformat.read(path, as_version=4)
        except FileNotFoundError:
            problems.append(f"{config.path}: `notebook`: {path} does not exist")
            continue
        except Exception as exc:  # noqa: BLE001 - any unreadable notebook is reported by name
            problems.append(f"{path}: cannot be read as a notebook ({type(exc).__name__}: {exc})")
            continue
        before = len(problems)
        dirty = _sync_one(config, nb, path, problems)
        if len(problems) == before:
            # What `release` would refuse of the notebook as synced: orphan test cells, undefined names.
            problems += notebook_problems(config, nb)
        if solutions and len(problems) == before:
            from .solutions import solution_problems

            problems += solution_problems(course_dir, config, nb)
        if dirty:
            changed.append(path)
            if not check and len(problems) == before:
                nbformat.write(nb, path)
    if problems:
        raise ConfigError("\n".join(problems), changed=changed)
    return changed
