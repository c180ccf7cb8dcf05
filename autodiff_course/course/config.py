"""Grader configs: one TOML file per assignment under `graders/`, validated against its notebook.

A config names the assignment, its source notebook and one `[[exercise]]` table per autograded test cell
(docs/interfaces.md, "Exercise spec"). `load_config` fills defaults, so every consumer (checks, grader,
release) reads the same normalised spec and no consumer keeps a copy of the defaults.
"""
from __future__ import annotations

import copy
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

import numpy as np

from ..checks.kinds import FUNCTION_KINDS
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

    def __init__(self, message: str, *, changed: list | None = None):
        super().__init__(message)
        self.changed = list(changed or [])

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


def _fail(path: Path, where: str, problem: str) -> ConfigError:
    return ConfigError(f"{path}: {where}: {problem}")


def _eval_namespace() -> dict:
    # References are numpy expressions; math's names are offered too because instructors write `pi` and `e`.
    names: dict[str, Any] = {"np": np, "numpy": np, "math": math, "__builtins__": {}}
    names.update({"pi": math.pi, "e": math.e, "abs": abs, "min": min, "max": max})
    return names


def _check_points_table(path: Path, where: str, spec: dict, key: str) -> None:
    points = spec[key]
    if not isinstance(points, list):
        raise _fail(path, where, f"`{key}` must be a list of points (lists of numbers), got {points!r}")
    arity = len(spec.get("args", []))
    for point in points:
        if not isinstance(point, list) or not all(isinstance(v, (int, float)) for v in point):
            raise _fail(path, where, f"`{key}` entry {point!r} is not a list of numbers")
        if len(point) != arity:
            raise _fail(path, where, f"`{key}` entry {point!r} has {len(point)} values but `args` "
                                     f"names {arity} ({', '.join(spec['args'])})")


def _check_reference_and_domain(path: Path, where: str, spec: dict) -> None:
    args = spec["args"]
    for constraint in spec["domain"]:
        try:
            compile(constraint, f"{path}:{where}:domain", "eval")
        except SyntaxError as exc:
            raise _fail(path, where,
                        f"domain expression {constraint!r} is not valid Python: {exc.msg}") from None
    reference = spec.get("reference")
    if reference is not None:
        try:
            code = compile(reference, f"{path}:{where}:reference", "eval")
        except SyntaxError as exc:
            raise _fail(path, where, f"reference {reference!r} is not valid Python: {exc.msg}") from None
    for point in spec["test_points"] + spec["hidden_points"]:
        # numpy scalars, as the checkers evaluate references: 1/0 is inf (reported as not finite), not
        # an exception.
        scope = dict(zip(args, (np.float64(v) for v in point), strict=True))
        for constraint in spec["domain"]:
            try:
                inside = eval(constraint, _eval_namespace(), dict(scope))  # noqa: S307 - instructor's config
            except Exception as exc:  # noqa: BLE001 - any failure is the config's fault and is reported as such
                raise _fail(path, where, f"domain expression {constraint!r} fails at {point}: "
                                         f"{type(exc).__name__}: {exc}") from None
            if not inside:
                raise _fail(path, where,
                            f"test point {point} lies outside the domain ({constraint!r} is false)")
        if reference is None:
            continue
        try:
            with np.errstate(all="ignore"):
                value = eval(code, _eval_namespace(), dict(scope))  # noqa: S307 - instructor's config
            finite = bool(np.all(np.isfinite(np.asarray(value, dtype=float))))
        except Exception as exc:  # noqa: BLE001
            raise _fail(path, where, f"reference {reference!r} does not evaluate at {point}: "
                                     f"{type(exc).__name__}: {exc}") from None
        if not finite:
            raise _fail(path, where, f"reference {reference!r} is not finite at {point} (got {value!r})")


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
            raise _fail(path, where, f"unknown `reveal` key {key!r}; expected {', '.join(_REVEAL_KEYS)}")
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


def _normalise_exercise(path: Path, assignment: str, index: int, table: Any, policy: dict | None = None) -> dict:
    if not isinstance(table, dict):
        raise _fail(path, f"exercise #{index + 1}", "must be a table ([[exercise]])")
    exercise_id = table.get("id")
    if not isinstance(exercise_id, str) or not exercise_id:
        raise _fail(path, f"exercise #{index + 1}", "missing `id` (the nbgrader grade_id of its test cell)")
    where = f"exercise {exercise_id!r}"
    kind = table.get("kind")
    if kind not in KINDS:
        raise _fail(path, where, f"unknown kind {kind!r}; expected one of {', '.join(sorted(KINDS))}")
    points = table.get("points")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
        raise _fail(path, where, f"`points` must be a positive number, got {points!r}")
    missing = [key for key in KINDS[kind] if key not in table]
    if missing:
        raise _fail(path, where, f"kind {kind!r} needs {', '.join(f'`{k}`' for k in missing)}")
    spec = copy.deepcopy(DEFAULTS)
    spec.update(policy or {})
    spec.update(copy.deepcopy({k: v for k, v in table.items() if k != "reveal"}))
    spec.update(_reveal_policy(path, where, table.get("reveal")))
    spec["assignment"] = assignment
    if kind in _FUNCTION_KINDS:
        if not isinstance(spec["args"], list) or not all(isinstance(a, str) and a.isidentifier()
                                                         for a in spec["args"]):
            raise _fail(path, where, f"`args` must be a list of argument names, got {spec['args']!r}")
        if not isinstance(spec["domain"], list) or not all(isinstance(d, str) for d in spec["domain"]):
            raise _fail(path, where, f"`domain` must be a list of expressions, got {spec['domain']!r}")
        _check_points_table(path, where, spec, "test_points")
        _check_points_table(path, where, spec, "hidden_points")
        if kind == "forward" and "wrt" in spec:
            wrt = spec["wrt"]
            valid = (wrt in spec["args"]) if isinstance(wrt, str) else (
                isinstance(wrt, int) and not isinstance(wrt, bool) and 0 <= wrt < len(spec["args"]))
            if not valid:
                raise _fail(path, where, f"`wrt` = {wrt!r} names no argument of {spec['args']}")
        if not isinstance(spec["random_points"], int) or spec["random_points"] < 0:
            raise _fail(path, where, f"`random_points` must be a count >= 0, got {spec['random_points']!r}")
        _check_reference_and_domain(path, where, spec)
    else:
        if not isinstance(spec["variables"], list) or not all(isinstance(v, str) for v in spec["variables"]):
            raise _fail(path, where, f"`variables` must be a list of names, got {spec['variables']!r}")
        expect = spec["expect"]
        if not isinstance(expect, list) or not expect:
            raise _fail(path, where, "`expect` must hold at least one [[exercise.expect]] table")
        for number, item in enumerate(expect, 1):
            if not isinstance(item, dict) or "check" not in item:
                raise _fail(path, where, f"expectation #{number} needs a `check` expression")
            for key in ("check", "equals", "autograd"):
                if key in item:
                    try:
                        compile(item[key], f"{path}:{where}:expect#{number}", "eval")
                    except SyntaxError as exc:
                        raise _fail(path, where, f"expectation #{number} `{key}` = {item[key]!r} is not "
                                                 f"valid Python: {exc.msg}") from None
        by_hand = spec.get("by_hand", [])
        if not isinstance(by_hand, list) or not all(isinstance(v, str) and v in spec["variables"] for v in by_hand):
            raise _fail(path, where, f"`by_hand` must list some of the exercise's `variables`, got {by_hand!r}")
    for key in ("rtol", "atol", "time_limit"):
        value = spec[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise _fail(path, where, f"`{key}` must be a number >= 0, got {value!r}")
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
    for key in ("assignment", "notebook"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ConfigError(f"{path}: missing top-level `{key}`")
    assignment = data["assignment"]
    tables = data.get("exercise", [])
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{path}: no [[exercise]] tables")
    policy = _reveal_policy(path, "[reveal]", data.get("reveal"))
    exercises, problems = [], []
    # Every exercise is checked, so one run lists every mistake of the file.
    for i, table in enumerate(tables):
        try:
            exercises.append(_normalise_exercise(path, assignment, i, table, policy))
        except ConfigError as exc:
            problems.append(str(exc))
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
    if problems:
        raise ConfigError("\n".join(problems))
    _add_course_secret(path, exercises)
    config = AssignmentConfig(path=path, assignment=assignment, notebook=data["notebook"],
                              title=str(data.get("title", assignment)), exercises=exercises,
                              due=data.get("due"), late=late)
    from autodiff_course.course.late import LatePolicy

    LatePolicy.from_config(config)  # raises ConfigError naming the field
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


def validate_against_notebook(config: AssignmentConfig, nb) -> None:
    """Check that `config` and the instructor's notebook `nb` describe the same grading.

    Every exercise id must be a locked, autograded code cell (nbgrader grade, not solution) with the same
    points; every such cell must have an exercise; the points must add up. Raises `ConfigError` naming the
    config file, the exercise or cell and the mismatch.
    """
    where_nb = f"notebook {config.notebook!r}"
    cells = notebook_grade_cells(nb)
    autograded = {gid: c for gid, c in cells.items() if not c["solution"] and c["cell_type"] == "code"}
    for spec in config.exercises:
        cell = cells.get(spec["id"])
        where = f"exercise {spec['id']!r}"
        if cell is None:
            raise _fail(config.path, where, f"`id`: {where_nb} has no grade cell with grade_id {spec['id']!r} "
                                            "(run `autodiff-course sync-notebooks` to create it after the "
                                            f"answer cell {spec['id'] + '-answer'!r})")
        if cell["solution"] or cell["cell_type"] != "code":
            raise _fail(config.path, where,
                        f"cell {cell['index']} of {where_nb} is not an autograded test cell")
        if not cell["locked"]:
            raise _fail(config.path, where, f"test cell {cell['index']} of {where_nb} is not locked, so "
                                            "students could change it")
        if not math.isclose(cell["points"], float(spec["points"])):
            raise _fail(config.path, where, f"`points`: config gives {spec['points']} points, test cell "
                                            f"{cell['index']} of {where_nb} gives {cell['points']:g}")
    ids = {spec["id"] for spec in config.exercises}
    for grade_id, cell in autograded.items():
        if grade_id not in ids:
            raise _fail(config.path, f"{where_nb}, cell {cell['index']}",
                        f"autograded test cell {grade_id!r} has no [[exercise]] in the config")
    total_config = sum(float(spec["points"]) for spec in config.exercises)
    total_notebook = sum(c["points"] for c in autograded.values())
    if not math.isclose(total_config, total_notebook):
        raise ConfigError(f"{config.path}: points do not add up: exercises give {total_config:g}, the "
                          f"autograded cells of {where_nb} give {total_notebook:g}")


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
    of the others; for listing all mistakes at once (`sync-notebooks --check`)."""
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
            continue
        if config.assignment in configs:
            problems.append(f"{path}: `assignment`: {config.assignment!r} is already configured by "
                            f"{configs[config.assignment].path}")
            continue
        configs[config.assignment] = config
    return dict(sorted(configs.items())), problems


def load_course(course_dir: str | Path, *, validate: bool = True) -> dict[str, AssignmentConfig]:
    """Every assignment of the course: `graders/*.toml`, each checked against `notebooks/<a>/<notebook>`.

    Returns {assignment: config} sorted by assignment name. Raises `ConfigError` if a config is invalid,
    two configs claim one assignment, or (with `validate`) the notebook is missing or disagrees.
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
            validate_against_notebook(config, nb)
        configs[config.assignment] = config
    return dict(sorted(configs.items()))


def source_notebook_path(course_dir: str | Path, config: AssignmentConfig) -> Path:
    """Where the instructor's source notebook of `config` lives in the course."""
    return Path(course_dir) / "notebooks" / config.assignment / config.notebook
