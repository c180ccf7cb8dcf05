"""`autodiff-course` command: argparse wiring onto library functions, which hold every default.

Options left out are not passed on, so the library's keyword defaults apply.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _kwargs(args: argparse.Namespace, *names: str) -> dict:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def _grade(args) -> int:
    from autodiff_course.grading.batch import grade

    summary = grade(**_kwargs(args, "course", "assignments", "submissions", "out", "jobs", "dask_scheduler",
                              "resume", "sandbox", "gradebook"), progress=not args.quiet)
    print(summary)
    print(f"\n{summary.graded} graded, {summary.reused} unchanged since the last run; "
          f"results in {summary.out}/ (grades.csv, feedback/, report.html, gradebook.db)")
    return 0


def _feedback(args) -> int:
    from autodiff_course.grading.batch import publish, summary_table

    results = publish(**_kwargs(args, "out", "course", "gradebook"))
    from autodiff_course.course.config import find_course_dir, load_course

    configs = load_course(args.course or find_course_dir())
    print(summary_table(results, configs))
    return 0


def _export(args) -> int:
    from pathlib import Path

    from autodiff_course.grading.gradebook import export_gradebook

    out = Path(args.out or "graded")
    db = Path(args.gradebook) if args.gradebook else out / "gradebook.db"
    if not db.is_file():
        raise FileNotFoundError(f"{db}: no gradebook (run `autodiff-course grade` first)")
    path = export_gradebook(gradebook=db, to=args.to or out / "gradebook_export.csv")
    print(path)
    return 0


def _release(args) -> int:
    from autodiff_course.course.release import release

    result = release(**_kwargs(args, "course", "assignments", "out"))
    if result is not None:
        print(result)
    return 0


def _sync(args) -> int:
    from autodiff_course.course.cells import sync_notebooks

    result = sync_notebooks(**_kwargs(args, "course", "assignments"))
    if result is not None:
        print(result)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autodiff-course",
                                     description="Course toolkit and autograder for automatic differentiation.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, *, out_help="output folder (default ./graded)"):
        p.add_argument("--course", help="course folder holding graders/ (default: found from here)")
        p.add_argument("--out", help=out_help)

    g = sub.add_parser("grade", help="grade submissions into grades.csv, feedback, report and gradebook")
    common(g)
    g.add_argument("--assignment", dest="assignments", action="append", metavar="NAME",
                   help="grade only this assignment (repeatable)")
    g.add_argument("--submissions", help="folder of <student>/<assignment>/<notebook> "
                                         "(default <course>/examples/submitted)")
    g.add_argument("--jobs", type=int, help="parallel sandboxed workers (default: CPU count)")
    g.add_argument("--dask-scheduler", metavar="ADDRESS", help="grade on this Dask cluster (tcp://host:port)")
    g.add_argument("--resume", action=argparse.BooleanOptionalAction,
                   help="skip submissions already graded with the same files and config (default on)")
    g.add_argument("--sandbox", choices=("auto", "bwrap", "none"))
    g.add_argument("--gradebook", help="nbgrader gradebook file, or 'course' for <course>/gradebook.db "
                                       "(default <out>/gradebook.db)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=_grade)

    f = sub.add_parser("feedback", help="re-render feedback, report, grades.csv and gradebook from stored "
                                        "results, without grading")
    common(f)
    f.add_argument("--gradebook", help="nbgrader gradebook file, or 'course'")
    f.set_defaults(func=_feedback)

    e = sub.add_parser("export", help="CSV of the totals in the gradebook")
    common(e)
    e.add_argument("--gradebook", help="gradebook file (default <out>/gradebook.db)")
    e.add_argument("--to", help="CSV to write (default <out>/gradebook_export.csv)")
    e.set_defaults(func=_export)

    r = sub.add_parser("release", help="student versions of the notebooks (nbgrader generate_assignment)")
    r.add_argument("--course")
    r.add_argument("--assignment", dest="assignments", action="append", metavar="NAME")
    r.add_argument("--out")
    r.set_defaults(func=_release)

    s = sub.add_parser("sync-notebooks", help="regenerate the test cells of the source notebooks from "
                                              "graders/*.toml")
    s.add_argument("--course")
    s.add_argument("--assignment", dest="assignments", action="append", metavar="NAME")
    s.set_defaults(func=_sync)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors print one line naming the problem and exit with status 2."""
    from autodiff_course.course.config import ConfigError
    from autodiff_course.grading.notebooks import SubmissionError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, SubmissionError, FileNotFoundError) as exc:
        print(f"autodiff-course {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"autodiff-course {args.command}: interrupted; finished results are kept, run again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
