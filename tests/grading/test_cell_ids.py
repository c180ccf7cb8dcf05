"""Cell ids a hand-in may carry (not text, against nbformat's pattern, too long, repeated, missing) never stop
its graded notebook from opening in nbconvert, and never change its grade.

The batch test grades the example class's best student twice in one real run (sandboxed pool, real checkers):
once as handed in, once with every kind of broken id; the graded notebook of the second must pass nbformat's
strict validation and convert with nbconvert's own HTML exporter from the file, scoring exactly the same.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbconvert import HTMLExporter

from autodiff_course.grading.batch import grade
from autodiff_course.grading.notebooks import repair_cell_ids

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "submitted"
ASSIGNMENT = "autodiff_by_hand"
VALID = st.text("abcXYZ019-_", min_size=1, max_size=64)
ANY_ID = st.one_of(VALID, st.text(max_size=80), st.integers(), st.none(), st.just("x" * 65), st.just("a b"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(ANY_ID, st.just(KeyError)), min_size=1, max_size=12))
def test_repaired_ids_are_valid_unique_and_keep_every_valid_first_use(ids):
    cells = []
    for i, cid in enumerate(ids):
        cell = {"cell_type": "code", "source": f"x = {i}", "metadata": {}, "outputs": [], "execution_count": None}
        if cid is not KeyError:
            cell["id"] = cid
        cells.append(cell)
    nb = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})
    again = nbformat.from_dict(json.loads(json.dumps(nb)))
    repair_cell_ids(nb)
    got = [c["id"] for c in nb.cells]
    assert len(set(got)) == len(got)
    nbformat.validate(nb)
    seen = set()
    for cid, new in zip(ids, got):
        if isinstance(cid, str) and nbformat.validator.isvalid({"cell_type": "raw", "id": cid, "source": "",
                                                               "metadata": {}}, ref="raw_cell") \
                and cid not in seen:
            assert new == cid
            seen.add(cid)
    repair_cell_ids(again)  # the same hand-in gets the same ids
    assert [c["id"] for c in again.cells] == got


def test_ids_in_a_notebook_older_than_4_5_are_removed():
    cell = {"cell_type": "markdown", "source": "x", "metadata": {}, "id": "bad id"}
    nb = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [cell]})
    assert repair_cell_ids(nb) == 1
    nbformat.validate(nb)


def _scores(out: Path, student: str) -> dict:
    with (out / "grades.csv").open(newline="") as handle:
        return {r["exercise"]: (r["score"], r["status"]) for r in csv.DictReader(handle)
                if r["student"] == student and r["assignment"] == ASSIGNMENT}


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the example class is not built yet")
def test_a_hand_in_with_broken_cell_ids_is_graded_and_its_graded_notebook_opens_in_nbconvert(tmp_path):
    subs = tmp_path / "submitted"
    shutil.copytree(EXAMPLES / "ada" / ASSIGNMENT, subs / "ada" / ASSIGNMENT)
    data = json.loads((EXAMPLES / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    assert (data["nbformat"], data["nbformat_minor"]) >= (4, 5)
    broken = ["not valid!", "x" * 65, data["cells"][3]["id"], 17, "", None]
    for cell, cid in zip(data["cells"], broken):
        cell["id"] = cid
    del data["cells"][len(broken)]["id"]
    # A test cell's id reused on a student cell: restoring test cells must not leave two cells with it.
    test_cell = next(c for c in data["cells"] if c["metadata"].get("nbgrader", {}).get("grade"))
    data["cells"][len(broken) + 1]["id"] = test_cell["id"]
    (subs / "ida" / ASSIGNMENT).mkdir(parents=True)
    (subs / "ida" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(data))

    out = tmp_path / "graded"
    grade(course=REPO, submissions=subs, out=out, assignments=[ASSIGNMENT], jobs=1, progress=False,
          report_line=lambda line: None, gradebook=out / "gradebook.db")

    ada, ida = _scores(out, "ada"), _scores(out, "ida")
    assert ida == ada and ada and all(status == "ok" for _, status in ada.values()), (ada, ida)
    path = out / "autograded" / "ida" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    html, _ = HTMLExporter().from_filename(str(path))
    assert "<html" in html
    ids = [c["id"] for c in nb.cells]
    assert len(set(ids)) == len(ids)
