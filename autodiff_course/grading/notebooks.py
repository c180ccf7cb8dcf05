"""Reading student submissions defensively and writing graded notebooks.

A class hands in anything: folders without the notebook, a notebook under another name, a file that is not
JSON, an nbformat 3 notebook, an empty notebook, stray files. `find_submissions` and `read_submission` turn
each of those into a readable problem line naming the file, so one bad submission never stops the batch.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

__all__ = [
    "DATA_SUFFIXES",
    "MAX_DATA_FILE_BYTES",
    "Submission",
    "SubmissionError",
    "find_submissions",
    "graded_notebook",
    "read_submission",
]

#: Extra files in a submission folder reach the sandbox only if they are small data files of these kinds.
DATA_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".json", ".npy", ".npz", ".dat"})
MAX_DATA_FILE_BYTES = 1_000_000

#: Files nbgrader's exchange writes beside a hand-in; read by the grader (late work, feedback), never data.
NBGRADER_FILES = frozenset({"timestamp.txt", "submission_secret.txt"})


class SubmissionError(ValueError):
    """A submission that cannot be graded; the message names the file and what is wrong with it."""


@dataclass
class Submission:
    """One student's folder for one assignment (it may lack the notebook: `notebook_path` is None)."""

    student: str
    assignment: str
    folder: Path
    expected_notebook: str
    notebook_path: Path | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment}"

    @property
    def notebook_name(self) -> str:
        """The name the graded notebook is published under: always the instructor's name."""
        return self.expected_notebook


def _pick_notebook(folder: Path, expected: str, problems: list[str]) -> Path | None:
    expected_path = folder / expected
    if expected_path.is_file():
        return expected_path
    candidates = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".ipynb"
                        and not p.name.startswith("."))
    if len(candidates) == 1:
        problems.append(f"{expected_path}: not found; grading {candidates[0].name} instead")
        return candidates[0]
    if candidates:
        problems.append(f"{expected_path}: not found, and {len(candidates)} other notebooks "
                        f"({', '.join(p.name for p in candidates)}) leave it ambiguous")
    else:
        problems.append(f"{expected_path}: not found (no notebook in the folder)")
    return None


def _collect_files(folder: Path, notebook: Path | None, problems: list[str]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(folder.iterdir()):
        if path == notebook or path.name.startswith(".") or path.name in NBGRADER_FILES:
            continue
        if path.is_dir():
            problems.append(f"{path}: folder ignored (only small data files next to the notebook are used)")
        elif path.suffix.lower() not in DATA_SUFFIXES:
            problems.append(f"{path}: ignored ({path.suffix or 'no extension'} is not a data file)")
        elif path.stat().st_size > MAX_DATA_FILE_BYTES:
            problems.append(f"{path}: ignored ({path.stat().st_size} bytes, over the "
                            f"{MAX_DATA_FILE_BYTES} byte limit for data files)")
        else:
            files[path.name] = path.read_bytes()
    return files


def find_submissions(submissions_dir: str | Path, configs: dict, *, assignments: list[str] | None = None
                     ) -> tuple[list[Submission], list[str]]:
    """Every (student, assignment) pair to grade, and the problems met while looking.

    Students are the sub-folders of `submissions_dir` (`<student>/<assignment>/<notebook>`); every student
    gets an entry for every selected assignment, with `notebook_path=None` when they handed nothing in.
    Folders for assignments the course does not have are reported, not graded. Raises `SubmissionError`
    only if the submissions folder itself is missing.
    """
    root = Path(submissions_dir)
    if not root.is_dir():
        raise SubmissionError(f"{root}: submissions folder does not exist")
    wanted = sorted(assignments) if assignments is not None else sorted(configs)
    problems: list[str] = []
    submissions: list[Submission] = []
    students = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for stray in sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")):
        problems.append(f"{stray}: ignored (expected one folder per student)")
    if not students:
        problems.append(f"{root}: no student folders, nothing to grade")
    for student_dir in students:
        for entry in sorted(student_dir.iterdir()):
            if entry.name.startswith("."):
                continue
            if not entry.is_dir():
                problems.append(f"{entry}: ignored (expected one folder per assignment)")
            elif entry.name not in configs:
                problems.append(f"{entry}: unknown assignment {entry.name!r} (the course has "
                                f"{', '.join(sorted(configs))}); not graded")
        for assignment in wanted:
            config = configs[assignment]
            folder = student_dir / assignment
            sub = Submission(student=student_dir.name, assignment=assignment, folder=folder,
                             expected_notebook=config.notebook)
            if not folder.is_dir():
                sub.problems.append(f"{folder}: no submission")
            else:
                sub.notebook_path = _pick_notebook(folder, config.notebook, sub.problems)
                sub.files = _collect_files(folder, sub.notebook_path, sub.problems)
            submissions.append(sub)
    return submissions, problems


def read_submission(path: str | Path) -> nbformat.NotebookNode:
    """The notebook at `path` as nbformat 4, converting older formats.

    Raises `SubmissionError` naming the file for: unreadable bytes, invalid JSON (with line and column),
    JSON that is not a notebook, a format nbformat cannot convert, and a notebook without cells.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(
            f"{path}: not a notebook (not UTF-8 text: {exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise SubmissionError(f"{path}: cannot be read ({exc.strerror})") from None
    if not text.strip():
        raise SubmissionError(f"{path}: empty file, not a notebook")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})") from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise SubmissionError(f"{path}: JSON but not a Jupyter notebook (no `nbformat` field)")
    version = data.get("nbformat")
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as exc:  # noqa: BLE001 - nbformat raises many types for unconvertible input
        raise SubmissionError(f"{path}: nbformat {version} notebook that cannot be converted to "
                              f"nbformat 4 ({type(exc).__name__}: {exc})") from None
    if not isinstance(nb.get("cells"), list):
        raise SubmissionError(f"{path}: notebook has no cell list")
    if not nb.cells:
        raise SubmissionError(f"{path}: notebook has no cells")
    for cell in nb.cells:
        # Converted (and some hand-edited) notebooks keep sources as lists of lines; the grader wants text.
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(str(part) for part in cell["source"])
        if not isinstance(cell.get("source", ""), str):
            raise SubmissionError(f"{path}: cell {nb.cells.index(cell)} has a source that is not text")
    return nb


def _output_for_students(output: dict) -> dict:
    """A cell output of the graded run without the grader's paths or traceback frames."""
    from autodiff_course.checks.privacy import for_students, traceback_for_students

    out = copy.deepcopy(output)
    if out.get("output_type") == "error":
        out["evalue"] = for_students(str(out.get("evalue", "")))
        out["traceback"] = traceback_for_students([str(line) for line in out.get("traceback") or []])
    elif out.get("output_type") == "stream":
        out["text"] = for_students(str(out.get("text", "")))
    elif isinstance(out.get("data"), dict) and isinstance(out["data"].get("text/plain"), str):
        out["data"]["text/plain"] = for_students(out["data"]["text/plain"])
    return out


def _feedback_outputs(exercise: dict) -> list:
    from autodiff_course.checks.privacy import for_students

    text = for_students(exercise.get("feedback_text") or exercise.get("message") or exercise["status"])
    data = {"text/plain": f"[{exercise['status']}] {exercise['score']:g} / {exercise['max_score']:g}\n{text}"}
    if exercise.get("feedback_html"):
        data["text/html"] = exercise["feedback_html"]
    return [nbformat.v4.new_output("display_data", data=data)]


def graded_notebook(restored: nbformat.NotebookNode, run: dict | None, exercises: list[dict]
                    ) -> nbformat.NotebookNode:
    """The notebook a student gets back: their cells with the outputs of the graded run, and each test
    cell's output replaced by the diagnosis of its exercise (never the hidden test code: test cells keep
    the source the student saw)."""
    nb = copy.deepcopy(restored)
    by_index = {cell["index"]: cell for cell in (run or {}).get("cells", [])}
    by_id = {ex["id"]: ex for ex in exercises}
    count = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        ran = by_index.get(index)
        count += 1
        cell.execution_count = count if ran is not None else None
        if grade_id in by_id:
            cell.outputs = _feedback_outputs(by_id[grade_id])
        elif ran is not None:
            cell.outputs = [nbformat.from_dict(_output_for_students(o)) for o in ran.get("outputs", [])]
        else:
            cell.outputs = []
    return nb
