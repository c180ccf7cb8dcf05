"""Student versions of the course notebooks, made by nbgrader's own `generate_assignment`.

nbgrader removes the solution regions (leaving `# YOUR CODE HERE` / `raise NotImplementedError()`), the
hidden-test blocks and all outputs, locks the test cells and records checksums; we only point it at the
course (the repository's `nbgrader_config.py`, source directory `notebooks/`).
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from .config import find_course_dir, load_course

__all__ = ["ReleaseError", "course_gradebook", "course_setting", "course_students", "record_released_cells",
           "release", "released_cells", "submitted_dir"]


class ReleaseError(RuntimeError):
    """nbgrader could not generate an assignment; the message names it and carries nbgrader's log."""


def _nbgrader_config(course_dir: Path):
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    path = course_dir / "nbgrader_config.py"
    if not path.is_file():
        raise ReleaseError(f"{path}: missing; nbgrader needs it to find notebooks/ (the source directory)")
    config = PyFileConfigLoader(path.name, path=str(course_dir)).load_config()
    return config if isinstance(config, Config) else Config(config)


def course_setting(course_dir: Path, name: str):
    """`c.CourseDirectory.<name>` of the course's nbgrader_config.py, or None if unset or unreadable."""
    try:
        value = _nbgrader_config(Path(course_dir)).CourseDirectory.get(name)
    except Exception:  # noqa: BLE001 - a missing or broken config leaves nbgrader's defaults
        return None
    return value if isinstance(value, str) and value.strip() else None


def course_gradebook(course_dir: str | Path) -> Path:
    """The gradebook nbgrader uses for this course: the sqlite file `db_url` of nbgrader_config.py names,
    else `<course>/gradebook.db` (nbgrader's default, relative to the course root)."""
    url = course_setting(Path(course_dir), "db_url")
    if url and url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        return path if path.is_absolute() else Path(course_dir) / path
    return Path(course_dir) / "gradebook.db"


def submitted_dir(course_dir: str | Path) -> Path:
    """Where nbgrader collects submissions (`submitted_directory`, default `submitted`) in this course."""
    return Path(course_dir) / (course_setting(Path(course_dir), "submitted_directory") or "submitted")


def course_students(course_dir: str | Path) -> set[str]:
    """The students the course knows: those of its gradebook (read only, nothing is created) and the folders
    of its submitted directory; empty when it has neither."""
    import sqlite3

    students = {p.name for p in submitted_dir(course_dir).glob("*") if p.is_dir() and not p.name.startswith(".")}
    path = course_gradebook(course_dir)
    if path.is_file():
        try:
            with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
                students.update(row[0] for row in db.execute("SELECT id FROM student"))
        except sqlite3.Error:
            pass  # a gradebook nbgrader has not set up yet has no students
    return students


def _released_cells_path(course_dir: Path, assignment: str) -> Path:
    # Beside the configs, which sandboxed workers never see, and not in release/, which students receive.
    return Path(course_dir) / "graders" / ".released" / f"{assignment}.json"


def _cell_key(cell) -> str:
    import hashlib

    meta = cell.get("metadata", {}).get("nbgrader", {})
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    text = f"{cell.get('cell_type')}\0{float(meta.get('points', 0) or 0)!r}\0{source}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def released_cells(course_dir: str | Path, assignment: str) -> dict[str, set[str]]:
    """grade_id -> the keys (type, points, source) of every version of that test cell ever released."""
    import json

    try:
        data = json.loads(_released_cells_path(Path(course_dir), assignment).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {str(k): set(v) for k, v in data.items() if isinstance(v, list)}


def is_released_version(history: dict[str, set[str]], grade_id: str, cell) -> bool:
    """True if `cell` is a version of test cell `grade_id` that students were given by a release."""
    return _cell_key(cell) in history.get(grade_id, set())


def record_released_cells(course_dir: str | Path, assignment: str, released_nb) -> None:
    """Add the test cells of a released notebook to the assignment's release history, so a hand-in of an
    earlier release is not mistaken for tampering after the instructor changes points or tests."""
    import json

    history = released_cells(course_dir, assignment)
    for cell in released_nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and meta.get("grade_id"):
            history.setdefault(meta["grade_id"], set()).add(_cell_key(cell))
    path = _released_cells_path(Path(course_dir), assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: sorted(v) for k, v in sorted(history.items())}, indent=1) + "\n",
                    encoding="utf-8")


@contextlib.contextmanager
def _interpreter_scripts_on_path():
    """nbgrader's Gradebook runs the `alembic` command by name; from an unactivated virtualenv that name is
    only found in the interpreter's own scripts directory, so put it first on PATH while nbgrader runs."""
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), old]) if old else str(
        Path(sys.executable).parent)
    try:
        yield
    finally:
        os.environ["PATH"] = old


def release(course_dir: str | Path | None = None, out_dir: str | Path | None = None,
            assignments: list[str] | None = None, *, gradebook: str | Path | None = None) -> list[Path]:
    """Generate the student version of each assignment into `<out_dir>/<assignment>/<notebook>`.

    `course_dir` defaults to the course found above the current directory; `out_dir` to
    `<course_dir>/release`; `assignments` to every assignment with a grader config. The configs are
    validated against their notebooks first. nbgrader records each assignment, with the config's due date,
    in the gradebook: the sqlite file `gradebook` if given, else the one nbgrader_config.py names
    (`course_gradebook`). When releasing into the course's own `release/`, the released test cells are added
    to the release history (`record_released_cells`). Returns the released notebooks'
    paths. Raises `ConfigError` for an invalid course, KeyError for an unknown assignment and
    `ReleaseError` (with nbgrader's log) if nbgrader fails.
    """
    from nbgrader.apps import NbGraderAPI

    course_dir = Path(course_dir).resolve() if course_dir is not None else find_course_dir()
    out_dir = Path(out_dir).resolve() if out_dir is not None else course_dir / "release"
    configs = load_course(course_dir, names=True)
    names = list(configs) if assignments is None else list(assignments)
    unknown = [name for name in names if name not in configs]
    if unknown:
        raise KeyError(f"no grader config for assignment(s) {', '.join(unknown)} in "
                       f"{course_dir / 'graders'}; known: {', '.join(configs)}")
    config = _nbgrader_config(course_dir)
    config.CourseDirectory.root = str(course_dir)
    config.CourseDirectory.source_directory = "notebooks"
    config.CourseDirectory.release_directory = str(out_dir)
    released: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="autodiff-course-release-") as scratch, \
            _interpreter_scripts_on_path():
        db_path = Path(gradebook).resolve() if gradebook is not None else course_gradebook(course_dir).resolve()
        config.CourseDirectory.db_url = f"sqlite:///{db_path}"
        # Releasing never uses nbgrader's exchange; point it somewhere writable so nbgrader does not complain.
        config.Exchange.root = str(Path(scratch) / "exchange")
        api = NbGraderAPI(config=config)
        for name in names:
            result = api.generate_assignment(name, force=True, create=True)
            if not result.get("success"):
                raise ReleaseError(f"nbgrader generate_assignment failed for {name!r}:\n"
                                   f"{result.get('error') or ''}\n{result.get('log') or ''}".rstrip())
            path = out_dir / name / configs[name].notebook
            if not path.is_file():
                raise ReleaseError(f"nbgrader reported success for {name!r} but wrote no {path}")
            _refuse_unsafe_cells(path)
            released.append(path)
            _record_due_date(db_path, configs[name], config.CourseDirectory.get("course_id"))
            if out_dir == (course_dir / "release").resolve():
                # Only the course's own release is what students receive; a copy elsewhere is no release.
                import nbformat

                record_released_cells(course_dir, name, nbformat.read(path, as_version=4))
    return released


def _refuse_unsafe_cells(path: Path) -> None:
    """Delete the released notebook `path` and raise ReleaseError if a test cell of it holds anything outside
    the student-visible allow-list (`cells.released_cell_problems`): the last guard before students."""
    import nbformat

    from .cells import released_cell_problems

    problems = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
            problems += [f"{path.name}, cell {index} ({meta.get('grade_id')!r}): {problem}"
                         for problem in released_cell_problems(cell.source)]
    if problems:
        path.unlink()
        raise ReleaseError("refused to release (the student copy was deleted); run `autodiff-course "
                           "sync-notebooks` and release again:\n" + "\n".join(problems))


def _record_due_date(db_path: Path, assignment_config, course: str | None) -> None:
    from nbgrader.api import Gradebook

    from .late import LatePolicy

    due = LatePolicy.from_config(assignment_config).due
    if due is None:
        return
    kwargs = {"course_id": course} if course else {}
    with Gradebook(f"sqlite:///{db_path}", **kwargs) as gb:
        gb.update_or_create_assignment(assignment_config.assignment, duedate=due)
