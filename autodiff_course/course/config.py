"""Grader configs: one TOML file per assignment under `graders/`, validated against its notebook.

A config names the assignment, its source notebook and one `[[exercise]]` table per autograded test cell
(docs/interfaces.md, "Exercise spec"). `load_config` fills defaults, so every consumer (checks, grader,
release) reads the same normalised spec and no consumer keeps a copy of the defaults.
"""
from __future__ import annotations

import copy
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

import numpy as np

from ..checks.kinds import EXPECT_KEYS, FUNCTION_KINDS
from ..checks.kinds import KINDS as CHECK_KINDS
from ..checks.spec import DEFAULTS

__all__ = [
    "AssignmentConfig",
    "ConfigError",
    "DEFAULTS",
    "KINDS",
    "find_course_dir",
    "load_config",
    "load_course",
    "notebook_grade_cells",
    "source_notebook_path",
    "validate_against_notebook",
]

#: Keys each exercise kind cannot do without (beyond id, kind, points), read from the checks' registry.
KINDS: dict[str, tuple[str, ...]] = {name: kind.fields for name, kind in CHECK_KINDS.items()}

_FUNCTION_KINDS = set(FUNCTION_KINDS)


class ConfigError(ValueError):
    """A grader config that cannot be used; the message names the file, the exercise and the problem, one
    problem per line when there are several. `changed` lists notebooks that were brought up to date anyway."""

    def __init__(self, message: str, *, changed: list | None = None, partial: AssignmentConfig | None = None):
        super().__init__(message)
        self.changed = list(changed or [])
        #: From `load_config`: the config with only the exercises that have no problem, for checks that can
        #: still be made (the names the notebook defines), so one run lists every mistake.
        self.partial = partial

    @property
    def problems(self) -> list[str]:
        return str(self).splitlines()


@dataclass
class AssignmentConfig:
    """One assignment's grader config, exercises normalised (defaults filled, `assignment` key added)."""

    path: Path
    assignment: str
    notebook: str
    title: str
    exercises: list[dict] = field(default_factory=list)
    #: The TOML's `due` (naive UTC) and `[late]` table, checked by `grading.late.LatePolicy.from_config`.
    due: Any = None
    late: dict = field(default_factory=dict)

    def exercise(self, exercise_id: str) -> dict:
        """The spec with this id; KeyError naming the assignment if there is none."""
        for spec in self.exercises:
            if spec["id"] == exercise_id:
                return spec
        raise KeyError(f"assignment {self.assignment!r} has no exercise {exercise_id!r}")

    @property
    def max_score(self) -> float:
        return float(sum(spec["points"] for spec in self.exercises))

    @property
    def notebook_stem(self) -> str:
        """The notebook's name without `.ipynb`: nbgrader's notebook id."""
        return self.notebook[:-len(".ipynb")] if self.notebook.endswith(".ipynb") else self.notebook


#: The keys a grader config may hold beside its tables' own (docs/interfaces.md).
TOP_LEVEL_KEYS = ("assignment", "notebook", "title", "due", "late", "reveal", "exercise")


def _fail(path: Path, where: str, problem: str) -> ConfigError:
    return ConfigError(f"{path}: {where}: {problem}")


def _eval_namespace() -> dict:
    # References are numpy expressions; math's names are offered too because instructors write `pi` and `e`.
    names: dict[str, Any] = {"np": np, "numpy": np, "math": math, "__builtins__": {}}
    names.update({"pi": math.pi, "e": math.e, "abs": abs, "min": min, "max": max})
    return names


def _did_you_mean(key: str, known) -> str:
    """' (did you mean `points`?)' for the closest known key, or '' when none is close."""
    import difflib

    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def unknown_keys(table: dict, known, what: str) -> list[str]:
    """One problem per key of `table` not in `known`, with the closest known key; `what` names the table."""
    problems = []
    for key in table:
        if key not in known:
            close = _did_you_mean(str(key), known)
            problems.append(f"{what}: unknown key `{key}`" + (close or f"; expected one of {', '.join(sorted(known))}"))
    return problems


def _check_points_table(spec: dict, key: str) -> list[str]:
    points = spec[key]
    if not isinstance(points, list):
        return [f"`{key}` must be a list of points (lists of numbers), got {points!r}"]
    arity = len(spec.get("args", []))
    for point in points:
        if not isinstance(point, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in point):
            return [f"`{key}` entry {point!r} is not a list of numbers"]
        if len(point) != arity:
            return [f"`{key}` entry {point!r} has {len(point)} values but `args` names {arity} "
                    f"({', '.join(spec['args'])})"]
    return []


def _check_reference_and_domain(spec: dict) -> list[str]:
    args = spec["args"]
    problems = []
    for constraint in spec["domain"]:
        try:
            compile(constraint, "domain", "eval")
        except SyntaxError as exc:
            problems.append(f"domain expression {constraint!r} is not valid Python: {exc.msg}")
    reference = spec.get("reference")
    code = None
    if reference is not None:
        if not isinstance(reference, str):
            return problems + [f"`reference` must be a string (a numpy expression), got {reference!r}"]
        try:
            code = compile(reference, "reference", "eval")
        except SyntaxError as exc:
            problems.append(f"reference {reference!r} is not valid Python: {exc.msg}")
    if problems:
        return problems
    for point in spec["test_points"] + spec["hidden_points"]:
        # numpy scalars, as the checkers evaluate references: 1/0 is inf (reported as not finite), not
        # an exception.
        scope = dict(zip(args, (np.float64(v) for v in point), strict=True))
        for constraint in spec["domain"]:
            try:
                inside = eval(constraint, _eval_namespace(), dict(scope))  # noqa: S307 - instructor's config
            except Exception as exc:  # noqa: BLE001 - any failure is the config's fault and is reported as such
                return [f"domain expression {constraint!r} fails at {point}: {type(exc).__name__}: {exc}"]
            if not inside:
                return [f"test point {point} lies outside the domain ({constraint!r} is false)"]
        if code is None:
            continue
        try:
            with np.errstate(all="ignore"):
                value = eval(code, _eval_namespace(), dict(scope))  # noqa: S307 - instructor's config
            finite = bool(np.all(np.isfinite(np.asarray(value, dtype=float))))
        except Exception as exc:  # noqa: BLE001
            return [f"reference {reference!r} does not evaluate at {point}: {type(exc).__name__}: {exc}"]
        if not finite:
            return [f"reference {reference!r} is not finite at {point} (got {value!r})"]
    return []


#: `[reveal]` (assignment-wide) and `[exercise.reveal]` (one exercise) keys -> the spec keys they set.
_REVEAL_KEYS = {"notebook": "notebook_reveal", "feedback": "feedback_reveal", "ladder": "reveal_ladder",
                "ladder_top": "ladder_top"}


def _reveal_policy(path: Path, where: str, table: Any) -> dict:
    """The spec keys a `reveal` table sets; ConfigError for an unknown key, level or ladder step."""
    from ..checks.reveal import check_level

    if table is None:
        return {}
    if not isinstance(table, dict):
        raise _fail(path, where, f"`reveal` must be a table (notebook, feedback, ladder, ladder_top), got {table!r}")
    policy = {}
    for key, value in table.items():
        if key not in _REVEAL_KEYS:
            raise _fail(path, where, f"unknown `reveal` key {key!r}{_did_you_mean(str(key), _REVEAL_KEYS)}; "
                                     f"expected {', '.join(_REVEAL_KEYS)}")
        if key == "ladder":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _fail(path, where, f"`reveal.ladder` must be a count of failed runs >= 0 (0: off), got "
                                         f"{value!r}")
        else:
            try:
                check_level(value, f"`reveal.{key}`")
            except ValueError as exc:
                raise _fail(path, where, str(exc)) from None
        policy[_REVEAL_KEYS[key]] = value
    return policy


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _expectation_problems(number: int, item: Any) -> list[str]:
    """What is wrong with `[[exercise.expect]]` entry #`number`: unknown keys, a missing or non-string
    expression, a weight that is no positive number, a `hidden` that is not true or false."""
    where = f"expectation #{number}"
    if not isinstance(item, dict):
        return [f"{where} must be a table ([[exercise.expect]])"]
    problems = unknown_keys(item, EXPECT_KEYS, where)
    if "check" not in item:
        problems.append(f"{where} needs a `check` expression")
    for key in ("check", "equals", "autograd"):
        if key not in item:
            continue
        value = item[key]
        if not isinstance(value, str):
            # A TOML `true` or `1` is data, but these are expressions, evaluated on the trusted side.
            written = str(value).lower() if isinstance(value, bool) else repr(value)
            problems.append(f"{where}: `{key}` must be a string (a Python expression, e.g. "
                            f"{key} = \"{value!r}\"), got {written}")
            continue
        try:
            compile(value, f"expect#{number}", "eval")
        except SyntaxError as exc:
            problems.append(f"{where} `{key}` = {value!r} is not valid Python: {exc.msg}")
    if "weight" in item and (not _is_number(item["weight"]) or item["weight"] <= 0):
        problems.append(f"{where}: `weight` must be a positive number, got {item['weight']!r}")
    if "hint" in item and not isinstance(item["hint"], str):
        problems.append(f"{where}: `hint` must be a string, got {item['hint']!r}")
    if "hidden" in item and not isinstance(item["hidden"], bool):
        problems.append(f"{where}: `hidden` must be true or false (no quotes), got {item['hidden']!r}")
    return problems


def _function_kind_problems(spec: dict) -> list[str]:
    """What is wrong with the fields of a function kind's spec (defaults filled)."""
    problems = []
    for key in ("function", "variable"):
        if key in spec and (not isinstance(spec[key], str) or not spec[key].isidentifier()):
            problems.append(f"`{key}` must be a Python name (a string), got {spec[key]!r}")
    args_ok = isinstance(spec["args"], list) and all(isinstance(a, str) and a.isidentifier() for a in spec["args"])
    if not args_ok:
        problems.append(f"`args` must be a list of argument names, got {spec['args']!r}")
    domain_ok = isinstance(spec["domain"], list) and all(isinstance(d, str) for d in spec["domain"])
    if not domain_ok:
        problems.append(f"`domain` must be a list of expressions, got {spec['domain']!r}")
    if isinstance(spec["random_points"], bool) or not isinstance(spec["random_points"], int) \
            or spec["random_points"] < 0:
        problems.append(f"`random_points` must be a count >= 0, got {spec['random_points']!r}")
    bounds = spec.get("random_range")
    if bounds is not None and not (isinstance(bounds, list) and len(bounds) == 2 and all(map(_is_number, bounds))
                                   and bounds[0] < bounds[1]):
        problems.append(f"`random_range` must be [low, high], two numbers with low < high, got {bounds!r}")
    if not args_ok:
        return problems
    tables = _check_points_table(spec, "test_points") + _check_points_table(spec, "hidden_points")
    problems += tables
    if spec["kind"] == "forward" and "wrt" in spec:
        wrt = spec["wrt"]
        valid = (wrt in spec["args"]) if isinstance(wrt, str) else (
            isinstance(wrt, int) and not isinstance(wrt, bool) and 0 <= wrt < len(spec["args"]))
        if not valid:
            problems.append(f"`wrt` = {wrt!r} names no argument of {spec['args']}")
    if domain_ok and not tables:
        problems += _check_reference_and_domain(spec)
    return problems


def _variables_kind_problems(spec: dict) -> list[str]:
    problems = []
    variables = spec["variables"]
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
        problems.append(f"`variables` must be a list of names, got {variables!r}")
        variables = []
    expect = spec["expect"]
    if not isinstance(expect, list) or not expect:
        problems.append("`expect` must hold at least one [[exercise.expect]] table")
    else:
        for number, item in enumerate(expect, 1):
            problems += _expectation_problems(number, item)
    by_hand = spec.get("by_hand", [])
    if not isinstance(by_hand, list) or not all(isinstance(v, str) and v in variables for v in by_hand):
        problems.append(f"`by_hand` must list some of the exercise's `variables`, got {by_hand!r}")
    if "instructor_data" in spec and not isinstance(spec["instructor_data"], str):
        problems.append(f"`instructor_data` must be a string (an expression), got {spec['instructor_data']!r}")
    return problems


def _normalise_exercise(path: Path, assignment: str, index: int, table: Any, policy: dict | None = None) -> dict:
    """The spec of `[[exercise]]` number `index`, defaults filled. Raises ConfigError listing every problem
    of the table, one per line: unknown keys (with the closest known one), missing or mistyped fields."""
    if not isinstance(table, dict):
        raise _fail(path, f"exercise #{index + 1}", "must be a table ([[exercise]])")
    exercise_id = table.get("id")
    if not isinstance(exercise_id, str) or not exercise_id:
        raise _fail(path, f"exercise #{index + 1}", "missing `id` (the nbgrader grade_id of its test cell)")
    where = f"exercise {exercise_id!r}"
    kind = table.get("kind")
    if kind not in KINDS:
        problems = [f"unknown kind {kind!r}; expected one of {', '.join(sorted(KINDS))}"]
        problems += unknown_keys(table, frozenset().union(*(k.keys for k in CHECK_KINDS.values())), "exercise")
    else:
        # Every key is on the kind's list: a misspelled key would otherwise be rendered into the test cell
        # (a misspelled `hidden_points` into the students' copy) and its real meaning silently lost.
        problems = unknown_keys(table, CHECK_KINDS[kind].keys, f"kind {kind!r}")
    points = table.get("points")
    if points is None:
        problems.append("`points` is missing (a positive number, as the test cell's nbgrader points)")
    elif isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
        problems.append(f"`points` must be a positive number, got {points!r}")
    if kind in KINDS:
        missing = [key for key in KINDS[kind] if key not in table]
        if missing:
            problems.append(f"kind {kind!r} needs {', '.join(f'`{k}`' for k in missing)}")
    spec = copy.deepcopy(DEFAULTS)
    spec.update(policy or {})
    spec.update(copy.deepcopy({k: v for k, v in table.items() if k != "reveal"}))
    try:
        spec.update(_reveal_policy(path, where, table.get("reveal")))
    except ConfigError as exc:
        problems.append(str(exc).split(f"{where}: ", 1)[-1])
    spec["assignment"] = assignment
    if kind in KINDS and not missing:
        problems += _function_kind_problems(spec) if kind in _FUNCTION_KINDS else _variables_kind_problems(spec)
    for key in ("rtol", "atol", "time_limit"):
        value = spec[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            problems.append(f"`{key}` must be a number >= 0, got {value!r}")
    for key in ("show_expected", "partial_credit"):
        if not isinstance(spec[key], bool):
            problems.append(f"`{key}` must be true or false (no quotes), got {spec[key]!r}")
    if problems:
        raise ConfigError("\n".join(f"{path}: {where}: {problem}" for problem in problems))
    return spec


def _add_course_secret(path: Path, exercises: list[dict]) -> None:
    """Give every exercise of the config at `<course>/graders/<name>.toml` the course's secret, where it has
    one (`course.secret`): the seed of the random hidden points. Read only: it is made by the commands that
    grade or write the course."""
    from autodiff_course.checks.points import POINT_SECRET

    from .secret import course_secret

    if path.parent.name != "graders":
        return
    try:
        secret = course_secret(path.parent.parent)
    except (OSError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    if secret is not None:
        for spec in exercises:
            spec[POINT_SECRET] = secret


def load_config(path: str | Path) -> AssignmentConfig:
    """Read and validate one grader config.

    Returns the config with every exercise normalised: the defaults of `DEFAULTS` filled in and the
    `assignment` key added. Raises `ConfigError` naming the file, the exercise and the problem for: a file
    that is missing or not TOML, missing top-level keys, an unknown kind, fields missing for the kind,
    duplicate ids, points/args arity mismatches, a reference that does not evaluate (or is not finite) at
    the test points, and domain expressions that fail or exclude a fixed test point. Where the course has
    its secret, each exercise carries it (`_add_course_secret`).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such grader config") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    problems = [f"{path}: {problem}" for problem in unknown_keys(data, TOP_LEVEL_KEYS, "top level")]
    for key in ("assignment", "notebook"):
        if not isinstance(data.get(key), str) or not data[key]:
            problems.append(f"{path}: missing top-level `{key}`")
    if problems:
        raise ConfigError("\n".join(problems))
    assignment = data["assignment"]
    tables = data.get("exercise", [])
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{path}: no [[exercise]] tables")
    try:
        policy = _reveal_policy(path, "[reveal]", data.get("reveal"))
    except ConfigError as exc:
        problems.append(str(exc))
        policy = {}
    exercises = []
    # Every exercise and [late] are checked, so one run lists every mistake of the file.
    for i, table in enumerate(tables):
        try:
            exercises.append(_normalise_exercise(path, assignment, i, table, policy))
        except ConfigError as exc:
            problems.extend(exc.problems)
    seen: set[str] = set()
    for spec in exercises:
        if spec["id"] in seen:
            problems.append(str(_fail(path, f"exercise {spec['id']!r}",
                                      "duplicate id (each test cell has one grade_id)")))
        seen.add(spec["id"])
    late = data.get("late", {})
    if not isinstance(late, dict):
        problems.append(f"{path}: `late` must be a table ([late])")
        late = {}
    config = AssignmentConfig(path=path, assignment=assignment, notebook=data["notebook"],
                              title=str(data.get("title", assignment)), exercises=exercises,
                              due=data.get("due"), late=late)
    from autodiff_course.course.late import LatePolicy

    try:
        LatePolicy.from_config(config)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ConfigError("\n".join(problems), partial=config)
    _add_course_secret(path, exercises)
    return config


def notebook_grade_cells(nb) -> dict[str, dict]:
    """grade_id -> {"index", "points", "locked", "solution", "cell_type"} for every nbgrader grade cell."""
    cells: dict[str, dict] = {}
    for index, cell in enumerate(nb.get("cells", [])):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade"):
            continue
        cells[meta.get("grade_id", f"<cell {index}>")] = {
            "index": index,
            "points": float(meta.get("points", 0)),
            "locked": bool(meta.get("locked")),
            "solution": bool(meta.get("solution")),
            "cell_type": cell.get("cell_type"),
        }
    return cells


def _bound_names(source: str) -> set[str] | None:
    """The names a code cell binds at the top level of the notebook (def, class, import, assignment, for,
    with, except), or None if that cannot be told: the cell does not parse or imports `*`, runs code by
    text, or is a cell magic. IPython's line magics and shell lines are left out before parsing."""
    import ast

    magics = [line.lstrip() for line in source.splitlines() if line.lstrip().startswith(("%", "!"))]
    if source.lstrip().startswith("%%") or any(re.match(r"%(run|load|store|env)\b", m) for m in magics):
        return None  # a cell magic, or a line magic that binds names (%run script.py)
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return None
    names: set[str] = set()
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp,
              ast.DictComp, ast.GeneratorExp)
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in node.names):
                return None
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "exec":
            return None
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.value, ast.Call) and \
                isinstance(node.value.func, ast.Name) and node.value.func.id in ("globals", "vars", "locals"):
            return None  # globals()[name] = ..., globals().update(...)
        if isinstance(node, scopes):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return names


def _undefined_names(config: AssignmentConfig, nb, cells: dict[str, dict]) -> list[str]:
    """One problem per name an exercise reads from the student's namespace (`function`, `variable`,
    `variables`) that no code cell of the instructor's notebook before the exercise's test cell defines.
    Nothing is claimed for a notebook with a cell whose names cannot be told (`_bound_names`)."""
    import difflib

    bound: list[set[str]] = []
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        meta = cell.get("metadata", {}).get("nbgrader", {})
        test_cell = meta.get("grade") and not meta.get("solution")
        names = _bound_names(source) if cell.get("cell_type") == "code" and not test_cell else set()
        if names is None:
            return []
        bound.append(names)
    problems = []
    for spec in config.exercises:
        cell = cells.get(spec["id"])
        if cell is None:
            continue
        before = set().union(*bound[:cell["index"]])
        wanted = [("function", spec.get("function")), ("variable", spec.get("variable"))]
        wanted += [("variables", name) for name in spec.get("variables") or []]
        for key, name in wanted:
            if not isinstance(name, str) or name in before:
                continue
            close = difflib.get_close_matches(name, sorted(before), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(f"{config.path}: exercise {spec['id']!r}: `{key}` names {name!r}, which no cell of "
                            f"notebook {config.notebook!r} before its test cell (cell {cell['index']}) "
                            f"defines{hint}")
    return problems


def notebook_problems(config: AssignmentConfig, nb, *, names: bool = True) -> list[str]:
    """Every way `config` and the instructor's notebook `nb` disagree, one line each naming the config file,
    the exercise or cell and the mismatch (see `validate_against_notebook`); [] when they agree."""
    where_nb = f"notebook {config.notebook!r}"
    cells = notebook_grade_cells(nb)
    autograded = {gid: c for gid, c in cells.items() if not c["solution"] and c["cell_type"] == "code"}
    problems = []
    for spec in config.exercises:
        cell = cells.get(spec["id"])
        where = f"{config.path}: exercise {spec['id']!r}"
        if cell is None:
            problems.append(f"{where}: `id`: {where_nb} has no grade cell with grade_id {spec['id']!r} (run "
                            "`autodiff-course sync-notebooks` to create it after the answer cell "
                            f"{spec['id'] + '-answer'!r})")
        elif cell["solution"] or cell["cell_type"] != "code":
            problems.append(f"{where}: cell {cell['index']} of {where_nb} is not an autograded test cell")
        elif not cell["locked"]:
            problems.append(f"{where}: test cell {cell['index']} of {where_nb} is not locked, so students could "
                            "change it")
        elif not math.isclose(cell["points"], float(spec["points"])):
            problems.append(f"{where}: `points`: config gives {spec['points']} points, test cell "
                            f"{cell['index']} of {where_nb} gives {cell['points']:g}")
    ids = {spec["id"] for spec in config.exercises}
    orphans = [(gid, cell) for gid, cell in autograded.items() if gid not in ids]
    for grade_id, cell in orphans:
        problems.append(f"{config.path}: {where_nb}, cell {cell['index']}: autograded test cell {grade_id!r} has "
                        "no [[exercise]] in the config (delete the cell, or add the exercise back)")
    total_config = sum(float(spec["points"]) for spec in config.exercises)
    total_notebook = sum(c["points"] for c in autograded.values())
    if not problems and not math.isclose(total_config, total_notebook):
        problems.append(f"{config.path}: points do not add up: exercises give {total_config:g}, the "
                        f"autograded cells of {where_nb} give {total_notebook:g}")
    return problems + (_undefined_names(config, nb, cells) if names else [])


def validate_against_notebook(config: AssignmentConfig, nb, *, names: bool = False) -> None:
    """Check that `config` and the instructor's notebook `nb` describe the same grading.

    Every exercise id must be a locked, autograded code cell (nbgrader grade, not solution) with the same
    points; every such cell must have an exercise; the points must add up; with `names` (as `release` and
    `sync-notebooks` check), every name an exercise reads (`function`, `variable`, `variables`) must be defined
    by a cell before its test cell (grading does not ask: what students handed in is graded as it is). Raises
    `ConfigError` listing every mismatch (`notebook_problems`), one per line.
    """
    problems = notebook_problems(config, nb, names=names)
    if problems:
        raise ConfigError("\n".join(problems))


class NotACourseError(ConfigError):
    """The folder given (or the current one) is not inside a course."""


def find_course_dir(start: str | Path | None = None, *, strict: bool = False) -> Path:
    """The course root: the first directory holding `graders/`, searched upward from `start` (default: the
    current directory), then (unless `strict`, which the command line uses) upward from this package.
    Raises `NotACourseError` (a ConfigError and FileNotFoundError) saying where it looked."""
    candidates = [Path(start or Path.cwd()).resolve()]
    if not strict:
        candidates.append(Path(__file__).resolve().parent)
    for origin in candidates:
        for directory in (origin, *origin.parents):
            if (directory / "graders").is_dir():
                return directory
    raise NotACourseError("not a course: no folder with graders/ at or above "
                          + " or ".join(str(c) for c in candidates)
                          + " (make one with `autodiff-course init DIR`, or pass --course)")


def load_course_collecting(course_dir: str | Path) -> tuple[dict[str, AssignmentConfig], list[str]]:
    """Every config of the course that loads (not checked against its notebook), and one line per problem
    of the others, with the names their sound exercises read that the notebook does not define; for listing
    all mistakes at once (`sync-notebooks --check`)."""
    course_dir = Path(course_dir)
    graders = course_dir / "graders"
    if not graders.is_dir():
        return {}, [f"{course_dir}: no graders/ folder (not a course)"]
    configs: dict[str, AssignmentConfig] = {}
    problems: list[str] = []
    for path in sorted(graders.glob("*.toml")):
        try:
            config = load_config(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            if exc.partial is not None:
                problems.extend(_partial_name_problems(course_dir, exc.partial))
            continue
        if config.assignment in configs:
            problems.append(f"{path}: `assignment`: {config.assignment!r} is already configured by "
                            f"{configs[config.assignment].path}")
            continue
        configs[config.assignment] = config
    return dict(sorted(configs.items())), problems


def _partial_name_problems(course_dir: Path, config: AssignmentConfig) -> list[str]:
    """The undefined names (`_undefined_names`) of the exercises of a config that failed to load; [] when its
    notebook cannot be read (that is reported once the config loads)."""
    import nbformat

    try:
        nb = nbformat.read(source_notebook_path(course_dir, config), as_version=4)
    except Exception:  # noqa: BLE001 - reported once the config itself is right
        return []
    return _undefined_names(config, nb, notebook_grade_cells(nb))


def load_course(course_dir: str | Path, *, validate: bool = True, names: bool = False) -> dict[str, AssignmentConfig]:
    """Every assignment of the course: `graders/*.toml`, each checked against `notebooks/<a>/<notebook>`.

    Returns {assignment: config} sorted by assignment name. Raises `ConfigError` if a config is invalid,
    two configs claim one assignment, or (with `validate`) the notebook is missing or disagrees (with
    `names`, also on the names it defines: `validate_against_notebook`).
    """
    import nbformat

    course_dir = Path(course_dir)
    graders = course_dir / "graders"
    if not graders.is_dir():
        raise ConfigError(f"{course_dir}: no graders/ folder")
    configs: dict[str, AssignmentConfig] = {}
    for path in sorted(graders.glob("*.toml")):
        config = load_config(path)
        if config.assignment in configs:
            raise ConfigError(f"{path}: assignment {config.assignment!r} is already configured by "
                              f"{configs[config.assignment].path}")
        if validate:
            nb_path = course_dir / "notebooks" / config.assignment / config.notebook
            if not nb_path.is_file():
                raise ConfigError(f"{path}: `notebook`: source notebook {nb_path} does not exist")
            try:
                nb = nbformat.read(nb_path, as_version=4)
            except Exception as exc:  # noqa: BLE001 - report any unreadable notebook against the config
                raise ConfigError(f"{path}: source notebook {nb_path} cannot be read: {exc}") from None
            validate_against_notebook(config, nb, names=names)
        configs[config.assignment] = config
    return dict(sorted(configs.items()))


def source_notebook_path(course_dir: str | Path, config: AssignmentConfig) -> Path:
    """Where the instructor's source notebook of `config` lives in the course."""
    return Path(course_dir) / "notebooks" / config.assignment / config.notebook
