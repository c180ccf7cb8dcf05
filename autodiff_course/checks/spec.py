"""The defaults of an exercise spec, defined once: the TOML config (``course.config``) and the notebook
``check_*`` functions both fill a spec from here, and every checker reads its tolerances through
``tolerances``."""

from __future__ import annotations

from typing import Any

from .numbers import DEFAULT_RTOL

#: The most operations a traced graph may have (its inputs and constants not counted): hand-written answers to
#: the course's exercises have a few dozen, and judging is linear in this. The tracer stops an answer at it
#: (so collecting costs milliseconds however long the answer's loop), and the judge refuses a graph over it,
#: or with more than ``MAX_NODES`` nodes in all, before rebuilding it.
MAX_OPERATIONS = 5000
#: Every operation reads at most two constants, so an honest graph within MAX_OPERATIONS stays within this.
MAX_NODES = 3 * MAX_OPERATIONS + 100

#: Defaults every exercise spec receives when it leaves the key out.
DEFAULTS: dict[str, Any] = {
    "rtol": DEFAULT_RTOL,
    "atol": 0.0,
    "time_limit": 10,
    "show_expected": True,
    "partial_credit": True,
    "random_points": 0,
    "domain": [],
    "test_points": [],
    "hidden_points": [],
    # The reveal policy (checks/reveal.py): how much of a verdict the notebook check and the graded feedback
    # show, and the in-notebook hint ladder (0: off).
    "notebook_reveal": "hint",
    "feedback_reveal": "hint",
    "reveal_ladder": 0,
    "ladder_top": "solution",
}


def with_defaults(spec: dict) -> dict:
    """``spec`` with every missing default filled in (lists copied, so specs never share them)."""
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in DEFAULTS.items()}
    out.update(spec)
    return out


def tolerances(spec: dict) -> tuple[float, float]:
    """``(rtol, atol)`` of ``spec``, defaults filled."""
    return float(spec.get("rtol", DEFAULT_RTOL)), float(spec.get("atol", 0.0) or 0.0)
