"""Running nbgrader's own commands from a test, as an instructor runs them: the `nbgrader` of this Python's
environment, found first on PATH (pytest puts tests/ on sys.path for its conftest.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def nbgrader(where: Path, *argv: str) -> subprocess.CompletedProcess:
    """`nbgrader *argv` in `where`; fails the test with its output if it does not exit 0."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    run = subprocess.run([str(BIN / "nbgrader"), *argv], cwd=where, capture_output=True, text=True,
                         timeout=300, env=env)
    assert run.returncode == 0, (argv, run.stdout, run.stderr)
    return run
