"""The real checkers through the sandbox: judged where no student code ran, the verdict equals the one
computed in-process, and a submission that patches the collector cannot change its data."""

import os

import pytest

from autodiff_course.checks import collect, judge
from autodiff_course.grading.pool import WorkerPool

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops to a separate uid: needs root")

SPEC = {"id": "torch_grad", "kind": "variables", "points": 2, "variables": ["x", "y"],
        "expect": [{"check": "x.requires_grad", "equals": "True", "hint": "Create x requiring its grad."},
                   {"check": "x.grad", "equals": "np.array([2.0, 4.0])", "hint": "Call y.backward()."}]}

RIGHT = ["import torch\nx = torch.tensor([1.0, 2.0], requires_grad=True)", "y = (x ** 2).sum()\ny.backward()"]
WRONG = ["import torch\nx = torch.tensor([1.0, 2.0], requires_grad=True)", "y = (x ** 2).sum()"]
FORGE = ("import autodiff_course.checks as checks, autodiff_course.checks.collect as mod\n"
         "def forged(spec, ns):\n"
         "    ns['x'].grad = torch.tensor([2.0, 4.0])\n"
         "    return real(spec, ns)\n"
         "real = checks.collect\nchecks.collect = forged\nmod.collect = forged")


def _job(job_id, sources):
    cells = [{"index": i, "cell_type": "code", "source": s, "exercise": None} for i, s in enumerate(sources)]
    cells.append({"index": len(sources), "cell_type": "code", "source": "", "exercise": SPEC})
    return {"job_id": job_id, "cells": cells, "files": {}}


def _in_process(sources):
    ns: dict = {}
    for s in sources:
        exec(s, ns)
    return judge(SPEC, collect(SPEC, ns))


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(jobs=1, sandbox="auto") as p:  # the real default collector
        yield p


@pytest.mark.parametrize("sources, score", [(RIGHT, 1.0), (WRONG, 0.5)], ids=["right", "wrong"])
def test_sandbox_verdict_equals_the_in_process_verdict(pool, sources, score):
    run = pool.run(_job("real", sources))
    assert run["status"] == "ok", run["message"]
    sandboxed = judge(SPEC, run["exercises"]["torch_grad"])
    assert sandboxed.to_dict() == _in_process(sources).to_dict()
    assert sandboxed.score == pytest.approx(score, abs=1e-12)


def test_patching_the_collector_in_a_cell_does_not_change_the_data(pool):
    run = pool.run(_job("forger", [*WRONG, FORGE]))
    assert run["cells"][2]["status"] == "ok"
    result = judge(SPEC, run["exercises"]["torch_grad"])
    assert result.score == pytest.approx(0.5, abs=1e-12)  # still the wrong answer's data
