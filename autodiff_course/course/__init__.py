"""The course: grader configs (TOML), autograded test cells rendered from them, `grade()` for notebooks,
trusted reference computations, and releasing student versions with nbgrader.

Importing this package is cheap (test cells import it first thing); checks and nbgrader load on use.
`release()` lives in `autodiff_course.course.release` (it imports nbgrader).
"""
from . import reference  # noqa: F401 - registers `reference` for the expectations of the variables kind
from .api import Grade, grade
from .cells import render_test_cell, sync_notebooks
from .config import AssignmentConfig, ConfigError, load_config, load_course, validate_against_notebook

__all__ = [
    "AssignmentConfig",
    "ConfigError",
    "Grade",
    "grade",
    "load_config",
    "load_course",
    "render_test_cell",
    "sync_notebooks",
    "validate_against_notebook",
]

