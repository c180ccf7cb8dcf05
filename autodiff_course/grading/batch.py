"""Batch grading: every submission of a class, through the sandboxed worker pool, into `OUT/`.

The pipeline, per submission (order asserted in `PIPELINE`):

1. find    - locate the student's notebook and small data files, read as untrusted data, once
              (`notebooks.find_submissions`; once per batch)
2. read    - parse it defensively, converting old nbformat versions (`Read`)
3. restore - put the instructor's test cells back, noting tampering (`Restore`)
4. job     - what the sandbox may see: code cells, collect specs, data files (`BuildJob`)
5. run     - execute student cells and collect each exercise in the sandbox (`Run`, `grading.pool`)
6. judge   - score each exercise on the trusted side within a budget (`Judge`, `course.judging`)
7. commit  - write the graded notebook, then the result JSON atomically (`Commit`, `store.ResultStore`)

Steps 2 to 7 are `Step` objects in `PIPELINE`; a step that fails costs that submission an error row.

and once per batch, `publish` rebuilds grades.csv, feedback, the class report and nbgrader's gradebook from
the stored results (the `feedback` command also rewrites the graded notebooks' test cells, at the reveal levels
the config has now: `rewrite_graded_notebooks`). Because results are committed one by one and published from
the store, a killed run restarted with `resume=True` grades only what is missing, and a repeated run rewrites
identical files.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import nbformat

from autodiff_course.checks import collect_spec
from autodiff_course.checks.privacy import register_host_paths
from autodiff_course.course.cells import HIDDEN_BEGIN, HIDDEN_END
from autodiff_course.course.config import (
    AssignmentConfig,
    ConfigError,
    find_course_dir,
    load_course,
    source_notebook_path,
)
from autodiff_course.course.judging import EXERCISE_STATUSES, ExerciseEntry, judge_run, points_awarded
from autodiff_course.grading.notebooks import (
    Submission,
    SubmissionError,
    find_submissions,
    graded_notebook,
    read_submission,
    read_untrusted,
)
from autodiff_course.grading.records import RunResult, StoredResult
from autodiff_course.grading.store import ResultStore, atomic_write_text, fingerprint, spreadsheet_row

__all__ = [
    "GRADES_CSV_COLUMNS",
    "LATE_ROW",
    "TIMESTAMP_ROW",
    "GradeSummary",
    "feedback",
    "PIPELINE",
    "Prepared",
    "STATUSES",
    "grade",
    "judge_run",
    "prepare",
    "released_form",
    "publish",
    "points_awarded",
    "summary_table",
]

#: Bumped whenever a change to the grader could change a stored result, so old results are regraded.
GRADER_VERSION = "1"

#: Every status an exercise row of grades.csv can carry.
STATUSES = EXERCISE_STATUSES

#: The `exercise` of the grades.csv row carrying a late hand-in's penalty (as a negative score, status late).
LATE_ROW = "(late penalty)"
#: The grades.csv row of a hand-in with no readable time while a due date is set (status `timestamp`).
TIMESTAMP_ROW = "(submission time)"

#: A notebook with more code cells is not run (each cell costs the trusted side a little, whatever it holds).
MAX_CODE_CELLS = 2000

GRADES_CSV_COLUMNS = ("student", "assignment", "notebook", "exercise", "score", "max_score", "status")

_HIDDEN_TESTS = re.compile(rf"^[ \t]*{re.escape(HIDDEN_BEGIN)}.*?^[ \t]*{re.escape(HIDDEN_END)}[^\n]*\n?",
                           re.DOTALL | re.MULTILINE)


def format_points(value: float, places: int = 4) -> str:
    """Points as a plain decimal with at most `places` places ("3.5", "4", "0.125"): grades.csv keeps 4, the
    terminal table 2 (easier to read; the CSV and the gradebook hold the exact figures)."""
    text = f"{float(value):.{places}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


@dataclass
class Prepared:
    """One submission on its way through `PIPELINE`: what each step found, and why it stopped if it did."""

    submission: Submission
    fingerprint: str
    notebook: nbformat.NotebookNode | None = None
    restored: nbformat.NotebookNode | None = None
    tampered: dict[str, str] = field(default_factory=dict)
    job: dict | None = None
    present: set[str] = field(default_factory=set)
    run: RunResult | None = None
    exercises: list[ExerciseEntry] | None = None
    problems: list[str] = field(default_factory=list)
    failure_status: str | None = None
    result: StoredResult | None = None

    @property
    def key(self) -> str:
        return self.submission.key

    def fail(self, problem: str | None, status: str) -> None:
        if problem:
            self.problems.append(problem)
        self.failure_status = status


@dataclass
class GradeSummary:
    """What a `grade` call did; `str()` is the student x assignment table `make grade` prints."""

    out: Path
    results: list[dict]
    configs: dict[str, AssignmentConfig]
    graded: int = 0
    reused: int = 0
    problems: list[str] = field(default_factory=list)
    #: Submissions judged again from their stored run because only the config changed.
    rejudged: int = 0
    #: The gradebook the results were written to.
    gradebook: Path | None = None
    #: Submissions recorded as missing this run (nothing handed in): not counted in `graded`.
    missing: int = 0

    def __str__(self) -> str:
        return summary_table(self.results, self.configs)


def _config_digest(config: AssignmentConfig, source_bytes: bytes) -> str:
    from autodiff_course._version import __version__

    specs = json.dumps(config.exercises, sort_keys=True)
    return fingerprint(GRADER_VERSION, __version__, specs, source_bytes)


def _submission_fingerprint(config_digest: str, sub: Submission) -> str:
    parts: list[bytes | str] = [config_digest, sub.notebook_path.name if sub.notebook_path else ""]
    if sub.notebook_bytes is not None:
        parts.append(sub.notebook_bytes)
    if sub.refused:
        parts.append(f"refused: {sub.refused}")
    for name, data in sorted(sub.files.items()):
        parts += [name, data]
    return fingerprint(*parts)


def _exercise_cell_ids(nb) -> dict[str, int]:
    ids: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id is not None and cell.cell_type == "code":
            ids.setdefault(grade_id, index)
    return ids


def released_form(source_nb):
    """The instructor's notebook as students received it: hidden tests removed by nbgrader's own
    ClearHiddenTests. Test cells are restored from this form, so an intact hand-in is not flagged as tampered
    and hidden test code never reaches graded notebooks; the hidden checks still run, from the config."""
    import copy

    from nbgrader.preprocessors import ClearHiddenTests

    nb, _ = ClearHiddenTests().preprocess(copy.deepcopy(source_nb), {})
    return nb


def _released_versions(nb, tampered: dict[str, str], history: dict | None) -> dict[str, str]:
    """`tampered` without the test cells that are intact copies of an earlier release: the instructor changed
    them (points, test points) after students received the notebook, which is not the student's doing."""
    if not history:
        return tampered
    from autodiff_course.course.release import is_released_version

    kept = dict(tampered)
    cells = {}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid is not None:
            cells.setdefault(gid, []).append(cell)
    for gid in tampered:
        if len(cells.get(gid, [])) == 1 and is_released_version(history, gid, cells[gid][0]):
            del kept[gid]
    return kept


def run_key(job: dict | None) -> str | None:
    """What a sandboxed run depends on: the student's cells, the data files and what each exercise collects.
    Test cell sources are left out (the run never executes them), so a change of points or tolerances
    keeps the key and the stored run can be judged again instead of run again."""
    if job is None:
        return None
    from autodiff_course._version import __version__

    cells = [{**cell, "source": "" if cell.get("exercise") else cell["source"]} for cell in job["cells"]]
    # A new grader or package version may collect differently: its runs are not reused.
    return fingerprint(GRADER_VERSION, __version__,
                       json.dumps({"cells": cells, "files": job["files"]}, sort_keys=True))


@dataclass
class _Batch:
    """What the steps of one batch share: the configs and released notebooks, and how to run and judge."""

    configs: dict[str, AssignmentConfig]
    sources: dict
    #: Each assignment's release history (`course.release.released_cells`), for `Restore`.
    released: dict = field(default_factory=dict)
    run: Callable[[dict], dict] | None = None
    judge: Callable[..., list[dict]] = judge_run
    out: Path | None = None
    store: ResultStore | None = None


class Step:
    """One stage of a submission's way from its folder to a stored result (as nbgrader declares its
    preprocessors). A step reads and fills a `Prepared`; a step that raises costs that submission an
    ``error`` naming the step, never the batch; once a step has failed, only `Commit` still runs."""

    name = ""

    def __call__(self, item: Prepared, batch: _Batch) -> None:
        raise NotImplementedError


class Read(Step):
    """Parse the notebook's bytes (read once, as untrusted data, by `find_submissions`)."""

    name = "read"

    def __call__(self, item, batch):
        sub = item.submission
        if sub.refused:
            return item.fail(sub.refused, "error")
        if sub.notebook_path is None:
            return item.fail(None, "missing")
        try:
            item.notebook = read_submission(sub.notebook_path, sub.notebook_bytes)
        except SubmissionError as exc:
            item.fail(str(exc), "missing" if str(exc).endswith("has no cells") else "error")


class Restore(Step):
    """Put the instructor's test cells back, noting tampering (`grading.restore`)."""

    name = "restore"

    def __call__(self, item, batch):
        from autodiff_course.grading.restore import restore_test_cells

        try:
            restored, tampered = restore_test_cells(batch.sources[item.submission.assignment], item.notebook)
        except Exception as exc:  # noqa: BLE001 - a notebook restore cannot handle is reported, not fatal
            return item.fail(f"{item.submission.notebook_path}: test cells could not be restored "
                             f"({type(exc).__name__}: {exc})", "error")
        # Test cells equal to a released version are not tampering (the instructor changed them since).
        item.restored = restored
        item.tampered = _released_versions(item.notebook, dict(tampered),
                                           batch.released.get(item.submission.assignment))
        for grade_id, reason in sorted(item.tampered.items()):
            item.problems.append(f"{item.submission.notebook_path}: test cell {grade_id!r} tampered with "
                                 f"({reason}); graded with the instructor's version")


class BuildJob(Step):
    """The sandbox's job: code cells, each test cell with only what collect needs, the data files."""

    name = "job"

    def __call__(self, item, batch):
        specs = {spec["id"]: spec for spec in batch.configs[item.submission.assignment].exercises}
        ids = _exercise_cell_ids(item.restored)
        item.present = {grade_id for grade_id in specs if grade_id in ids}
        # The sandbox sees only what to run (collect_spec), never the reference, expectations or domain.
        exercise_at = {index: collect_spec(specs[gid]) for gid, index in ids.items() if gid in specs}
        cells = [{"index": index, "cell_type": "code", "source": cell.source, "exercise": exercise_at.get(index)}
                 for index, cell in enumerate(item.restored.cells) if cell.cell_type == "code"]
        if len(cells) > MAX_CODE_CELLS:
            return item.fail(f"{item.submission.notebook_path}: {len(cells)} code cells, more than the "
                             f"{MAX_CODE_CELLS} a notebook may have; not graded", "error")
        files = {name: base64.b64encode(data).decode("ascii") for name, data in sorted(item.submission.files.items())}
        item.job = {"job_id": item.key, "cells": cells, "files": files}


class Run(Step):
    """Execute the student cells and collect each exercise in the sandbox (`grading.pool.WorkerPool`)."""

    name = "run"

    def __call__(self, item, batch):
        try:
            run = batch.run(item.job)
        except Exception as exc:  # noqa: BLE001 - one job the pool refuses must not stop the batch
            return item.fail(f"{item.key}: could not be run ({type(exc).__name__}: {exc})", "error")
        item.run = RunResult.from_dict(run)


class Judge(Step):
    """Score each exercise on the trusted side (`course.judging`, within the notebook's judging budget)."""

    name = "judge"

    def __call__(self, item, batch):
        specs = batch.configs[item.submission.assignment].exercises
        item.exercises = entries(batch.judge(specs, item.run.to_dict(), present=item.present))


class Commit(Step):
    """Write the graded notebook, then the result JSON, each atomically (`store.ResultStore`)."""

    name = "commit"

    def __call__(self, item, batch):
        config = batch.configs[item.submission.assignment]
        exercises = item.exercises if item.failure_status is None else _failed_result(item, config)
        item.result = commit(item, config, exercises, item.run if item.failure_status is None else None,
                             batch.out, batch.store)


#: The steps of one submission, in order ("find" is `find_submissions`, once per batch).
PIPELINE = (Read(), Restore(), BuildJob(), Run(), Judge(), Commit())
assert tuple(step.name for step in PIPELINE) == ("read", "restore", "job", "run", "judge", "commit")
_PREPARE = PIPELINE[:3]
_RUN_AND_JUDGE = PIPELINE[3:5]


def run_steps(item: Prepared, batch: _Batch, steps) -> Prepared:
    """Apply `steps` to `item` until one fails; a step that raises is that submission's error."""
    for step in steps:
        if item.failure_status is not None and not isinstance(step, Commit):
            continue
        try:
            step(item, batch)
        except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
            item.fail(f"{item.key}: grading step {step.name!r} failed ({type(exc).__name__}: "
                      f"{str(exc)[:300]})", "error")
            if isinstance(step, Commit):
                raise
    return item


def prepare(sub: Submission, config: AssignmentConfig, source_nb, digest: str, *,
            released: dict | None = None) -> Prepared:
    """Steps read..job for one submission; never raises for a bad submission (problems are recorded).
    `released` is the assignment's release history (`course.release.released_cells`): test cells equal to
    a released version are not tampering."""
    prepared = Prepared(submission=sub, fingerprint=_submission_fingerprint(digest, sub),
                        problems=list(sub.problems))
    batch = _Batch({sub.assignment: config}, {sub.assignment: source_nb}, {sub.assignment: released})
    return run_steps(prepared, batch, _PREPARE)


def entries(judged: list[dict]) -> list[ExerciseEntry]:
    """The judged exercises as records: judging sends them as plain dicts (from its own processes, or from a
    Dask worker), all of our own making."""
    return [ExerciseEntry.from_dict(entry) for entry in judged]


def _failed_result(prepared: Prepared, config: AssignmentConfig) -> list[ExerciseEntry]:
    status = prepared.failure_status or "error"
    message = prepared.problems[-1] if prepared.problems else status
    internal = prepared.submission.refused_detail  # the class report's, never the student's
    return [replace(ExerciseEntry.unjudged(spec, status, message), internal=internal) for spec in config.exercises]


def _answer_errors(restored, run: RunResult | None) -> dict[str, dict]:
    """Exercise id -> the error its answer cell (nbgrader's solution cell `<id>-answer`) stopped with in the
    run. NotImplementedError there is the stub as released (unanswered); any other error is an answer that
    was written and failed, which must not read as "not answered"."""
    raised = {c.index: c.error for c in (run.cells if run is not None else []) if isinstance(c.error, dict)}
    errors = {}
    for index, cell in enumerate(restored.cells if restored is not None else []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = str(meta.get("grade_id", ""))
        if meta.get("solution") and not meta.get("grade") and index in raised:
            errors[grade_id[:-len("-answer")] if grade_id.endswith("-answer") else grade_id] = raised[index]
    return errors


def make_result(prepared: Prepared, config: AssignmentConfig, exercises: list[ExerciseEntry],
                run: RunResult | None) -> StoredResult:
    """The stored record of one graded submission (the only place one is built)."""
    from autodiff_course.checks.reveal import feedback_view
    from autodiff_course.checks.unanswered import answer_error_result, stub_cell_result

    answer_errors = _answer_errors(prepared.restored, run)
    for entry in exercises:
        error = answer_errors.get(entry.id)
        if error is None or entry.score != 0:
            continue
        spec = config.exercise(entry.id)
        if error.get("ename") == "NotImplementedError" and entry.status in ("failed", "error"):
            check = stub_cell_result(spec)
            entry.status = "unanswered"
        elif error.get("ename") != "NotImplementedError" and entry.status == "unanswered":
            check = answer_error_result(spec, f"{error.get('ename')}: {error.get('evalue')}")
            entry.status = "error"
        else:
            continue
        entry.score, entry.check, entry.message = 0.0, check.to_dict(), feedback_view(check, spec).feedback
    for entry in exercises:
        if entry.id in prepared.tampered and entry.status != "missing":
            entry.status = "tampered"
            entry.tampered = prepared.tampered[entry.id]
    sub = prepared.submission
    stamp, stamp_problem = _timestamp_text(prepared)
    return StoredResult(
        student=sub.student,
        assignment=sub.assignment,
        notebook=sub.notebook_name,
        submitted=sub.notebook_path.name if sub.notebook_path else None,
        handed_in=sub.notebook_path is not None,
        fingerprint=prepared.fingerprint,
        problems=prepared.problems,
        run_status=run.status if run is not None else None,
        run_message=run.message if run is not None else None,
        run_seconds=round(run.seconds, 3) if run is not None else None,
        tampered=prepared.tampered,
        timestamp=stamp,
        timestamp_problem=stamp_problem,
        submission_secret=_submission_secret(prepared.submission),
        run_key=run_key(prepared.job),
        run=_storable(run.to_dict() if run is not None else None) if prepared.job is not None else None,
        exercises=exercises,
        score=round(sum(e.score for e in exercises), 4),
        max_score=config.max_score,
    )


def _storable(run: dict | None) -> dict | None:
    """`run` if it is strict JSON (the store refuses NaN and infinities), else None: that submission is run
    again rather than judged again after a config change."""
    if run is None:
        return None
    try:
        json.dumps(run, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return run


def _timestamp_text(prepared: Prepared) -> tuple[str | None, str | None]:
    """(the hand-in time from nbgrader's timestamp.txt as ISO text (naive UTC), None), or (None, why there is
    none: `course.late.timestamp_problem`). Whether that matters (a due date) is decided when publishing."""
    from autodiff_course.course.late import timestamp_problem

    moment, problem = timestamp_problem(prepared.submission.folder)
    if problem is not None and problem.startswith("timestamp.txt "):
        # A file that is there but unusable is also a problem line of the run (the grader's terminal).
        what = problem.removeprefix("timestamp.txt ").removeprefix("is ")
        prepared.problems.append(f"{prepared.submission.folder / 'timestamp.txt'}: {what}")
    return (moment.isoformat(sep=" ") if moment is not None else None), problem


def _submission_secret(submission: Submission) -> str:
    """The hand-in's own submission_secret.txt as nbgrader wrote it (its exchange writes one per hand-in;
    `release_feedback` names the released page by a hash of it), or "" where there is none or it is not
    one. Which secret a page is released under is decided when publishing (`grading.feedback_secret`)."""
    from autodiff_course.grading.feedback_secret import own_secret

    try:  # the student's folder: read as untrusted data (no link, no FIFO)
        text = read_untrusted(None, submission.folder / "submission_secret.txt", 200).decode("ascii")
    except (OSError, UnicodeDecodeError):
        return ""
    return own_secret(text)


def _render_check_html(entry: dict) -> str | None:
    if entry.get("check") is None:
        return None
    from autodiff_course.checks import CheckResult

    try:
        return CheckResult.from_dict(entry["check"])._repr_html_()
    except Exception:  # noqa: BLE001 - rendering trouble falls back to the stored text
        return None


def shown_exercises(exercises: list[dict], config: AssignmentConfig) -> list[dict]:
    """The exercises (stored entries) as the graded notebook's test cells show them: each check cut to its
    exercise's feedback level in `config` as it is now, as HTML and as text. The stored `message` was
    rendered at the level of the day it was judged, so the text is rendered again from the check; an entry
    without a check (an error, a missing cell) keeps its message, which every level shows."""
    from autodiff_course.checks.reveal import feedback_data
    from autodiff_course.grading.report import spec_of

    shown = []
    for entry in exercises:
        viewed = {**entry, "check": feedback_data(entry.get("check"), spec_of(config, entry["id"]))}
        text = viewed["check"]["feedback"] if viewed["check"] is not None else entry.get("message")
        shown.append({**entry, "feedback_html": _render_check_html(viewed), "feedback_text": text})
    return shown


def rewrite_graded_notebooks(out: Path, results: list[dict], configs: dict[str, AssignmentConfig]
                             ) -> list[str]:
    """Rewrite the test-cell outputs of every graded notebook a stored result has at its exercises' current
    feedback levels (`notebooks.rewrite_feedback_outputs`), so nbgrader's `generate_feedback` and formgrader
    show what the feedback pages show; one problem line per notebook that could not be read or written."""
    from autodiff_course.grading.notebooks import rewrite_feedback_outputs

    problems = []
    for result in results:
        config = configs.get(result["assignment"])
        if config is None or not result.get("handed_in", True):
            continue
        try:
            shown = shown_exercises(result["exercises"], config)
        except Exception as exc:  # noqa: BLE001 - a stored check we cannot read: that notebook's line
            problems.append(f"{out / 'autograded' / result['student'] / config.assignment / config.notebook}: "
                            f"could not be rendered at the current reveal level ({type(exc).__name__}); "
                            "left as it was")
            continue
        line = rewrite_feedback_outputs(out / "autograded", result["student"], config.assignment,
                                        config.notebook, shown)
        if line is not None:
            problems.append(line)
    return problems


def commit(prepared: Prepared, config: AssignmentConfig, exercises: list[ExerciseEntry], run: RunResult | None,
           out: Path, store: ResultStore) -> StoredResult:
    """Step commit: the graded notebook first, then the result, each atomically. A crash between the two
    leaves no result, so the submission is graded again and its notebook rewritten. A graded notebook that
    cannot be written is a problem of that submission; its result is still stored."""
    result = make_result(prepared, config, exercises, run)
    if prepared.restored is not None:
        try:
            shown = shown_exercises([entry.to_dict() for entry in exercises], config)
            nb = graded_notebook(prepared.restored, run.to_dict() if run is not None else None, shown)
            for cell in nb.cells:
                if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
                    cell.source = _HIDDEN_TESTS.sub("", cell.source)
            path = out / "autograded" / prepared.submission.student / config.assignment / config.notebook
            atomic_write_text(path, nbformat.writes(nb))
        except Exception as exc:  # noqa: BLE001 - the grades stand without the graded notebook
            result.problems = [*result.problems, f"{prepared.key}: the graded notebook could not be "
                                                 f"written ({type(exc).__name__}: {str(exc)[:200]})"]
    store.put(result.to_dict())
    return result


def _problem_line(result: StoredResult) -> str | None:
    """One line for a submission that needs the instructor's eye: unreadable or misfiled, tampered with,
    crashed or out of time. Students' own exceptions are ordinary wrong answers and get no line."""
    lines = [p for p in result.problems if not p.endswith(": no submission")]
    if result.run_status not in (None, "ok"):
        first = (result.run_message or "").strip().splitlines()[:1]
        lines.append(f"run {result.run_status}" + (f": {first[0]}" if first else ""))
    slow = [e.id for e in result.exercises if e.status == "timeout"]
    if slow and result.run_status in (None, "ok"):
        lines.append(f"out of time in {', '.join(slow)}")
    if not lines:
        return None
    return f"{result.student}/{result.assignment}: " + "; ".join(lines)


def _resolve_gradebook(gradebook: str | Path | None, course_dir: Path, out: Path) -> Path:
    """The gradebook to write: `gradebook` if given ("course" is the course's), else the one the course's
    nbgrader_config.py names, which formgrader and nbgrader's commands open too."""
    from autodiff_course.course.release import course_gradebook

    if gradebook is None or str(gradebook) == "course":
        return course_gradebook(course_dir)
    return Path(gradebook)


def _default_submissions(course_dir: Path) -> Path:
    """nbgrader's submitted directory of the course; the bundled example class where that does not exist."""
    from autodiff_course.course.release import submitted_dir

    nbgrader_dir = submitted_dir(course_dir)
    return nbgrader_dir if nbgrader_dir.is_dir() else course_dir / "examples" / "submitted"


def grade(*, course: str | Path | None = None, assignments: list[str] | None = None,
          submissions: str | Path | None = None, out: str | Path = "graded", jobs: int | None = None,
          dask_scheduler: str | None = None, resume: bool = True, sandbox: str = "auto",
          gradebook: str | Path | None = None, progress: bool = True,
          report_line: Callable[[str], None] | None = None, students: list[str] | None = None,
          rerun: bool = False, allow_unsandboxed: bool = False) -> GradeSummary:
    """Grade every submission of the course into `out` and publish grades.csv, feedback, report, gradebook.

    Defaults: `course` is the folder holding `graders/` found from the current directory (then from the
    package); `submissions` is nbgrader's submitted directory of the course (`submitted_directory` of
    nbgrader_config.py) or, where that does not exist, `<course>/examples/submitted`; `jobs` is
    `os.cpu_count()`; `gradebook` is the one nbgrader_config.py names (`course.release.course_gradebook`).
    With `resume`, submissions whose stored result matches their files and config are not graded again; when
    only the config changed in what is judged (points, tolerances, expectations), the stored raw run is
    judged again without running the notebook (`rerun=True` runs it anyway). `students` limits grading to
    those students. With `dask_scheduler` ("tcp://host:port"), each submission is graded (sandbox run and
    judging) on that Dask cluster and the results written here.

    `sandbox="none"` (and "auto" where bubblewrap cannot run) grades without bubblewrap only with
    `allow_unsandboxed` (see `sandbox.resolve_sandbox`).

    Bad submissions never stop the batch: each becomes rows with status error/missing and one problem line
    (sent to `report_line`, default: stderr). Raises `ConfigError` for an invalid course config or an unknown
    assignment, `SubmissionError` if the submissions folder does not exist or a student has no folder in it,
    and `SchedulerUnreachable` within seconds if no Dask scheduler answers at `dask_scheduler`.
    """
    from autodiff_course.grading.progress import Progress

    course_dir = find_course_dir(course) if course is None else Path(course)
    if (course_dir / "graders").is_dir():
        from autodiff_course.course.secret import course_secret

        course_secret(course_dir, create=True)  # the seed of the random hidden points, made on first use
    configs = load_course(course_dir)
    out = Path(out)
    submissions_dir = Path(submissions) if submissions is not None else _default_submissions(course_dir)
    jobs = jobs or os.cpu_count() or 1
    # The graded notebooks written below are student-facing: none of these folders may show there.
    register_host_paths(course_dir, submissions_dir, out, gradebook)
    say = report_line or (lambda line: print(line, file=sys.stderr))
    problems: list[str] = []
    if assignments:
        unknown = [name for name in assignments if name not in configs]
        if unknown:
            raise ConfigError(f"unknown assignment {', '.join(map(repr, unknown))}; {course_dir / 'graders'} "
                              f"configures {', '.join(configs) or 'none'}")
        selected = {a: configs[a] for a in configs if a in assignments}
    else:
        selected = dict(configs)
    if dask_scheduler:
        from autodiff_course.grading.distributed import check_scheduler

        check_scheduler(dask_scheduler)

    sources, digests = {}, {}
    for name, config in selected.items():
        path = source_notebook_path(course_dir, config)
        data = path.read_bytes()
        sources[name] = released_form(nbformat.reads(data.decode("utf-8"), as_version=4))
        digests[name] = _config_digest(config, data)

    store = ResultStore(out)
    store.clean_partial_writes()
    found, found_problems = find_submissions(submissions_dir, configs, assignments=list(selected))
    found += _enrolled_without_folder(found, _resolve_gradebook(gradebook, course_dir, out), submissions_dir,
                                      selected)
    from autodiff_course.course.late import LatePolicy

    for config in selected.values():
        # An extension for a misspelled student does nothing; say so rather than penalise the real one.
        problems += LatePolicy.from_config(config).unknown_students(config.path, {sub.student for sub in found})
    if students:
        have = {sub.student for sub in found}
        unknown = [name for name in students if name not in have]
        if unknown:
            raise SubmissionError(f"unknown student {', '.join(map(repr, unknown))}: neither a folder in "
                                  f"{submissions_dir} nor a student of the gradebook (known: "
                                  f"{', '.join(sorted(have)) or 'none'})")
        found = [sub for sub in found if sub.student in students]
        found_problems = [line for line in found_problems if any(f"/{name}/" in line for name in students)]
    problems += found_problems
    for line in problems:
        say(line)
    from autodiff_course.course.release import released_cells

    history = {name: released_cells(course_dir, name) for name in selected}

    def prep(sub: Submission) -> Prepared:
        return prepare(sub, selected[sub.assignment], sources[sub.assignment], digests[sub.assignment],
                       released=history[sub.assignment])

    todo: list[Submission] = []
    reused = rejudged = 0
    rejudging = _LazyJudge(jobs)  # judging stored runs again is judging too: within the same budget
    for sub in found:
        fp = _submission_fingerprint(digests[sub.assignment], sub)
        if resume and not rerun and store.is_current(sub.student, sub.assignment, fp):
            reused += _refresh_hand_in(store, sub)
            continue
        if not rerun and _rejudge(sub, prep, selected[sub.assignment], out, store, rejudging.judge):
            rejudged += 1
            continue
        todo.append(sub)
    rejudging.close()

    batch = _Batch(selected, sources, history, out=out, store=store)
    graded = missing = 0
    with Progress(total=len(todo), enabled=progress) as bar:
        def finish(item: Prepared) -> None:
            nonlocal graded, missing
            run_steps(item, batch, PIPELINE[-1:])
            if item.result.handed_in:
                graded += 1
            else:
                missing += 1
            _announce(item.result, bar, say)

        if dask_scheduler:
            from autodiff_course.grading.distributed import run_on_dask

            runnable = []
            for prepared in map(prep, todo):
                if prepared.failure_status is not None:
                    finish(prepared)
                else:
                    runnable.append(prepared)
            finished = run_on_dask(dask_scheduler, runnable, selected, sandbox=sandbox,
                                   allow_unsandboxed=allow_unsandboxed,
                                   preload=tuple(notebook_imports(batch.sources.values()))) if runnable else ()
            for prepared, exercises, run in finished:
                try:
                    prepared.run, prepared.exercises = RunResult.from_dict(run), entries(exercises)
                except (TypeError, ValueError) as exc:  # one submission never stops the batch
                    prepared.fail(f"{prepared.key}: the Dask task's result is malformed ({exc})", "error")
                finish(prepared)
        else:
            # Under sandbox "none" the workers get these folders covered: other students' work, the
            # configs, the outputs and the course's history are not theirs to read.
            from autodiff_course.grading.sandbox import git_dirs

            hidden = _hideable([course_dir, course_dir / "graders", course_dir / "notebooks",
                                *git_dirs(course_dir), submissions_dir, out])
            for prepared in _run_local(todo, prep, batch, jobs=jobs, sandbox=sandbox, hidden_paths=hidden,
                                       allow_unsandboxed=allow_unsandboxed):
                finish(prepared)

    book = _resolve_gradebook(gradebook, course_dir, out)
    results = publish(out=out, course=course_dir, configs=configs, gradebook=book, report_line=say)
    return GradeSummary(out=out, results=results, configs=configs, graded=graded, reused=reused,
                        problems=problems, rejudged=rejudged, gradebook=book, missing=missing)


def _enrolled_without_folder(found: list[Submission], gradebook: Path, submissions_dir: Path,
                             selected: dict[str, AssignmentConfig]) -> list[Submission]:
    """Missing submissions of the gradebook's students (`nbgrader db student add`) who have no folder at all,
    so nbgrader's class list, not only who handed something in, decides who is missing."""
    from autodiff_course.grading.gradebook import gradebook_students

    have = {sub.student for sub in found}
    extra = []
    for student in sorted(set(gradebook_students(gradebook)) - have):
        for assignment, config in selected.items():
            folder = submissions_dir / student / assignment
            extra.append(Submission(student=student, assignment=assignment, folder=folder,
                                    expected_notebook=config.notebook, problems=[f"{folder}: no submission"]))
    return extra


def _stored(store: ResultStore, sub: Submission) -> StoredResult | None:
    """The stored result of `sub`, or None where there is none or it does not read as one (then the
    submission is graded again)."""
    data = store.get(sub.student, sub.assignment)
    try:
        return StoredResult.from_dict(data) if data is not None else None
    except (KeyError, TypeError):
        return None


def _refresh_hand_in(store: ResultStore, sub: Submission) -> int:
    """Count a reused result, first updating its hand-in time and submission secret if timestamp.txt or
    submission_secret.txt changed since (neither is part of the fingerprint: a resubmission of the same
    notebook through nbgrader brings both anew and never needs the notebook run again)."""
    stored = _stored(store, sub)
    now, problem = _timestamp_text(Prepared(submission=sub, fingerprint=""))
    secret = _submission_secret(sub)
    if stored is not None and (stored.timestamp, stored.timestamp_problem, stored.submission_secret) != (
            now, problem, secret):
        stored.timestamp, stored.timestamp_problem, stored.submission_secret = now, problem, secret
        store.put(stored.to_dict())
    return 1


class _LazyJudge:
    """A `BoundedJudge` started on first use (most runs judge no stored run again)."""

    def __init__(self, processes: int):
        self.processes = processes
        self._judge = None

    def judge(self, specs: list[dict], run: dict, *, present) -> list[dict]:
        if self._judge is None:
            from autodiff_course.grading.judge_pool import BoundedJudge

            self._judge = BoundedJudge(self.processes)
        return self._judge.judge(specs, run, present=present)

    def close(self) -> None:
        if self._judge is not None:
            self._judge.close()


def _rejudge(sub: Submission, prep: Callable[[Submission], Prepared], config: AssignmentConfig, out: Path,
             store: ResultStore, judge: Callable[..., list[dict]]) -> bool:
    """Judge a submission again from its stored raw run if the run itself would be the same (same student
    cells, files and collected data), committing the new result; False if it has to be run."""
    stored = _stored(store, sub)
    if stored is None or not stored.run or not stored.run_key:
        return False
    prepared = prep(sub)
    if prepared.job is None or run_key(prepared.job) != stored.run_key:
        return False
    try:
        run = RunResult.from_dict(stored.run)
    except ValueError:
        return False
    judged = entries(judge(config.exercises, stored.run, present=prepared.present))
    commit(prepared, config, judged, run, out, store)
    return True


def _announce(result: StoredResult, bar, say: Callable[[str], None]) -> None:
    line = _problem_line(result)
    if line:
        bar.write(line) if bar.enabled else say(line)
    bar.update(1)


def _hideable(paths: list[Path]) -> list[Path]:
    """The paths that exist (the fallback sandbox covers each, keeping the interpreter and this package
    visible where they lie below one)."""
    return [Path(p).resolve() for p in paths if Path(p).exists()]


def notebook_imports(notebooks) -> list[str]:
    """What the code cells of `notebooks` (the instructor's released notebooks) import at top level, as
    `WorkerPool`'s `preload` items: ``"module"`` for ``import module``, ``"module:name"`` for ``from module
    import name``. Relative imports and cells that do not parse are skipped. The warm worker imports these
    once, so each student's child does not (a notebook's imports were most of its grading time)."""
    import ast

    found: dict[str, None] = {}
    for nb in notebooks:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            # Magics and shell escapes are not Python; the rest of the cell is.
            code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                             for line in cell.source.splitlines())
            try:
                tree = ast.parse(code)
            except (SyntaxError, ValueError):
                continue  # a cell students complete
            for node in tree.body:
                if isinstance(node, ast.Import):
                    found.update(dict.fromkeys(alias.name for alias in node.names))
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.update(dict.fromkeys(f"{node.module}:{alias.name}" for alias in node.names
                                               if alias.name != "*"))
    return list(found)


def _run_local(subs: list[Submission], prep: Callable[[Submission], Prepared], batch: _Batch, *, jobs: int,
               sandbox: str, hidden_paths=(), allow_unsandboxed: bool = False):
    """Yield every submission as a `Prepared` through step judge, as the local warm pool finishes it.

    Each submission is prepared, run and judged in its own thread (twice as many threads as workers), so
    reading and restoring the next notebooks and judging the last ones overlap with the sandboxed runs.
    Judging happens in `BoundedJudge` processes, within each notebook's budget. The pool is started only if
    some submission has a notebook to run."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from autodiff_course.grading.judge_pool import BoundedJudge
    from autodiff_course.grading.limits import Limits
    from autodiff_course.grading.pool import WorkerPool

    if not any(s.notebook_path is not None for s in subs):
        yield from map(prep, subs)
        return

    limits = Limits()
    runnable = sum(s.notebook_path is not None for s in subs)
    with WorkerPool(jobs=min(jobs, runnable), sandbox=sandbox, limits=limits, hidden_paths=hidden_paths,
                    allow_unsandboxed=allow_unsandboxed, preload=notebook_imports(batch.sources.values())
                    ) as pool, BoundedJudge(pool.jobs, limits) as judge:
        batch.run, batch.judge = pool.run, judge.judge

        def work(sub: Submission) -> Prepared:
            return run_steps(prep(sub), batch, _RUN_AND_JUDGE)

        with ThreadPoolExecutor(max_workers=2 * pool.jobs, thread_name_prefix="grade") as executor:
            futures = {executor.submit(work, sub): sub for sub in subs}
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as exc:  # noqa: BLE001 - a bug of ours in one submission: its error row
                    sub = futures[future]
                    item = Prepared(submission=sub, fingerprint="", problems=list(sub.problems))
                    item.fail(f"{sub.key}: could not be graded ({type(exc).__name__}: {exc})", "error")
                    yield item


def csv_rows(results: list[dict], configs: dict[str, AssignmentConfig]) -> list[tuple]:
    """grades.csv rows in a fixed order: student, then assignment, then exercise as configured."""
    rows = []
    order = {name: i for i, name in enumerate(configs)}
    for result in sorted(results, key=lambda r: (r["student"], order.get(r["assignment"], 1 << 30))):
        for entry in result["exercises"]:
            rows.append((result["student"], result["assignment"], result["notebook"], entry["id"],
                         format_points(entry["score"]), format_points(entry["max_score"]), entry["status"]))
        late = result.get("late") or {}
        penalty = late.get("penalty", 0.0)
        if late.get("unknown"):
            # A hand-in without a readable time while a due date is set: flagged, with what the policy charged.
            rows.append((result["student"], result["assignment"], result["notebook"], TIMESTAMP_ROW,
                         format_points(-penalty), "0", "timestamp"))
        elif late.get("seconds_late"):
            # One row per late hand-in, so the scores of a submission still add up to its total.
            rows.append((result["student"], result["assignment"], result["notebook"], LATE_ROW,
                         format_points(-penalty), "0", "late"))
    return rows


def write_grades_csv(path: Path, results: list[dict], configs: dict[str, AssignmentConfig]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(GRADES_CSV_COLUMNS)
    writer.writerows(spreadsheet_row(row) for row in csv_rows(results, configs))
    atomic_write_text(path, buffer.getvalue())


def publish(*, out: str | Path = "graded", course: str | Path | None = None,
            configs: dict[str, AssignmentConfig] | None = None,
            gradebook: str | Path | None = None,
            report_line: Callable[[str], None] | None = None) -> list[dict]:
    """Rebuild everything derived from `out/.results/`: grades.csv, feedback/, report.html and the gradebook
    (default: the one the course's nbgrader_config.py names), late penalties applied from the current
    policy. Grades nothing; returns the published results. Results of assignments the course no longer has
    are skipped. Hand-ins whose own submission secrets would share a released feedback file get one line
    each group (to `report_line`, default: stderr) and secrets of the course's making."""
    from autodiff_course.course.secret import course_secret
    from autodiff_course.grading.feedback_secret import release_names
    from autodiff_course.grading.gradebook import write_gradebook
    from autodiff_course.grading.report import write_feedback, write_report

    out = Path(out)
    course_dir = find_course_dir(course) if course is None else Path(course)
    configs = configs if configs is not None else load_course(course_dir)
    from autodiff_course.grading.gradebook import gradebook_duedates
    from autodiff_course.grading.lateness import apply_lateness

    book = _resolve_gradebook(gradebook, course_dir, out)
    register_host_paths(course_dir, out, book)  # the feedback pages are student-facing
    results = apply_lateness([r for r in ResultStore(out) if r["assignment"] in configs], configs,
                             gradebook_duedates(book))
    write_grades_csv(out / "grades.csv", results, configs)
    names = release_names(results, {name: config.notebook_stem for name, config in configs.items()},
                          course_secret(course_dir, create=True))
    for line in names.problems:
        (report_line or (lambda text: print(text, file=sys.stderr)))(line)
    write_feedback(out, results, configs, names.secrets)
    write_report(out / "report.html", results, configs)
    write_gradebook(book, results, configs, course_dir=course_dir)
    return results


def feedback(*, out: str | Path = "graded", course: str | Path | None = None,
             gradebook: str | Path | None = None) -> GradeSummary:
    """The `feedback` command: `publish` from stored results, grading nothing, and rewrite the test-cell
    outputs of the graded notebooks at the current reveal levels (`rewrite_graded_notebooks`). Results whose
    points no longer match the config are listed in `problems` (`grade` judges them again without running
    notebooks), as are graded notebooks that could not be rewritten."""
    course_dir = find_course_dir(course) if course is None else Path(course)
    configs = load_course(course_dir)
    problems: list[str] = []
    results = publish(out=out, course=course_dir, configs=configs, gradebook=gradebook,
                      report_line=problems.append)
    # The graded notebooks are student-facing too (nbgrader's generate_feedback, formgrader): a reveal level
    # changed since grading must reach them as it reaches the pages.
    problems += rewrite_graded_notebooks(Path(out), results, configs)
    from autodiff_course.course.late import LatePolicy
    from autodiff_course.course.release import course_students

    known = course_students(course_dir) | {r["student"] for r in results}
    unknown = [line for config in configs.values()
               for line in LatePolicy.from_config(config).unknown_students(config.path, known)]
    return GradeSummary(out=Path(out), results=results, configs=configs,
                        problems=problems + stale_results(results, configs) + unknown)


def stale_results(results: list[dict], configs: dict[str, AssignmentConfig]) -> list[str]:
    """One line per stored result graded with other points or exercises than the config now has."""
    lines = []
    for result in results:
        config = configs.get(result["assignment"])
        if config is None:
            continue
        now = {spec["id"]: float(spec["points"]) for spec in config.exercises}
        then = {e["id"]: float(e["max_score"]) for e in result["exercises"]}
        if now != then:
            changed = sorted(k for k in now.keys() | then.keys() if now.get(k) != then.get(k))
            lines.append(f"{result['student']}/{result['assignment']}: graded before the config changed "
                         f"({', '.join(changed)}); run `autodiff-course grade` to judge it again")
    return lines


def summary_table(results: list[dict], configs: dict[str, AssignmentConfig]) -> str:
    """A plain-text table: one row per student, one column per assignment, `score/max` in each cell, or
    "missing" where nothing was handed in (the total still counts its points as possible)."""
    assignments = [a for a in configs if any(r["assignment"] == a for r in results)]
    students = sorted({r["student"] for r in results})
    cell = {(r["student"], r["assignment"]): r for r in results}
    header = ["student", *assignments, "total"]
    rows = []
    for student in students:
        row, total, total_max = [student], 0.0, 0.0
        for a in assignments:
            r = cell.get((student, a))
            if r is None:
                row.append("-")
                continue
            row.append(f"{format_points(r['score'], 2)}/{format_points(r['max_score'], 2)}"
                       if r.get("handed_in", True) else "missing")
            total += r["score"]
            total_max += r["max_score"]
        row.append(f"{format_points(total, 2)}/{format_points(total_max, 2)}")
        rows.append(row)
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
             for line in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
