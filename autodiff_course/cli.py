"""`autodiff-course` command: argparse wiring onto library functions, which hold every default.

Options left out are not passed on, so the library's keyword defaults apply.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _kwargs(args: argparse.Namespace, *names: str) -> dict:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def _grade(args) -> int:
    from autodiff_course.grading.batch import grade

    args.course = _course(args)
    summary = grade(**_kwargs(args, "course", "assignments", "submissions", "out", "jobs", "dask_scheduler",
                              "resume", "sandbox", "gradebook", "students", "rerun"), progress=not args.quiet,
                    allow_unsandboxed=args.i_understand_unsandboxed)
    print(summary)
    rejudged = f"{summary.rejudged} judged again from their stored runs, " if summary.rejudged else ""
    missing = f"{summary.missing} missing (nothing handed in), " if summary.missing else ""
    print(f"\n{summary.graded} graded, {missing}{rejudged}{summary.reused} unchanged since the last run; "
          f"results in {summary.out}/ (grades.csv, feedback/, report.html); gradebook {summary.gradebook}")
    return 0


def _feedback(args) -> int:
    from autodiff_course.grading.batch import feedback

    args.course = _course(args)
    summary = feedback(**_kwargs(args, "out", "course", "gradebook"))
    print(summary)
    for line in summary.problems:
        print(f"autodiff-course feedback: {line}", file=sys.stderr)
    return 0


def _export(args) -> int:
    from autodiff_course.grading.gradebook import export

    if args.gradebook is None:
        args.course = _course(args)
    print(export(**_kwargs(args, "out", "gradebook", "to", "course")))
    return 0


def _lms(args) -> int:
    from autodiff_course.course.release import course_gradebook
    from autodiff_course.grading.lms import lms_export

    gradebook = args.gradebook or course_gradebook(_course(args))
    to = args.to or Path(args.out or "graded") / f"{args.lms}_grades.csv"
    print(lms_export(gradebook=gradebook, to=to, lms=args.lms, missing=args.missing, places=args.places,
                     section=args.section or ""))
    return 0


def _release(args) -> int:
    from autodiff_course.course.release import release

    kwargs = {"course_dir": _course(args), "out_dir": args.out, "assignments": args.assignments,
              "gradebook": args.gradebook}
    for path in release(**{k: v for k, v in kwargs.items() if v is not None}):
        print(path)
    return 0


def _course(args) -> Path:
    """The --course folder (which must hold graders/), or the course found at or above the current folder
    (never the package's own example course)."""
    from autodiff_course.course.config import NotACourseError, find_course_dir

    if args.course is not None:
        if not (Path(args.course) / "graders").is_dir():
            raise NotACourseError(f"--course {args.course}: not a course (no graders/ folder in it)")
        return Path(args.course)
    return find_course_dir(None, strict=True)


def _init(args) -> int:
    from autodiff_course.course.scaffold import existing_course_id, new_course

    created = new_course(args.directory, course_id=args.course_id)
    for path in created:
        print(path)
    if created:
        print(f"course ready in {args.directory}; next: autodiff-course new-assignment NAME", file=sys.stderr)
    else:
        known = existing_course_id(Path(args.directory))
        print(f"{args.directory} is already a course (course id {known!r}); nothing changed", file=sys.stderr)
    return 0


def _new_assignment(args) -> int:
    from autodiff_course.course.scaffold import new_assignment

    for path in new_assignment(args.name, course_dir=_course(args), title=args.title):
        print(path)
    return 0


def _sync(args) -> int:
    from autodiff_course.course.cells import sync_notebooks
    from autodiff_course.course.config import ConfigError

    try:
        changed = sync_notebooks(_course(args), check=args.check, solutions=args.solutions)
    except ConfigError as exc:
        for path in exc.changed:
            print(path)
        for line in exc.problems:
            print(f"autodiff-course sync-notebooks: {line}", file=sys.stderr)
        return 1 if args.check else 2
    for path in changed:
        print(path)
    if args.check and changed:
        print(f"{len(changed)} notebook(s) out of date with graders/*.toml", file=sys.stderr)
        return 1
    return 0


def _decimal_places(text: str) -> int:
    try:
        places = int(text)
    except ValueError:
        places = -1
    if places < 0:
        raise argparse.ArgumentTypeError(f"expected a number of decimal places >= 0 (e.g. 2), got {text!r}")
    return places


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autodiff-course", description="Course toolkit and autograder for automatic differentiation.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, *, out_help="output folder (default ./graded)"):
        p.add_argument("--course", help="course folder holding graders/ (default: found from here)")
        p.add_argument("--out", help=out_help)

    g = sub.add_parser("grade", help="grade submissions into grades.csv, feedback, report and gradebook")
    common(g)
    g.add_argument("--assignment", dest="assignments", action="append", metavar="NAME",
                   help="grade only this assignment (repeatable)")
    g.add_argument("--submissions", help="folder of <student>/<assignment>/<notebook> (default: nbgrader's "
                                         "submitted_directory of nbgrader_config.py, <course>/submitted after "
                                         "init; <course>/examples/submitted where that folder does not exist)")
    g.add_argument("--jobs", type=int, help="parallel sandboxed workers (default: CPU count)")
    g.add_argument("--dask-scheduler", metavar="ADDRESS", help="grade on this Dask cluster (tcp://host:port)")
    g.add_argument("--resume", action=argparse.BooleanOptionalAction,
                   help="skip submissions already graded with the same files and config (default on)")
    g.add_argument("--sandbox", choices=("auto", "bwrap", "none"))
    g.add_argument("--i-understand-unsandboxed", action="store_true",
                   help="allow --sandbox none (or auto without bubblewrap): submissions then run with weaker "
                        "isolation")
    g.add_argument("--gradebook", help="nbgrader gradebook file (default: the one nbgrader_config.py names, "
                                       "which formgrader and nbgrader's commands use)")
    g.add_argument("--student", dest="students", action="append", metavar="NAME",
                   help="grade only this student (repeatable)")
    g.add_argument("--rerun", action="store_true", default=None,
                   help="run notebooks again even when only points or tests changed (default: judge the "
                        "stored runs again)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=_grade)

    f = sub.add_parser("feedback", help="re-render feedback, the graded notebooks' test cells, report, "
                                        "grades.csv and gradebook from stored results, without grading")
    common(f)
    f.add_argument("--gradebook", help="nbgrader gradebook file (default: the one nbgrader_config.py names)")
    f.set_defaults(func=_feedback)

    e = sub.add_parser("export", help="the gradebook as `nbgrader export` writes it (every student and "
                                      "assignment, late penalties, rounded scores)")
    common(e)
    e.add_argument("--gradebook", help="gradebook file (default: the one nbgrader_config.py names)")
    e.add_argument("--to", help="CSV to write (default <out>/gradebook_export.csv)")
    e.set_defaults(func=_export)

    lm = sub.add_parser("lms", help="grade import CSV for Canvas or Moodle, one column per assignment")
    lm.add_argument("lms", choices=("canvas", "moodle"))
    common(lm)
    lm.add_argument("--gradebook", help="gradebook file (default: the one nbgrader_config.py names)")
    lm.add_argument("--to", help="CSV to write (default <out>/<lms>_grades.csv)")
    lm.add_argument("--missing", choices=("blank", "zero"), default="blank",
                    help="what a student with no submission gets (default blank: the LMS keeps its grade)")
    lm.add_argument("--places", type=_decimal_places, default=2, help="decimal places, 0 or more (default 2)")
    lm.add_argument("--section", help="Canvas section name for every row (default blank)")
    lm.set_defaults(func=_lms)

    r = sub.add_parser("release", help="student versions of the notebooks (nbgrader generate_assignment)")
    r.add_argument("--course", help="course folder holding graders/ (default: found from here)")
    r.add_argument("--assignment", dest="assignments", action="append", metavar="NAME")
    r.add_argument("--out", help="folder for the student versions (default <course>/release)")
    r.add_argument("--gradebook", help="record the assignments in this gradebook file (default: the one "
                                       "nbgrader_config.py names)")
    r.set_defaults(func=_release)

    i = sub.add_parser("init", help="make a folder a course: graders/, notebooks/, submitted/, "
                                    "nbgrader_config.py")
    i.add_argument("directory", nargs="?", default=".", help="the course folder (default: here)")
    i.add_argument("--course-id", help="nbgrader's course id (default: the folder's name; an existing course "
                                       "keeps its own)")
    i.set_defaults(func=_init)

    n = sub.add_parser("new-assignment", help="scaffold notebooks/NAME/NAME.ipynb and graders/NAME.toml with "
                                              "one example exercise of each kind")
    n.add_argument("name", help="the assignment's name (nbgrader's assignment id)")
    n.add_argument("--course", help="course folder holding graders/ (default: found from here)")
    n.add_argument("--title", help="the assignment's title (default: from the name)")
    n.set_defaults(func=_new_assignment)

    s = sub.add_parser("sync-notebooks", help="regenerate the test cells of the source notebooks from "
                                              "graders/*.toml")
    s.add_argument("--course", help="course folder holding graders/ (default: found from here)")
    s.add_argument("--check", action="store_true", help="only list notebooks that are out of date and every "
                                                        "config problem (exit 1 if any)")
    s.add_argument("--solutions", action="store_true", help="also run each notebook's solutions through its test "
                                                            "cells, as `nbgrader validate` does, naming every "
                                                            "exercise that does not earn full marks (slower)")
    s.set_defaults(func=_sync)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors print one line naming the problem and exit with status 2."""
    from autodiff_course.course.config import ConfigError
    from autodiff_course.course.release import ReleaseError
    from autodiff_course.grading.distributed import SchedulerUnreachable
    from autodiff_course.grading.notebooks import SubmissionError
    from autodiff_course.grading.sandbox import SandboxUnavailable

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, ReleaseError, SubmissionError, SandboxUnavailable, FileNotFoundError, KeyError,
            SchedulerUnreachable, ValueError) as exc:
        message = str(exc) if not isinstance(exc, KeyError) else str(exc.args[0] if exc.args else exc)
        for line in message.splitlines() or [type(exc).__name__]:
            print(f"autodiff-course {args.command}: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"autodiff-course {args.command}: interrupted; finished results are kept, run again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
