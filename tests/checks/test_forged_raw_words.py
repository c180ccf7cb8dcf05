"""What the sandbox sends back is written in the process the student's code ran in: a forged message in it
never reaches the feedback as written (the red team carried hidden points out through text a check repeats)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from autodiff_course.checks import judge
from autodiff_course.checks.collect import RAW_FORMAT
from autodiff_course.course.config import load_config

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config(REPO / "graders" / "autodiff_by_hand.toml")
CARRIED = "p1_1000d300000_998d800000_1002d500000"


def raw(spec: dict, **fields) -> dict:
    return {"format": RAW_FORMAT, "exercise": spec["id"], "kind": spec["kind"], "status": "ok", "message": "",
            "timed_out": False, **fields}


def shown(result) -> str:
    return "\n".join([result.feedback, result._repr_html_(), json.dumps(result.to_dict())])


@pytest.mark.parametrize("exercise", ["forward", "graph"])
def test_a_forged_function_error_is_told_in_the_checkers_words(exercise):
    spec = CONFIG.exercise(exercise)
    forged = raw(spec, points=[], function_error={"type": "NameError", "message": CARRIED, "line": None,
                                                  "source": None})
    if exercise == "graph":
        forged["parents"] = {"missing": True}
    result = judge(spec, forged)
    assert CARRIED not in shown(result) and CARRIED[:10] not in shown(result)
    if exercise == "forward":
        assert f"`{spec['function']}` is not defined: run the cell that defines it first." in result.feedback


@pytest.mark.parametrize("message", [CARRIED, f"unknown exercise kind {CARRIED!r}",
                                     f"the checker could not collect exercise 'x': KeyError: {CARRIED}"])
def test_a_forged_collector_error_is_not_repeated(message):
    spec = CONFIG.exercise("forward")
    result = judge(spec, raw(spec, status="error", message=message))
    assert result.status == "error" and CARRIED not in shown(result) and CARRIED[:10] not in shown(result)


def test_a_forged_kind_is_not_repeated():
    spec = CONFIG.exercise("forward")
    result = judge(spec, {**raw(spec), "kind": CARRIED})
    assert "unusable" in result.feedback and CARRIED not in shown(result)
