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

__all__ = ["ReleaseError", "release"]


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
    validated against their notebooks first. nbgrader records each assignment in a gradebook: the sqlite
    file `gradebook` if given, else a temporary one that is thrown away. Returns the released notebooks'
    paths. Raises `ConfigError` for an invalid course, KeyError for an unknown assignment and
    `ReleaseError` (with nbgrader's log) if nbgrader fails.
    """
    from nbgrader.apps import NbGraderAPI

    course_dir = Path(course_dir).resolve() if course_dir is not None else find_course_dir()
    out_dir = Path(out_dir).resolve() if out_dir is not None else course_dir / "release"
    configs = load_course(course_dir)
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
        db_path = Path(gradebook).resolve() if gradebook is not None else Path(scratch) / "gradebook.db"
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
            released.append(path)
    return released
