"""A "derive it by hand" answer is told from autograd's by what the cells say (checks/provenance), and so is
a gradient typed where autograd's is asked for. In batch grading those cells are the ones the grader sent,
not the input history the student's process reports: a cell that clears or rewrites IPython's `In` cannot
hide that `by_hand` was read off `x.grad`, nor make a typed `dz_dh` look read from `h.grad`. Under bwrap and
under the fallback, with the real collector, on a real hand-in of the example class."""

import os
from pathlib import Path

import nbformat
import pytest

from autodiff_course.checks import collect_spec, judge
from autodiff_course.course.config import load_course
from autodiff_course.grading.pool import WorkerPool
from autodiff_course.grading.sandbox import bwrap_available

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops to a separate uid: needs root")

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "tensors_grad_fn"
HAND_IN = REPO / "examples" / "submitted" / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SPECS = {spec["id"]: spec for spec in load_course(REPO)[ASSIGNMENT].exercises}
FROM_GRAD = "out.backward()\nby_hand = x.grad[0, 0].item()\n"

#: Ways a cell of the student's can make the history its process reports say something else.
HIDING = {
    "cleared": "In.clear()",
    "deleted": "del In",
    "rewritten": "In[:] = ['by_hand = 3 / 2 * (1 + 2)']",
    "replaced": "In = ['by_hand = 3 / 2 * (1 + 2)']",
}


def _job(nb, job_id: str, specs: dict = SPECS) -> dict:
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        spec = specs.get(meta.get("grade_id")) if meta.get("grade") else None
        cells.append({"index": index, "cell_type": "code", "source": cell.source,
                      "exercise": collect_spec(spec) if spec else None})
    return {"job_id": job_id, "cells": cells, "files": {}}


def _answer(hiding: str | None):
    nb = nbformat.read(HAND_IN, as_version=4)
    i = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id")
             == "mean_backward-answer")
    if hiding is not None:
        nb.cells[i].source = FROM_GRAD
        nb.cells.insert(i + 1, nbformat.v4.new_code_cell(HIDING[hiding]))
    return nb


def _by_hand_row(run):
    result = judge(SPECS["mean_backward"], run["exercises"]["mean_backward"])
    # `by_hand` is a hidden expectation: its row is labelled as one, never by what it checks.
    return result, next(r for r in result.rows if str(r.get("label")).startswith("hidden check"))


@pytest.fixture(scope="module", params=["bwrap", "none"])
def pool(request):
    if request.param == "bwrap" and not bwrap_available()[0]:
        pytest.skip("bubblewrap cannot run here")
    with WorkerPool(jobs=1, sandbox=request.param, allow_unsandboxed=True) as p:
        yield p


def test_the_honest_derivation_earns_its_part(pool):
    result, row = _by_hand_row(pool.run(_job(_answer(None), "honest")))
    assert row["ok"] and result.passed, result.messages


@pytest.mark.parametrize("hiding", sorted(HIDING))
def test_a_history_rewritten_by_the_student_does_not_hide_autograd(pool, hiding):
    result, row = _by_hand_row(pool.run(_job(_answer(hiding), f"hidden-{hiding}")))
    assert not row["ok"] and not result.passed
    assert "`by_hand` is not derived by hand" in row["message"] and "`.grad`" in row["message"], row["message"]


# -- the other way: a gradient the exercise asks autograd for, typed after backward() ----------------------
CHAIN = "chain_rule_training"
CHAIN_SPECS = {spec["id"]: spec for spec in load_course(REPO)[CHAIN].exercises}
CHAIN_HAND_IN = REPO / "examples" / "submitted" / "ada" / CHAIN / f"{CHAIN}.ipynb"
TYPED = "h.retain_grad()\nz = f2(h)\nz.backward(retain_graph=True)\ndz_dh = 1 / 25\ndz_dx = 0.4\n"
#: A history made up to show the values read from `.grad`.
SHOWN_READ = "In[:] = ['dz_dh = h.grad.item()', 'dz_dx = x.grad.item()']"


def _chain_job(typed: bool, made_up: bool, job_id: str) -> dict:
    """ada's hand-in, its chain_rule answer typed (``typed``), followed by a cell that makes up the history
    (``made_up``)."""
    nb = nbformat.read(CHAIN_HAND_IN, as_version=4)
    i = next(i for i, c in enumerate(nb.cells)
             if c.metadata.get("nbgrader", {}).get("grade_id") == "chain_rule-answer")
    if typed:
        nb.cells[i].source = TYPED
    if made_up:
        nb.cells.insert(i + 1, nbformat.v4.new_code_cell(SHOWN_READ))
    return _job(nb, job_id, CHAIN_SPECS)


@pytest.mark.parametrize(("typed", "made_up"), [(False, False), (False, True), (True, False), (True, True)],
                         ids=["read", "read-history-rewritten", "typed", "typed-history-made-up"])
def test_a_typed_gradient_is_told_by_the_cells_the_grader_sent(pool, typed, made_up):
    run = pool.run(_chain_job(typed, made_up, f"chain-{typed}-{made_up}"))
    result = judge(CHAIN_SPECS["chain_rule"], run["exercises"]["chain_rule"])
    if not typed:
        assert result.passed and result.score == 1.0, result.messages
    else:
        assert not result.passed and result.mistakes == ["not-from-autograd"], result.messages
        assert result.score == pytest.approx(1 / 3)  # only h.retains_grad holds
        assert "`dz_dh` is not read from autograd" in result.feedback and "`h.grad`" in result.feedback
