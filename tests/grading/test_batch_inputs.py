"""Reading what a class hands in, and the results store the batch commits to."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from autodiff_course.grading.notebooks import (
    MAX_DATA_FILE_BYTES,
    SubmissionError,
    find_submissions,
    graded_notebook,
    read_submission,
)
from autodiff_course.grading.store import ResultStore, atomic_write_text, fingerprint

CONFIGS = {"hw": SimpleNamespace(notebook="hw.ipynb"), "lab": SimpleNamespace(notebook="lab.ipynb")}


def write_nb(path: Path, source: str = "x = 1") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    return path


def test_every_student_gets_every_assignment_and_misfiled_work_is_reported(tmp_path):
    write_nb(tmp_path / "alice" / "hw" / "hw.ipynb")
    write_nb(tmp_path / "bob" / "hw" / "homework_final.ipynb")
    (tmp_path / "bob" / "hw" / "data.csv").write_text("1,2\n")
    (tmp_path / "bob" / "hw" / "notes.py").write_text("print(1)\n")
    (tmp_path / "bob" / "hw" / "big.csv").write_bytes(b"0" * (MAX_DATA_FILE_BYTES + 1))
    (tmp_path / "bob" / "quiz").mkdir()
    (tmp_path / "readme.txt").write_text("stray")
    subs, problems = find_submissions(tmp_path, CONFIGS)
    assert [(s.student, s.assignment) for s in subs] == [("alice", "hw"), ("alice", "lab"), ("bob", "hw"),
                                                         ("bob", "lab")]
    by_key = {s.key: s for s in subs}
    assert by_key["alice/hw"].notebook_path == tmp_path / "alice" / "hw" / "hw.ipynb"
    assert by_key["alice/lab"].notebook_path is None
    assert "no submission" in by_key["alice/lab"].problems[0]
    bob = by_key["bob/hw"]
    assert bob.notebook_path.name == "homework_final.ipynb"
    assert bob.notebook_name == "hw.ipynb"
    assert bob.files == {"data.csv": b"1,2\n"}
    joined = "\n".join(bob.problems)
    assert "grading homework_final.ipynb instead" in joined
    assert "notes.py: ignored" in joined and "big.csv: ignored" in joined
    assert any("unknown assignment 'quiz'" in p for p in problems)
    assert any("readme.txt" in p for p in problems)


def test_two_candidate_notebooks_are_ambiguous_not_guessed(tmp_path):
    write_nb(tmp_path / "carol" / "hw" / "a.ipynb")
    write_nb(tmp_path / "carol" / "hw" / "b.ipynb")
    subs, _ = find_submissions(tmp_path, CONFIGS, assignments=["hw"])
    assert subs[0].notebook_path is None
    assert "ambiguous" in subs[0].problems[0]


def test_missing_submissions_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(SubmissionError, match="does not exist"):
        find_submissions(tmp_path / "nope", CONFIGS)
    (tmp_path / "empty").mkdir()
    subs, problems = find_submissions(tmp_path / "empty", CONFIGS)
    assert subs == [] and "no student folders" in problems[0]


@pytest.mark.parametrize("content, words", [
    (b"", "empty file"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'{"cells": [', "invalid JSON at line 1"),
    (b'{"hello": 1}', "not a Jupyter notebook"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}', "has no cells"),
])
def test_unreadable_notebooks_are_named_with_the_reason(tmp_path, content, words):
    path = tmp_path / "hw.ipynb"
    path.write_bytes(content)
    with pytest.raises(SubmissionError) as info:
        read_submission(path)
    assert str(path) in str(info.value) and words in str(info.value)


def test_nbformat3_notebooks_are_converted(tmp_path):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
          "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 2\ny = x * 3", "language": "python",
                                     "outputs": [], "metadata": {}, "prompt_number": 1}], "metadata": {}}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3))
    nb = read_submission(path)
    assert nb.nbformat == 4
    assert nb.cells[0].cell_type == "code" and nb.cells[0].source == "x = 2\ny = x * 3"


def test_sources_stored_as_lists_of_lines_become_text(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("a = 1\nb = 2")])
    data = json.loads(nbformat.writes(nb))
    data["cells"][0]["source"] = ["a = 1\n", "b = 2"]
    path = tmp_path / "lines.ipynb"
    path.write_text(json.dumps(data))
    assert read_submission(path).cells[0].source == "a = 1\nb = 2"


def test_graded_notebook_takes_run_outputs_and_replaces_test_output_with_feedback():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# hw"),
        nbformat.v4.new_code_cell("print('hi')"),
        nbformat.v4.new_code_cell("grade('hw', 'ex1')", metadata={"nbgrader": {"grade": True,
                                                                              "grade_id": "ex1"}}),
    ])
    run = {"cells": [{"index": 1, "status": "ok", "error": None,
                      "outputs": [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]}]}
    out = graded_notebook(nb, run, [{"id": "ex1", "status": "failed", "score": 1.5, "max_score": 3,
                                     "feedback_text": "v5 has the wrong sign",
                                     "feedback_html": "<b>sign</b>"}])
    assert out.cells[1].outputs[0]["text"] == "hi\n"
    assert out.cells[1].execution_count == 1
    data = out.cells[2].outputs[0]["data"]
    assert data["text/plain"].startswith("[failed] 1.5 / 3\nv5 has the wrong sign")
    assert data["text/html"] == "<b>sign</b>"
    assert nb.cells[1].outputs == []  # the restored notebook itself is left as it was
    nbformat.validate(out)


def test_store_commits_whole_results_and_reads_them_back_sorted(tmp_path):
    store = ResultStore(tmp_path)
    for student in ("zoe", "adam"):
        store.put({"student": student, "assignment": "hw", "fingerprint": "f1", "exercises": []})
    assert [r["student"] for r in store] == ["adam", "zoe"]
    assert store.is_current("adam", "hw", "f1") and not store.is_current("adam", "hw", "f2")
    assert not store.is_current("nobody", "hw", "f1")
    with pytest.raises(ValueError, match="fingerprint"):
        store.put({"student": "x", "assignment": "hw"})


def test_a_torn_or_foreign_result_file_counts_as_not_graded(tmp_path):
    store = ResultStore(tmp_path)
    for student in ("amy", "ben"):
        store.path(student, "hw").parent.mkdir(parents=True)
    store.path("amy", "hw").write_text('{"format": "autodiff-course.result/1", "stud')
    store.path("ben", "hw").write_text('{"format": "something-else", "fingerprint": "f"}')
    (store.root / "amy" / ".hw.json.123.tmp").write_text("partial")
    assert store.get("amy", "hw") is None and store.get("ben", "hw") is None
    assert store.all() == []
    assert store.clean_partial_writes() == 1
    assert not (store.root / "amy" / ".hw.json.123.tmp").exists()


def test_atomic_write_replaces_whole_files_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a" / "grades.csv"
    atomic_write_text(target, "one\n")
    atomic_write_text(target, "two\n")
    assert target.read_text() == "two\n"
    assert [p.name for p in target.parent.iterdir()] == ["grades.csv"]


def test_fingerprint_separates_its_parts():
    assert fingerprint("ab", "c") != fingerprint("a", "bc")
    assert fingerprint("a", b"b") == fingerprint(b"a", "b")
