"""Checkers: ``collect`` runs a student's code and returns plain data; ``judge`` turns that data into a
verdict
without running any student code. ``check_*`` do both, for use inside a notebook.

Kinds: decomposition, graph, forward, reverse (functions written by hand) and variables (PyTorch exercises).
"""

from .api import check_decomposition, check_forward, check_graph, check_reverse, check_variables
from .collect import collect, collect_spec
from .errors import InternalCheckError
from .judge import judge
from .points import test_points
from .result import CheckResult

__all__ = [
    "CheckResult",
    "InternalCheckError",
    "check_decomposition",
    "check_forward",
    "check_graph",
    "check_reverse",
    "check_variables",
    "collect",
    "collect_spec",
    "judge",
    "test_points",
]
