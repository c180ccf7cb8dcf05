"""Shared test configuration."""

import os

# Matplotlib must never try to open a window in tests (the grader's sandbox sets the same).
os.environ.setdefault("MPLBACKEND", "Agg")

# Under CI (CI=true) hypothesis draws the same examples on every run, so a verdict on main is reproducible; a
# developer's run draws new ones each time (and the `slow` sweeps walk every generated variant anyway).
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_configure(config):
    # The repository's example class gets its course secret (the seed of the random hidden points) before any
    # test module loads its configs: `grade` on it would make one midway, and a config loaded earlier would
    # draw other random points than the grader.
    from pathlib import Path

    from autodiff_course.course.secret import course_secret

    course_secret(Path(__file__).resolve().parents[1], create=True)
