"""Late penalties applied to stored results at publish time, so a new extension or policy needs no regrade.

A stored result keeps the raw score and the hand-in time (`timestamp`, from nbgrader's timestamp.txt); the
published copy gains `raw_score`, `late` (a `Lateness` as plain data) and a `score` net of the penalty, never
below 0, as `nbgrader export` computes it (`max(0, raw_score - late_submission_penalty)`).
"""
from __future__ import annotations

from datetime import datetime

from autodiff_course.course.late import LatePolicy, parse_time

__all__ = ["apply_lateness", "policies"]


def policies(configs: dict, duedates: dict[str, datetime] | None = None) -> dict[str, LatePolicy]:
    """assignment -> its late policy; the gradebook's due date (`duedates`) is used where the TOML sets none."""
    duedates = duedates or {}
    return {name: LatePolicy.from_config(config, due=duedates.get(name)) for name, config in configs.items()}


def apply_lateness(results: list[dict], configs: dict, duedates: dict[str, datetime] | None = None) -> list[dict]:
    """Copies of `results` with `raw_score`, `late` and the penalised `score` (see the module docstring)."""
    rules = policies(configs, duedates)
    published = []
    for result in results:
        result = dict(result)
        raw = float(result.get("raw_score", result["score"]))
        policy = rules.get(result["assignment"], LatePolicy())
        stamp = parse_time(result["timestamp"]) if result.get("timestamp") else None
        handed_in = result.get("handed_in", True)
        late = policy.assess(result["student"], stamp if handed_in else None, float(result["max_score"]),
                             unknown=result.get("timestamp_problem") if handed_in and stamp is None else None)
        result["raw_score"] = raw
        result["late"] = {"due": late.due.isoformat(sep=" ") if late.due else None,
                          "timestamp": result.get("timestamp"), "seconds_late": late.seconds_late,
                          "penalty": late.penalty, "extension_hours": policy.extensions.get(result["student"], 0.0),
                          "description": late.describe(), "unknown": late.unknown, "treated_as": late.treated_as}
        result["score"] = round(max(0.0, raw - late.penalty), 4)
        published.append(result)
    return published
